"""Human approval of large orders: record the request, record the decision (each once)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from activities.contracts import (
    ApprovalOutcome,
    ApprovalRecorded,
    ApprovalRequest,
    ApprovalSettlement,
)
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import APPROVALS
from store import repo
from store.models import ApprovalRow
from trading.errors import InvalidInput


def outcome_of(row: ApprovalRow) -> ApprovalOutcome | None:
    """The decision a row holds, or None while it is pending."""
    if row.status == "pending":
        return None
    return ApprovalOutcome(
        approval_id=row.id,
        status=row.status,  # type: ignore[arg-type]
        decided_by=row.decided_by,
        reason=row.reason,
        decided_at=row.decided_at,
    )


class ApprovalActivities:
    """Approval activities; both are idempotent, keyed by the approval id."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="request_approval")
    @translate_errors
    async def request_approval(self, inp: ApprovalRequest) -> ApprovalRecorded:
        """Record the pending approval and an ``approval_requested`` event; a retry changes nothing."""
        plan, approval_id = inp.plan, inp.approval_id
        now = utcnow()
        async with self.deps.transaction() as s:
            row = await repo.create_approval(
                s,
                id=approval_id,
                strategy_id=inp.strategy_id,
                cycle=inp.cycle,
                workflow_id=inp.workflow_id,
                client_order_id=plan.client_order_id,
                symbol=plan.symbol,
                side=plan.side,
                qty=plan.qty,
                price=plan.ref_price,
                notional=inp.notional,
                requested_at=now,
                expires_at=now + timedelta(seconds=inp.timeout_s),
            )
            await repo.record_event(
                s,
                event_key=f"approval-requested-{approval_id}",
                kind="approval_requested",
                reason=f"notional {inp.notional} needs approval within {inp.timeout_s:g}s",
                now=now,
                strategy_id=inp.strategy_id,
                cycle=inp.cycle,
                symbol=plan.symbol,
                data={
                    "approval_id": approval_id,
                    "client_order_id": plan.client_order_id,
                    "side": plan.side,
                    "qty": str(plan.qty),
                    "price": str(plan.ref_price),
                    "notional": str(inp.notional),
                    "workflow_id": inp.workflow_id,
                },
            )
        return ApprovalRecorded(approval_id=row.id, expires_at=row.expires_at, outcome=outcome_of(row))

    @activity.defn(name="settle_approval")
    @translate_errors
    async def settle_approval(self, inp: ApprovalSettlement) -> ApprovalOutcome:
        """Decide a pending approval and record the event; returns the decision as stored.

        Only a pending row moves, so a retry, or a second decision, returns the first one.
        """
        async with self.deps.transaction() as s:
            row = await repo.decide_approval(
                s,
                approval_id=inp.approval_id,
                status=inp.status,
                by=inp.decided_by,
                reason=inp.reason,
                now=utcnow(),
            )
            if row is None:
                raise InvalidInput(f"unknown approval {inp.approval_id!r}")
            outcome = outcome_of(row)
            if outcome is None:  # decide_approval leaves no row pending: record nothing half-decided
                raise RuntimeError(f"approval {inp.approval_id!r} is still pending after its decision")
            first = await repo.record_event(
                s,
                event_key=f"approval-decided-{row.id}",
                kind=f"approval_{outcome.status}",
                reason=outcome.reason,
                now=outcome.decided_at or utcnow(),
                strategy_id=row.strategy_id,
                cycle=row.cycle,
                symbol=row.symbol,
                data={
                    "approval_id": row.id,
                    "client_order_id": row.client_order_id,
                    "decided_by": outcome.decided_by,
                },
            )
        if first:  # the decision's event is recorded once: a retry or a second decision counts nothing
            APPROVALS.labels(outcome.status).inc()
        return outcome
