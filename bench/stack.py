"""The embedded stack the benchmarks measure: a fresh dev server (SQLite), a SQLite store, the paper venue."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.contracts import StrategyConfig
from activities.deps import Deps
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from worker.launcher import dev_server_args
from worker.runtime import launch_strategy

BIN = Path(sys.executable).parent


@asynccontextmanager
async def embedded_stack(server_config: Mapping[str, int | str]) -> AsyncIterator[tuple[Client, Deps]]:
    """Start everything under a temporary directory; yield the client and the activities' deps."""
    with tempfile.TemporaryDirectory(prefix="asts-bench-") as tmp:
        home = Path(tmp)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_database_filename=str(home / "temporal.db"),
            dev_server_extra_args=dev_server_args(dict(server_config)),
            data_converter=pydantic_data_converter,
            dev_server_log_level="error",
        )
        url = sqlite_url(home / "asts.db")
        await migrate(url)
        engine = make_engine(url)
        deps = Deps(sessions=make_sessionmaker(engine), home=home, bars_per_second=20.0)
        try:
            yield env.client, deps
        finally:
            await deps.close()
            await engine.dispose()
            await env.shutdown()


async def start_strategies(
    client: Client, deps: Deps, *, task_queue: str, n: int, prefix: str, **config: Any
) -> list[WorkflowHandle[Any, Any]]:
    """Record and start ``n`` one-symbol SMA strategies ``{prefix}{i}``, alike but for ``config``."""
    handles = []
    for i in range(n):
        cfg = StrategyConfig(
            strategy_id=f"{prefix}{i}",
            name="bench",
            type="sma_cross",
            symbols=["MSFT/USD"],
            params={"fast": 2, "slow": 5, "size": "1"},
            **config,
        )
        handles.append(await launch_strategy(client, deps.sessions, cfg, task_queue=task_queue))
    return handles
