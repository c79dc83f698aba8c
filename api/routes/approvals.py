"""Human approval of large orders: list and read approvals, approve or reject a pending one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import ApprovalDecisionInput, ApprovalOutcome
from api.auth.deps import RiskUser, ViewerUser, forbidden
from api.deps import ClientDep, Offset, SessionDep, SettingsDep, page_limit
from api.schemas import ApprovalDecision, ApprovalOutcomePublic, ApprovalPublic, Page, page_of
from store import repo
from store.models import ApprovalRow

router = APIRouter(prefix="/approvals", tags=["approvals"])

UPDATE_TIMEOUT = timedelta(seconds=30)

ApprovalState = Literal["pending", "approved", "rejected", "expired"]
ApprovalId = Annotated[str, Path(min_length=1, max_length=64)]


async def _row(session: SessionDep, approval_id: str) -> ApprovalRow:
    row = await repo.get_approval(session, approval_id=approval_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no approval {approval_id!r}")
    return row


@router.get("", response_model=Page[ApprovalPublic])
async def list_approvals(
    user: ViewerUser,
    session: SessionDep,
    state: ApprovalState = Query(default="pending", alias="status"),
    limit: int = page_limit(200, 5000),
    offset: int = Offset,
) -> Page[ApprovalPublic]:
    """Approvals with one status (pending by default), oldest request first."""
    rows = await repo.list_approvals(session, status=state, limit=limit, offset=offset)
    return page_of(ApprovalPublic, rows)


@router.get("/{approval_id}", response_model=ApprovalPublic)
async def get_approval(approval_id: ApprovalId, user: ViewerUser, session: SessionDep) -> ApprovalPublic:
    """One approval."""
    return ApprovalPublic.model_validate(await _row(session, approval_id))


@router.post("/{approval_id}", response_model=ApprovalOutcomePublic)
async def decide_approval(
    approval_id: ApprovalId,
    body: ApprovalDecision,
    user: RiskUser,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> ApprovalOutcomePublic:
    """Approve or reject a pending order; the waiting cycle records the decision and goes on.

    Four eyes (unless ``ASTS_FOUR_EYES=false``): whoever started the strategy cannot decide on its orders.
    """
    row = await _row(session, approval_id)
    if settings.four_eyes:
        strategy = await repo.get_strategy(session, strategy_id=row.strategy_id)
        if strategy is not None and strategy.created_by == user.name:
            raise forbidden(
                f"four eyes: {user.name} started {row.strategy_id}, so another user with the risk role "
                "must decide on its orders"
            )
    if row.status != "pending":
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"approval {approval_id!r} is already {row.status}"
        )
    handle = client.get_workflow_handle(row.workflow_id)
    decision = ApprovalDecisionInput(
        approval_id=approval_id, decision=body.decision, reason=body.reason, actor=user.name
    )
    try:
        outcome = await handle.execute_update(
            "decide", decision, result_type=ApprovalOutcome, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            detail=f"decision unconfirmed after {UPDATE_TIMEOUT.seconds}s: is a worker running?",
        ) from None
    except WorkflowUpdateFailedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"decision refused: {e.cause or e}") from None
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:  # the cycle is gone (terminated, or finished)
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail=f"cycle {row.workflow_id} is no longer waiting: {e}"
            ) from None
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return ApprovalOutcomePublic(**outcome.model_dump())
