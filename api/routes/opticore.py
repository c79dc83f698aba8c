"""OptiCore over HTTP: start backtests and optimisations as workflows, read their records."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.bounds import FreeMapping
from activities.data_files import confined_file
from activities.deps import utcnow
from activities.opticore_contracts import (
    MAX_CANDIDATES,
    MAX_PEERS,
    BacktestRequest,
    BacktestSettings,
    DataSpec,
    OptimizeRequest,
    PeerData,
    SearchSpec,
)
from api.auth.deps import TRADER, VIEWER, TraderUser
from api.auth.roles import Principal
from api.deps import ClientDep, Offset, SessionDep, SettingsDep, page_limit
from api.exchanges import check_venue
from api.schemas import Page, page_of
from asts.registry import current
from exchanges.data import bundled_series
from store import repo
from store.models import BacktestRow, OptimizationRow
from trading.errors import InvalidInput, TradingError
from trading.ohlcv_csv import parse_tz
from trading.optimize import Space, grid_candidates
from trading.sizing import choose_sizing
from worker.settings import Settings
from workflows.backtest import BacktestWorkflow
from workflows.optimize import OptimizeWorkflow
from workflows.options import backtest_workflow_id, optimization_workflow_id

router = APIRouter(tags=["opticore"])
Limit = page_limit(50, 500)
Mine = Query(default=None, max_length=100, description="only the runs this user (or key:<name>) started")
RPC_TIMEOUT = timedelta(seconds=10)
# A progress query waits for a worker to answer: without one, the stored progress answers soon.
PROGRESS_TIMEOUT = timedelta(seconds=2)
RecordId = Annotated[str, Path(min_length=1, max_length=64)]


class BacktestCreate(BaseModel):
    """``POST /backtests``."""

    model_config = ConfigDict(extra="forbid")

    data: DataSpec = Field(examples=[{"symbol": "MSFT/USD", "last": 600}])
    strategy: str = Field(min_length=1, max_length=50, examples=["sma_cross"])
    params: FreeMapping = Field(default_factory=dict, examples=[{"fast": 5, "slow": 20}])
    settings: BacktestSettings = Field(default_factory=BacktestSettings)
    peers: PeerData = Field(
        default_factory=dict,
        max_length=MAX_PEERS,
        description="The series of the other symbols the strategy reads (its declared peers).",
        examples=[{"GOOGL/USD": {"symbol": "GOOGL/USD"}}],
    )


class OptimizationCreate(SearchSpec):
    """``POST /optimizations``."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, max_length=50, examples=["sma_cross"])


class Started(BaseModel):
    """Answer of a POST: the record's id and its workflow."""

    id: str
    workflow_id: str
    status: str


class Progress(BaseModel):
    """How far a run is: ``done`` of ``total`` steps (a backtest is one step; a search, its candidates)."""

    done: int
    total: int


