"""VenueReconcileWorkflow: after a restart (or on request), rebuild one venue's orders from the venue."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import VenueReconcileInput, VenueReconcileRequest, VenueReconcileResult
    from workflows import options


def venue_reconcile_id(exchange: str) -> str:
    """The workflow id of a venue's reconciliation (one at a time per venue)."""
    return f"reconcile-{exchange}"


@workflow.defn
class VenueReconcileWorkflow:
    """Runs ``reconcile_venue``: every unfinished order of the venue brought up to the venue's state
    with the venue's own fills, and every difference recorded as a ``reconcile_mismatch`` event."""

    @workflow.run
    async def run(self, req: VenueReconcileRequest) -> VenueReconcileResult:
        """Reconcile ``req.exchange``; the run id keys the events this run records."""
        return await workflow.execute_activity(
            "reconcile_venue",
            VenueReconcileInput(exchange=req.exchange, run_id=workflow.info().run_id),
            result_type=VenueReconcileResult,
            start_to_close_timeout=options.VENUE_RECONCILE_TIMEOUT,
            heartbeat_timeout=options.VENUE_RECONCILE_HEARTBEAT,
            retry_policy=options.MARKET_DATA_RETRY,
        )
