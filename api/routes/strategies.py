"""Strategies: start, list, read live status, halt, resume, stop, change parameters."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from activities.contracts import HaltRequest, StatusChanged, StrategyConfig, StrategyState, StrategyStatus
from activities.deps import utcnow
from activities.scan import check_universe
from activities.status import record_strategy
from activities.strategy_code import type_at
from api.auth.deps import TraderOrRiskUser, TraderUser, ViewerUser, forbidden
from api.auth.roles import Principal
from api.deps import ClientDep, FreshDep, Offset, SessionDep, SettingsDep, VenuesDep, page_limit
from api.exchanges import check_venue
from api.schemas import (
    HaltBody,
    ParamsUpdate,
    StatusChangePublic,
    StrategiesPublic,
    StrategyCreate,
    StrategyCreated,
    StrategyPublic,
)
from api.temporal import signal_latest
from asts.registry import current
from store import repo
from store.models import StrategyRow
from trading.breakers import BreakerLimits
from trading.risk import RiskLimits
from trading.sizing import check_tradable, strategy_sizing
from workflows.options import strategy_workflow_id
from workflows.strategy import StrategyWorkflow

router = APIRouter(prefix="/strategies", tags=["strategies"])

StrategyId = Annotated[str, Path(min_length=1, max_length=64)]

RPC_TIMEOUT = timedelta(seconds=10)
UPDATE_TIMEOUT = timedelta(seconds=30)


async def optimised_params(session: SessionDep, optimization_id: str, strategy_type: str) -> dict[str, Any]:
    """The fixed and best parameters of a finished optimisation of this strategy type."""
    opt = await repo.get_optimization(session, id=optimization_id)
    if opt is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"no optimisation {optimization_id}"
        )
    if opt.status != "done" or not opt.best_params:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"optimisation {optimization_id} is {opt.status}, with no best parameters to use",
        )
    if opt.request.get("strategy_type") != strategy_type:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"optimisation {optimization_id} searched {opt.request.get('strategy_type')}, "
            f"not {strategy_type}",
        )
    return {**(opt.request.get("fixed") or {}), **opt.best_params}


def _public(row: object, live: StrategyStatus | None = None) -> StrategyPublic:
    return StrategyPublic.model_validate(
        {k: getattr(row, k) for k in StrategyPublic.model_fields if k != "live"} | {"live": live}
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=StrategyCreated)
async def start_strategy(
    body: StrategyCreate,
    user: TraderUser,
    client: ClientDep,
    session: SessionDep,
    venues: VenuesDep,
    settings: SettingsDep,
) -> StrategyCreated:
    """Validate the strategy, record it (its owner: the caller) and start its workflow."""
    async with session.begin():  # the quota: strategies of this user not stopped
        running = await repo.count_running(session, created_by=user.name)
    if running >= settings.max_running_strategies_per_user:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{user.name} has {running} strategies not stopped, the most allowed "
            f"(ASTS_MAX_RUNNING_STRATEGIES_PER_USER={settings.max_running_strategies_per_user})",
        )
    raw = dict(body.params)
    if body.params_from is not None:
        async with session.begin():  # a read of its own: the strategy's row is written below
            raw = await optimised_params(session, body.params_from, body.type) | raw
    # Bad input is a 422 and a venue that is down a 503: the app's TradingError handler decides.
    kind = current().get(body.type)
    params = kind.parse_params(raw).model_dump(mode="json")
    missing = [sym for sym in kind.cls.peers if sym not in body.symbols]
    if missing and body.universe is None:  # live, a strategy sees only its own cycle's symbols
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{body.type} reads {', '.join(missing)} beside its own bars: add it to symbols",
        )
    risk = RiskLimits.from_mapping(body.risk).to_mapping()
    breakers = BreakerLimits.from_mapping(body.breakers).to_mapping() if body.breakers else {}
    sizing = strategy_sizing(kind.size_of(params), body.sizing)
    venue = venues.exchange(check_venue(body.exchange, settings))
    direction = body.direction or kind.cls.direction
    if direction == "long_short" and not venue.capabilities.shorts:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"direction long_short: {body.exchange} cannot hold short positions (a spot account"
            + (
                "; ASTS_PAPER_MARGIN makes the paper venue a margin account)"
                if body.exchange == "paper"
                else ")"
            ),
        )
    for symbol in body.symbols:
        market = await venue.market(symbol)
        # A size never tradable there is refused now, not left to run for ever without an order.
        check_tradable(sizing, market, price=(await venue.ticker(symbol)).last, capital=body.capital)
    if body.universe is not None:
        await check_universe(venue, body.universe)
    strategy_id = "s" + secrets.token_hex(4)
    workflow_id = strategy_workflow_id(strategy_id)
    config = StrategyConfig(
        strategy_id=strategy_id,
        name=body.name,
        type=body.type,
        exchange=body.exchange,
        symbols=body.symbols,
        interval_s=float(body.interval),
        params=params,
        risk=risk,
        capital=body.capital,
        step_mode=body.step_mode,
        hub_id=settings.hub_id,
        breakers=breakers,
        approval_notional=body.approval_notional,
        approval_timeout_s=float(body.approval_timeout),
        llm_budget=body.llm_budget,
        universe=body.universe,
        created_by=user.name,
        code_version=kind.version,
        sizing=body.sizing,
        exits=body.exits if body.exits is not None else kind.cls.exits,
        direction=direction,
    )
    # The row is committed first, so a running workflow always has its row (and its gate).
    async with session.begin():
        await record_strategy(session, config, workflow_id=workflow_id, now=utcnow())
    try:
        await client.start_workflow(
            StrategyWorkflow.run,
            StrategyState(config=config),
            id=workflow_id,
            task_queue=settings.task_queue,
            rpc_timeout=RPC_TIMEOUT,
        )
    except RPCError as e:
        async with session.begin():
            await repo.set_strategy_status(
                session, strategy_id=strategy_id, status="stopped", reason=f"did not start: {e}", now=utcnow()
            )
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return StrategyCreated(id=strategy_id, workflow_id=workflow_id, status="running")


@router.get("", response_model=StrategiesPublic)
async def list_strategies(
    user: ViewerUser,
    session: SessionDep,
    fresh: FreshDep,
    limit: int = page_limit(500, 5000),
    offset: int = Offset,
) -> Response:
    """Strategies as stored, oldest first, one page at a time."""

    async def read() -> StrategiesPublic:
        rows = await repo.list_strategies(session, limit=limit, offset=offset)
        return StrategiesPublic(data=[_public(r) for r in rows], count=len(rows))

    return await fresh(read)


async def _row(session: SessionDep, strategy_id: str) -> StrategyRow:
    row = await repo.get_strategy(session, strategy_id=strategy_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no strategy {strategy_id!r}")
    return row


@router.get("/{strategy_id}", response_model=StrategyPublic)
async def get_strategy_status(
    strategy_id: StrategyId, user: ViewerUser, session: SessionDep, client: ClientDep
) -> StrategyPublic:
    """A strategy with its live status queried from its workflow."""
    row = await _row(session, strategy_id)
    try:
        handle = client.get_workflow_handle(strategy_workflow_id(strategy_id))
        live = await handle.query(StrategyWorkflow.status, rpc_timeout=RPC_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError):  # the stored view still answers
        live = None
    return _public(row, live)


def check_owner(user: Principal, row: StrategyRow, action: str, *, override: str = "risk") -> None:
    """A trader acts on their own strategies only; ``override`` (and admin) may act on any."""
    if row.created_by != user.name and not user.has(override) and "admin" not in user.roles:
        owner = row.created_by or "nobody (started before sign-in existed)"
        raise forbidden(
            f"{user.name} cannot {action} {row.id}: it was started by {owner}"
            + (f"; the {override} role may {action} any strategy" if override else "")
        )


async def _change(
    client: ClientDep,
    session: SessionDep,
    user: Principal,
    strategy_id: str,
    update: str,
    body: HaltBody | None,
) -> StatusChangePublic:
    row = await _row(session, strategy_id)
    check_owner(user, row, update)
    await session.rollback()  # end the read: the halt waits on the gate's row in its own transaction
    handle = client.get_workflow_handle(strategy_workflow_id(strategy_id))
    body = body or HaltBody()
    req = HaltRequest(**body.model_dump(), actor=user.name)
    try:
        changed = await handle.execute_update(
            update, req, result_type=StatusChanged, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            detail=f"{update} of {strategy_id} unconfirmed after {UPDATE_TIMEOUT.seconds}s: no worker?",
        ) from None
    except (WorkflowUpdateFailedError, RPCError) as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"cannot {update} {strategy_id}: {e}") from None
    return StatusChangePublic(strategy_id=strategy_id, status=changed.status, at=changed.at, ack=changed.ack)


@router.patch("/{strategy_id}/params", response_model=StrategyPublic)
async def update_params(
    strategy_id: StrategyId, body: ParamsUpdate, user: TraderUser, client: ClientDep, session: SessionDep
) -> StrategyPublic:
    """Replace the strategy's parameters from its next cycle on (validated here, then signalled);
    only its owner (or an admin) may."""
    row = await _row(session, strategy_id)
    check_owner(user, row, "change the parameters of", override="")
    # Validated by the version of the code it runs (bad params: 422, by the app's handler).
    kind = await type_at(session, row.type, row.code_version)
    params = kind.parse_params(body.params).model_dump(mode="json")
    handle = client.get_workflow_handle(strategy_workflow_id(strategy_id))
    try:
        await signal_latest(handle, StrategyWorkflow.update_params, params)
    except RPCError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"cannot update {strategy_id}: {e}") from None
    await repo.set_strategy_params(session, strategy_id=strategy_id, params=params, now=utcnow())
    await session.commit()
    return _public(await _row(session, strategy_id))


def _status_route(update: str, doc: str) -> None:
    """``POST /strategies/{id}/<update>``: halt, resume or stop, with the ownership rule."""

    async def change(
        strategy_id: StrategyId,
        user: TraderOrRiskUser,
        client: ClientDep,
        session: SessionDep,
        body: HaltBody | None = None,
    ) -> StatusChangePublic:
        return await _change(client, session, user, strategy_id, update, body)

    change.__name__ = f"{update}_strategy"
    change.__doc__ = doc
    router.post(f"/{{strategy_id}}/{update}", response_model=StatusChangePublic)(change)


_status_route(
    "halt",
    """Halt: returns once the strategy's order gate is closed (no order can be placed after).
    Traders halt their own strategies; the risk role halts any.""",
)
_status_route(
    "resume",
    """Resume cycles; returns once the order gate is open. Traders resume their own strategies;
    the risk role resumes any.""",
)
_status_route(
    "stop",
    """Stop for good: the gate closes, open orders are cancelled (unless asked not to) and the
    workflow ends; a stopped strategy cannot be resumed. Traders stop their own; risk stops any.""",
)
