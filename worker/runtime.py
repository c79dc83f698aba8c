"""Connecting to Temporal and building the worker (shared by `asts worker`, `asts up` and tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    ScheduleHandle,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.contracts import HubConfig, HubSnapshot, StrategyConfig, StrategyState, VenueReconcileRequest
from activities.deps import Deps, utcnow
from activities.ingest_contracts import FeedSource, IngestInput
from activities.registry import build_activities
from activities.status import record_strategy
from agents.llm import LlmConfig
from store.db import make_engine, make_sessionmaker, migrate
from trading.breakers import BreakerLimits
from worker.codec import settings_converter
from worker.marketdata_schedule import ensure_marketdata_schedule
from worker.monitoring import sample_forever, sdk_runtime, serve_metrics
from worker.schedules import ensure_schedule, interval_schedule
from worker.settings import Settings, load_strategies
from worker.transport import describe as describe_transport
from worker.transport import tls_config
from workflows.analyze import AnalyzeWorkflow
from workflows.backtest import BacktestWorkflow
from workflows.cycle import CycleWorkflow
from workflows.ingest import IngestWorkflow
from workflows.marketdata import MarketDataWorkflow
from workflows.neurohub import NeuroHubWorkflow, parse_reset
from workflows.notify import NOTIFIER_ID, NotifierWorkflow
from workflows.optimize import OptimizeWorkflow
from workflows.options import INGEST_RUN_TIMEOUT, NEWS_SCHEDULE_ID, backtest_queue, strategy_workflow_id
from workflows.order import OrderWorkflow
from workflows.strategy import StrategyWorkflow
from workflows.venue_reconcile import VenueReconcileWorkflow, venue_reconcile_id

log = logging.getLogger(__name__)

WORKFLOWS: Sequence[type] = (
    StrategyWorkflow,
    CycleWorkflow,
    OrderWorkflow,
    NeuroHubWorkflow,
    IngestWorkflow,
    AnalyzeWorkflow,
    BacktestWorkflow,
    OptimizeWorkflow,
    VenueReconcileWorkflow,
    MarketDataWorkflow,
    NotifierWorkflow,
)
GRACEFUL_SHUTDOWN = timedelta(seconds=10)
BACKTEST_SLOTS = 2


class TemporalConnectError(RuntimeError):
    """Temporal cannot be reached, or refused the connection's TLS or credentials."""


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A Temporal client with the encrypting data converter, over the transport of the settings
    (on ``runtime``, e.g. the worker's with the SDK's metrics; None: the SDK's default one)."""
    converter = settings_converter(settings)
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    tls = tls_config(settings)
    try:
        return await Client.connect(
            settings.address,
            namespace=settings.temporal_namespace,
            data_converter=converter,
            tls=tls,
            api_key=api_key,
            runtime=runtime,
        )
    except RuntimeError as e:
        how = describe_transport(settings)
        if tls is not False and "InvalidContentType" in str(e):
            how += "; the server answered in plaintext: it does not serve TLS"
        raise TemporalConnectError(f"cannot connect to Temporal at {settings.address} ({how}): {e}") from e


def settings_deps(settings: Settings, engine: AsyncEngine, *, llm: LlmConfig | None = None) -> Deps:
    """The activities' dependencies: the store on ``engine``, and the home and venues of the settings."""
    return Deps(
        sessions=make_sessionmaker(engine),
        home=settings.home,
        bars_per_second=settings.paper_bars_per_second,
        exchange_options=settings.exchange_options(),
        venues=dict(settings.exchanges),
        notify_channels=list(settings.notify),
        llm=llm,
        data_dir=settings.data_path,
    )


def hub_config(settings: Settings) -> HubConfig:
    """NeuroHub's configuration from the settings (validated: bad breakers fail at start)."""
    BreakerLimits.from_mapping(settings.hub_breakers)
    parse_reset(settings.hub_daily_reset_utc)
    return HubConfig(breakers=settings.hub_breakers, daily_reset_utc=settings.hub_daily_reset_utc)


def control_queue(task_queue: str) -> str:
    """NeuroHub's own task queue: its tasks never wait behind a backlog of strategy work."""
    return f"{task_queue}-control"


async def ensure_hub(
    client: Client, *, hub_id: str, task_queue: str, config: HubConfig | None = None
) -> WorkflowHandle[Any, Any]:
    """Start NeuroHub for the workers of ``task_queue`` unless it runs already (the running one is kept)."""
    return await client.start_workflow(
        NeuroHubWorkflow.run,
        HubSnapshot(hub_id=hub_id, config=config or HubConfig()),
        id=hub_id,
        task_queue=control_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def news_input(settings: Settings) -> IngestInput:
    """The feeds of the settings, validated (a bad ``ASTS_NEWS_FEEDS`` fails at start)."""
    return IngestInput(feeds=[FeedSource.model_validate(f) for f in settings.news_feeds])


async def ensure_news_schedule(
    client: Client, settings: Settings, *, schedule_id: str = NEWS_SCHEDULE_ID
) -> ScheduleHandle:
    """Create DataSpider's schedule (one run at once), or bring an existing one up to these settings.

    It starts IngestWorkflow on the main task queue every ``news_interval_s``, skipping a
    tick while a run is still going. Creating it triggers one run immediately. Several
    workers may call this at once: one creates it, the others update it to the same
    definition (a paused schedule stays paused).
    """
    schedule = interval_schedule(
        IngestWorkflow.run,
        news_input(settings),
        schedule_id=schedule_id,
        task_queue=settings.task_queue,
        execution_timeout=INGEST_RUN_TIMEOUT,
        every_s=settings.news_interval_s,
    )
    return await ensure_schedule(client, schedule_id, schedule)


async def ensure_notifier(client: Client, settings: Settings) -> None:
    """Start the notifier when channels are configured (a running one is kept). The channels
    are the settings of the workers that run its activity; with none, a round sends nothing."""
    if settings.notify:
        await client.start_workflow(
            NotifierWorkflow.run,
            settings.notify_interval_s,
            id=NOTIFIER_ID,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


async def start_venue_reconciliations(client: Client, settings: Settings) -> None:
    """Rebuild every configured venue's orders from the venue, as a worker starts: what filled or
    changed while no worker ran is recorded with the venue's own fills, and differences flagged.
    A run left over from before (its worker may have died in it) is replaced by a fresh one."""
    for name in sorted(settings.exchanges):
        try:
            await client.start_workflow(
                VenueReconcileWorkflow.run,
                VenueReconcileRequest(exchange=name),
                id=venue_reconcile_id(name),
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            )
        except RPCError as e:
            log.warning("venue reconciliation not started: %s", e, extra={"exchange": name})


async def launch_strategy(
    client: Client, sessions: async_sessionmaker[AsyncSession], config: StrategyConfig, *, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """Record the strategy (its gate open), commit, then start its workflow."""
    workflow_id = strategy_workflow_id(config.strategy_id)
    async with sessions.begin() as s:
        await record_strategy(s, config, workflow_id=workflow_id, now=utcnow())
    return await client.start_workflow(
        StrategyWorkflow.run, StrategyState(config=config), id=workflow_id, task_queue=task_queue
    )


def make_worker(
    client: Client,
    deps: Deps,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]] | None = None,
    **options: Any,
) -> Worker:
    """A worker that runs every ASTS workflow and activity on ``task_queue``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=list(activities) if activities is not None else build_activities(deps),
        **options,
    )


@asynccontextmanager
async def serve_workers(
    client: Client,
    deps: Deps,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]] | None = None,
    **options: Any,
) -> AsyncIterator[Worker]:
    """Run the strategy worker on ``task_queue``, NeuroHub's on its control queue and the
    backtest activities on theirs; yield the first.

    Separate pollers and task slots: a kill switch's workflow task is picked up at once even
    when hundreds of strategy tasks are queued, and a long search never takes execution's slots.
    """
    deps.client = deps.client or client
    acts = list(activities) if activities is not None else build_activities(deps)
    main = make_worker(client, deps, task_queue=task_queue, activities=acts, **options)
    control = Worker(
        client,
        task_queue=control_queue(task_queue),
        workflows=[NeuroHubWorkflow],
        activities=acts,
        **options,
    )
    # CPU-bound backtests on their own queue: two at a time (two cores), away from execution.
    backtests = Worker(
        client,
        task_queue=backtest_queue(task_queue),
        activities=acts,
        max_concurrent_activities=BACKTEST_SLOTS,
        **options,
    )
    async with main, control, backtests:
        yield main


async def run_worker(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Migrate the database, then run the worker until SIGINT/SIGTERM."""
    settings.home.mkdir(parents=True, exist_ok=True)
    load_strategies(settings)  # a broken strategy stops the worker here, naming its file and line
    await migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    deps = settings_deps(settings, engine, llm=settings.llm_config())
    await deps.load_store_series()  # the paper venue replays the stored paper series too
    # The SDK's metrics come from the runtime its client (and so its workers) run on.
    client = await connect(settings, runtime=sdk_runtime(settings))
    serve_metrics(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # On SIGTERM, activities under way get this long to finish before they are cancelled.
    workers = serve_workers(
        client, deps, task_queue=settings.task_queue, graceful_shutdown_timeout=GRACEFUL_SHUTDOWN
    )
    sampler: asyncio.Task[None] | None = None
    try:
        async with workers:
            if settings.worker_metrics_port:  # the state gauges: read only where they are served
                sampler = asyncio.create_task(sample_forever(deps, client, hub_id=settings.hub_id))
            log.info("worker running", extra={"task_queue": settings.task_queue, "address": settings.address})
            print(f"worker ready on task queue {settings.task_queue!r} at {settings.address}", flush=True)
            await ensure_hub(
                client, hub_id=settings.hub_id, task_queue=settings.task_queue, config=hub_config(settings)
            )
            await start_venue_reconciliations(client, settings)
            try:
                await ensure_news_schedule(client, settings)
            except RPCError as e:  # news is not worth stopping a trading worker for
                log.warning("news schedule not ensured: %s", e, extra={"schedule_id": NEWS_SCHEDULE_ID})
            try:
                await ensure_marketdata_schedule(client, settings)
            except RPCError as e:  # nor is market data
                log.warning("market-data schedule not ensured: %s", e, extra={"schedule_id": "marketdata"})
            try:
                await ensure_notifier(client, settings)
            except RPCError as e:  # nor are notifications
                log.warning("notifier not ensured: %s", e, extra={"workflow_id": NOTIFIER_ID})
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        await deps.close()
        await engine.dispose()
