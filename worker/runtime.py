"""Connecting to Temporal and building the worker (shared by `asts worker`, `asts up` and tests)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.deps import Deps
from activities.registry import build_activities
from store.db import make_engine, make_sessionmaker, migrate
from worker.settings import Settings
from workflows.cycle import CycleWorkflow
from workflows.order import OrderWorkflow
from workflows.strategy import StrategyWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: Sequence[type] = (StrategyWorkflow, CycleWorkflow, OrderWorkflow)
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


async def connect(settings: Settings) -> Client:
    """A Temporal client with the pydantic data converter."""
    return await Client.connect(
        settings.address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )


def make_worker(client: Client, deps: Deps, *, task_queue: str, **options: Any) -> Worker:
    """A worker that runs every ASTS workflow and activity on ``task_queue``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=build_activities(deps),
        **options,
    )


async def run_worker(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Migrate the database, then run the worker until SIGINT/SIGTERM."""
    settings.home.mkdir(parents=True, exist_ok=True)
    await migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    deps = Deps(
        sessions=make_sessionmaker(engine),
        home=settings.home,
        bars_per_second=settings.paper_bars_per_second,
    )
    client = await connect(settings)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr="127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # On SIGTERM, activities under way get this long to finish before they are cancelled.
    worker = make_worker(
        client, deps, task_queue=settings.task_queue, graceful_shutdown_timeout=GRACEFUL_SHUTDOWN
    )
    try:
        async with worker:
            log.info("worker running", extra={"task_queue": settings.task_queue, "address": settings.address})
            print(f"worker ready on task queue {settings.task_queue!r} at {settings.address}", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
    finally:
        await deps.close()
        await engine.dispose()