class BacktestBrief(BaseModel):
    """A backtest in a list: the request, status and metrics (no trades, no equity curve)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    status: str
    request: dict[str, Any]
    created_by: str
    metrics: dict[str, Any] | None
    error: str
    created_at: datetime
    finished_at: datetime | None

    live_progress: Progress | None = Field(default=None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> Progress:
        """A backtest is one step of the engine: done once its record is (while it runs, as
        the workflow's ``progress`` query answers)."""
        return self.live_progress or Progress(done=int(self.status == "done"), total=1)


class BacktestPublic(BacktestBrief):
    """A backtest: the request, and its result once done."""

    trades: list[Any] | None
    equity: dict[str, Any] | None
    conventions: str


class OptimizationBrief(BaseModel):
    """An optimisation in a list: progress and the best so far (no tables)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    status: str
    request: dict[str, Any]
    created_by: str
    total: int
    done: int
    best_params: dict[str, Any] | None
    best_score: float | None
    best_metrics: dict[str, Any] | None
    error: str
    created_at: datetime
    finished_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> Progress:
        """Candidates evaluated of those planned."""
        return Progress(done=self.done, total=self.total)


class OptimizationPublic(OptimizationBrief):
    """An optimisation: progress (live while it runs), best parameters, top results, walk-forward."""

    top: list[Any] | None
    walk_forward: list[Any] | None


def _check_data(data: DataSpec, settings: Settings) -> None:
    if data.symbol is not None and data.symbol not in bundled_series():
        known = ", ".join(sorted(bundled_series()))
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"no bundled series {data.symbol!r}; known: {known}"
        )
    if data.csv_path is not None:  # only a file under the data directory (the worker checks again)
        try:
            confined_file(data.csv_path, settings.data_path)
        except InvalidInput as e:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
    if data.store is not None:
        check_venue(data.store.exchange, settings, stored=True, field="data.store.exchange")
    parse_tz(data.tz)  # an unknown zone: InvalidInput, a 422 by the app's handler


async def _check_quota(
    session: AsyncSession, settings: Settings, user: Principal, kind: Literal["backtest", "optimization"]
) -> None:
    """429 when the user, or everyone together, has as many running as the settings allow."""
    mine, everyone = (
        (settings.max_running_backtests_per_user, settings.max_running_backtests)
        if kind == "backtest"
        else (settings.max_running_optimizations_per_user, settings.max_running_optimizations)
    )
    async with session.begin():  # a read of its own: the record is written after the checks
        running = await repo.count_running_opticore(session, kind=kind, created_by=user.name)
        total = await repo.count_running_opticore(session, kind=kind)
    setting = f"ASTS_MAX_RUNNING_{kind.upper()}S"
    if running >= mine:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{user.name} has {running} {kind}s running, the most allowed ({setting}_PER_USER={mine})",
        )
    if total >= everyone:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"{total} {kind}s are running, the most allowed at once ({setting}={everyone})",
        )


@router.post("/backtests", status_code=status.HTTP_202_ACCEPTED, response_model=Started)
async def start_backtest(
    body: BacktestCreate, user: TraderUser, client: ClientDep, session: SessionDep, settings: SettingsDep
) -> Started:
    """Validate, record and start a backtest; poll ``GET /backtests/{id}`` for the result."""
    _check_data(body.data, settings)
    # An unknown type or bad params: the app's TradingError handler answers 422 with the reason.
    kind = current().get(body.strategy)
    for peer in body.peers.values():
        _check_data(peer, settings)
    missing = [sym for sym in kind.cls.peers if sym not in body.peers]
    if missing:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{body.strategy} reads {', '.join(missing)} beside its own bars: give it in peers",
        )
    params = kind.parse_params(body.params).model_dump(mode="json")
    # Chosen from the params as given: the normalised ones always carry a size.
    s = body.settings
    named = kind.size_of(body.params, named_only=True)
    sizing = choose_sizing(named, given=s.sizing, fraction=s.fraction, units=s.units)
    await _check_quota(session, settings, user, "backtest")
    bid = "bt" + secrets.token_hex(5)
    wid = backtest_workflow_id(bid)
    req = BacktestRequest(
        backtest_id=bid,
        data=body.data,
        strategy_type=body.strategy,
        params=params,
        settings=s.model_copy(update={"sizing": sizing}),
        peers=body.peers,
    )
    async with session.begin():
        await repo.create_backtest(
            session,
            id=bid,
            workflow_id=wid,
            request=req.model_dump(mode="json"),
            now=utcnow(),
            created_by=user.name,
        )
    try:
        await client.start_workflow(
            BacktestWorkflow.run, req, id=wid, task_queue=settings.task_queue, rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as e:
        async with session.begin():
            await repo.finish_backtest(
                session, id=bid, status="failed", now=utcnow(), error=f"did not start: {e}"
            )
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return Started(id=bid, workflow_id=wid, status="running")


@router.get("/backtests", response_model=Page[BacktestBrief], dependencies=[VIEWER])
async def list_backtests(
    session: SessionDep, created_by: str | None = Mine, limit: int = Limit, offset: int = Offset
) -> Page[BacktestBrief]:
    """Backtests, newest first."""
    rows = await repo.list_opticore(session, BacktestRow, limit=limit, offset=offset, created_by=created_by)
    return page_of(BacktestBrief, rows)


@router.delete(
    "/backtests/{backtest_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Started,
    dependencies=[TRADER],
)
async def cancel_backtest(backtest_id: RecordId, session: SessionDep, client: ClientDep) -> Started:
    """Cancel a running backtest: the record says cancelled (a finished one is left as it is)."""
    row = await repo.get_backtest(session, id=backtest_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no backtest {backtest_id}")
    return await _cancel(client, backtest_id, row.workflow_id)


@router.get("/backtests/{backtest_id}", response_model=BacktestPublic, dependencies=[VIEWER])
async def get_backtest(backtest_id: RecordId, session: SessionDep, client: ClientDep) -> BacktestPublic:
    """A backtest's request, status, progress (the workflow's, while it runs) and, once done,
    metrics, trades and equity curve."""
    row = await repo.get_backtest(session, id=backtest_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no backtest {backtest_id}")
    out = BacktestPublic.model_validate(row)
    if row.status == "running" and (live := await _progress(client, row.workflow_id, BacktestWorkflow)):
        out.live_progress = Progress(done=live.done, total=live.total)
    return out


async def _progress(client: ClientDep, workflow_id: str, workflow: Any) -> Any:
    """The answer of a running run's ``progress`` query, or None when no worker answers in time
    (the stored progress then stands)."""
    try:
        return await client.get_workflow_handle(workflow_id).query(
            workflow.progress, rpc_timeout=PROGRESS_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError):
        return None


@router.post("/optimizations", status_code=status.HTTP_202_ACCEPTED, response_model=Started)
async def start_optimization(
    body: OptimizationCreate, user: TraderUser, client: ClientDep, session: SessionDep, settings: SettingsDep
) -> Started:
    """Validate, record and start a parameter search; ``GET /optimizations/{id}`` shows progress."""
    _check_data(body.data, settings)
    kind = current().get(body.strategy)  # unknown: 422 (the app's TradingError handler)
    unknown = set(body.space) - set(kind.cls.params_model.model_fields)
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"unknown {body.strategy} parameters: {sorted(unknown)}",
        )
    try:
        space = Space.from_mapping(body.space, body.constraints)
        if body.method == "grid" and body.walk_forward is None:
            grid = await asyncio.to_thread(
                grid_candidates, space, points_per_param=body.steps, max_candidates=MAX_CANDIDATES
            )
            if not grid:
                raise InvalidInput("no parameter set satisfies the constraints")
    except (TradingError, ValueError) as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
    await _check_quota(session, settings, user, "optimization")
    oid = "op" + secrets.token_hex(5)
    wid = optimization_workflow_id(oid)
    req = OptimizeRequest(
        optimization_id=oid, strategy_type=body.strategy, **body.model_dump(exclude={"strategy"})
    )
    async with session.begin():
        await repo.create_optimization(
            session,
            id=oid,
            workflow_id=wid,
            request=req.model_dump(mode="json"),
            now=utcnow(),
            created_by=user.name,
        )
    try:
        await client.start_workflow(
            OptimizeWorkflow.run, req, id=wid, task_queue=settings.task_queue, rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as e:
        async with session.begin():
            await repo.update_optimization(session, id=oid, status="failed", error=f"did not start: {e}")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return Started(id=oid, workflow_id=wid, status="running")


@router.get("/optimizations", response_model=Page[OptimizationBrief], dependencies=[VIEWER])
async def list_optimizations(
    session: SessionDep, created_by: str | None = Mine, limit: int = Limit, offset: int = Offset
) -> Page[OptimizationBrief]:
    """Optimisations, newest first (progress as stored: ``GET /optimizations/{id}`` asks the workflow)."""
    rows = await repo.list_opticore(
        session, OptimizationRow, limit=limit, offset=offset, created_by=created_by
    )
    return page_of(OptimizationBrief, rows)


@router.get("/optimizations/{optimization_id}", response_model=OptimizationPublic, dependencies=[VIEWER])
async def get_optimization(
    optimization_id: RecordId, session: SessionDep, client: ClientDep
) -> OptimizationPublic:
    """The stored record, with live progress from the workflow while it runs."""
    row = await repo.get_optimization(session, id=optimization_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no optimisation {optimization_id}")
    out = OptimizationPublic.model_validate(row)
    if row.status == "running" and (live := await _progress(client, row.workflow_id, OptimizeWorkflow)):
        out.done, out.total = live.done, live.total
        if live.best is not None:
            out.best_params, out.best_score = live.best.params, live.best.score
            out.best_metrics = live.best.metrics
    return out


@router.delete("/optimizations/{optimization_id}", response_model=Started, dependencies=[TRADER])
async def cancel_optimization(optimization_id: RecordId, session: SessionDep, client: ClientDep) -> Started:
    """Cancel a running search: chunks under way stop, the record says cancelled."""
    row = await repo.get_optimization(session, id=optimization_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no optimisation {optimization_id}")
    return await _cancel(client, optimization_id, row.workflow_id)


async def _cancel(client: ClientDep, record_id: str, workflow_id: str) -> Started:
    """Ask the run's workflow to cancel, if it still runs; its activity records it cancelled."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        running = desc.status == WorkflowExecutionStatus.RUNNING
        if running:
            await handle.cancel(rpc_timeout=RPC_TIMEOUT)
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return Started(id=record_id, workflow_id=workflow_id, status="cancelling" if running else "finished")
