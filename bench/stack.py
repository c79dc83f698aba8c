"""The embedded stack the benchmarks measure: a fresh dev server (SQLite), a SQLite store, the paper venue."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contracts import StrategyConfig
from activities.deps import Deps
from api.app import create_app
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from worker.codec import settings_converter
from worker.launcher import dev_server_args, free_port
from worker.runtime import launch_strategy
from worker.settings import Settings

BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """A running embedded stack."""

    client: Client
    deps: Deps
    db_url: str

    @property
    def address(self) -> str:
        """The Temporal frontend."""
        return self.client.service_client.config.target_host


@asynccontextmanager
async def embedded_stack(server_config: Mapping[str, int | str]) -> AsyncIterator[Stack]:
    """Start everything under a temporary directory; yield the client, the activities' deps, the DB."""
    with tempfile.TemporaryDirectory(prefix="asts-bench-") as tmp:
        home = Path(tmp)
        # Payloads encrypted as in production; the key is generated into the home, where the API
        # of ``serve_api`` finds it too.
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_database_filename=str(home / "temporal.db"),
            dev_server_extra_args=dev_server_args(dict(server_config)),
            data_converter=settings_converter(Settings(home=home)),
            dev_server_log_level="error",
        )
        url = sqlite_url(home / "asts.db")
        await migrate(url)
        engine = make_engine(url)
        deps = Deps(sessions=make_sessionmaker(engine), home=home, bars_per_second=20.0)
        try:
            yield Stack(env.client, deps, url)
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


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # leave Ctrl-C to the benchmark
        yield


@asynccontextmanager
async def serve_api(stack: Stack, *, task_queue: str, hub_id: str) -> AsyncIterator[httpx.AsyncClient]:
    """The real API over HTTP on 127.0.0.1 for this stack; yield a client for it."""
    port = free_port()
    password = secrets.token_urlsafe(16)  # the benchmark API's admin, on a fresh store each run
    settings = Settings(
        home=stack.deps.home,
        database_url=SecretStr(stack.db_url),
        temporal_address=stack.address,
        task_queue=task_queue,
        hub_id=hub_id,
        api_port=port,
        admin_password=SecretStr(password),
        four_eyes=False,  # one benchmark user starts, halts and approves
        max_running_strategies_per_user=10_000,
    )
    server = _QuietServer(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=settings.base_url, timeout=900, limits=limits) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            r = await http.post("/auth/token", data={"username": "admin", "password": password})
            r.raise_for_status()
            http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            yield http
    finally:
        server.should_exit = True
        await task
