"""``POST /analyze``: run the analysis graph once, outside any strategy, and return the decision."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from activities.contracts import AnalyzeRequest, Decision, LlmBudget
from activities.deps import utcnow
from api.auth.deps import TRADER
from api.deps import ClientDep, SessionDep, SettingsDep, VenuesDep
from api.exchanges import check_venue
from api.schemas import AnalyzeBody, DecisionDetail
from asts.registry import current
from store import repo
from worker.settings import Settings
from workflows.analyze import AnalyzeWorkflow
from workflows.options import analysis_workflow_id

router = APIRouter(tags=["agents"])

# A decision time this far ahead of the clock is a mistake, not a skew.
CLOCK_SKEW = timedelta(seconds=5)


def adhoc_budget(settings: Settings) -> LlmBudget | None:
    """The daily LLM allowance every ad-hoc analysis shares (spent: the analysts decide alone)."""
    if settings.analyze_daily_tokens is None and settings.analyze_daily_cost is None:
        return None
    return LlmBudget(daily_tokens=settings.analyze_daily_tokens, daily_cost=settings.analyze_daily_cost)


@router.post("/analyze", response_model=DecisionDetail, dependencies=[TRADER])
async def analyze(
    body: AnalyzeBody, client: ClientDep, session: SessionDep, venues: VenuesDep, settings: SettingsDep
) -> DecisionDetail:
    """Validate, run the graph as a workflow (so the decision is in a history), return the record."""
    if body.as_of is not None and body.as_of > utcnow() + CLOCK_SKEW:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="as_of is in the future")
    # Bad input is a 422 and a venue that is down a 503: the app's TradingError handler decides.
    params = current().get(body.strategy_type).parse_params(body.params).model_dump(mode="json")
    await venues.exchange(check_venue(body.exchange, settings)).market(body.symbol)
    analysis_id = "a" + uuid.uuid4().hex[:16]
    req = AnalyzeRequest(
        analysis_id=analysis_id,
        symbol=body.symbol,
        exchange=body.exchange,
        as_of=body.as_of,
        strategy_type=body.strategy_type,
        params=params,
        llm_budget=adhoc_budget(settings),
    )
    try:
        handle = await client.start_workflow(
            AnalyzeWorkflow.run,
            req,
            id=analysis_workflow_id(analysis_id),
            task_queue=settings.task_queue,
            rpc_timeout=timedelta(seconds=10),
        )
        decision: Decision = await asyncio.wait_for(handle.result(), timeout=settings.analyze_timeout_s)
    except WorkflowFailureError as e:
        cause = e.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause  # type: ignore[attr-defined]
        detail = str(cause or e)
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if "InvalidInput" in repr(cause) else 502
        raise HTTPException(code, detail=f"analysis failed: {detail}") from None
    except TimeoutError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            detail=f"no decision within {settings.analyze_timeout_s:g}s (is a worker running?); "
            f"it will still be recorded as analysis {analysis_id}",
        ) from None
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    row = await repo.get_decision(session, decision_id=decision.id)
    if row is None:  # pragma: no cover - the activity recorded it before returning
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail="decision not recorded")
    return DecisionDetail.model_validate(row)
