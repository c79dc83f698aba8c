"""``POST /reconcile``: rebuild a venue's orders from the venue now, and report what differs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from activities.contracts import VenueReconcileRequest, VenueReconcileResult
from api.auth.deps import RISK
from api.deps import ClientDep, SettingsDep, VenuesDep
from api.exchanges import check_venue
from workflows.venue_reconcile import VenueReconcileWorkflow, venue_reconcile_id

router = APIRouter(tags=["venues"])

RECONCILE_WAIT_S = 300.0


class ReconcileBody(BaseModel):
    """Which venue to reconcile."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["paper"])


@router.post("/reconcile", response_model=VenueReconcileResult, dependencies=[RISK])
async def reconcile(
    body: ReconcileBody, client: ClientDep, venues: VenuesDep, settings: SettingsDep
) -> VenueReconcileResult:
    """Run the venue's reconciliation workflow (or join the one running) and return its result."""
    venues.exchange(check_venue(body.exchange, settings))  # only a configured venue (422 otherwise)
    try:
        handle = await client.start_workflow(
            VenueReconcileWorkflow.run,
            VenueReconcileRequest(exchange=body.exchange),
            id=venue_reconcile_id(body.exchange),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            rpc_timeout=timedelta(seconds=10),
        )
        result: VenueReconcileResult = await asyncio.wait_for(handle.result(), timeout=RECONCILE_WAIT_S)
    except WorkflowFailureError as e:
        cause = e.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause  # type: ignore[attr-defined]
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, detail=f"reconciliation failed: {cause or e}"
        ) from None
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            detail=f"no result within {RECONCILE_WAIT_S:g}s (is a worker running?); it runs on",
        ) from None
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return result
