"""The real API over real HTTP with a real worker, shared by the API and CLI tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import uvicorn
from pydantic import SecretStr
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from api.app import create_app
from store import repo
from store.db import make_engine, make_sessionmaker, migrate
from tests.encryption import TEST_CODEC_SETTINGS
from worker.launcher import free_port
from worker.runtime import ensure_hub, serve_workers
from worker.settings import Settings
from workflows.options import strategy_workflow_id

T = TypeVar("T")

READY_TIMEOUT_S = 30.0

# Every API the tests serve has these users, all with this password (the admin is created by the
# API's first start from ASTS_ADMIN_PASSWORD; the others by the admin through the API).
TEST_PASSWORD = "correct horse battery staple"
ROLE_USERS = {"viewer": "viewer1", "trader": "trader1", "risk": "risk1", "admin": "admin"}
# Access tokens of each role, by the API's base URL.
TOKENS: dict[str, dict[str, str]] = {}


async def sign_in(base_url: str, username: str, password: str = TEST_PASSWORD) -> dict[str, object]:
    """``POST /auth/token`` with the password form; the answer's JSON (asserting 200)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        r = await http.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _provision(base_url: str) -> dict[str, str]:
    """Sign in as admin, add one user per other role, and return an access token of each role."""
    admin = str((await sign_in(base_url, "admin"))["access_token"])
    tokens = {"admin": admin}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=bearer(admin)) as http:
        for role, name in ROLE_USERS.items():
            if role == "admin":
                continue
            r = await http.post(
                "/auth/users", json={"username": name, "password": TEST_PASSWORD, "roles": [role]}
            )
            assert r.status_code == 201, r.text
    for role, name in ROLE_USERS.items():
        if role != "admin":
            tokens[role] = str((await sign_in(base_url, name))["access_token"])
    return tokens


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def token_for(base_url: str, role: str = "admin") -> str:
    """An access token of ``role`` on the API at ``base_url`` (served by ``serve_api``)."""
    return TOKENS[base_url.rstrip("/")][role]


def api_client(base_url: str, role: str = "admin", **options: object) -> httpx.AsyncClient:
    """An HTTP client for the API at ``base_url``, signed in with ``role``."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=bearer(token_for(base_url, role)),
        **{"timeout": 30, **options},  # type: ignore[arg-type]
    )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves pytest's signal handlers alone (Ctrl-C still stops the run)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def poll(check: Callable[[], Awaitable[T]], what: str, timeout: float = 30.0) -> T:
    """Await ``check`` until it returns something truthy and return that; fail after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        out = await check()
        if out:
            return out
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


async def _wait_healthy(base_url: str, task: asyncio.Task[None]) -> None:
    async def healthy() -> bool:
        if task.done():  # the server failed to start: surface its error
            task.result()
            raise AssertionError("the API server exited during start-up")
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{base_url}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    await poll(healthy, "GET /health", timeout=READY_TIMEOUT_S)


@contextlib.asynccontextmanager
async def serve_api(
    env: WorkflowEnvironment, home: Path, *, worker: bool = True, **settings_overrides: object
) -> AsyncIterator[str]:
    """Serve ``create_app`` on 127.0.0.1 with (or without) a worker on its task queue; yield the base URL.

    On exit the strategies it started are terminated, so their timers stop loading the
    session's dev server once no worker polls their queue.
    """
    port = free_port()
    settings = Settings(
        home=home,
        database_url=None,  # SQLite under ``home``, whatever the environment says
        temporal_address=env.client.service_client.config.target_host,
        task_queue=f"api-{uuid.uuid4()}",
        paper_bars_per_second=20,
        api_port=port,
        hub_id=f"hub-{uuid.uuid4()}",
        hub_accept_timeout_s=30.0 if worker else 3.0,
        admin_password=SecretStr(TEST_PASSWORD),
        access_token_ttl_s=3600,
        **{**TEST_CODEC_SETTINGS, **settings_overrides},  # type: ignore[arg-type]  # the session's keys
    )
    await migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    sessions = make_sessionmaker(engine)
    deps = Deps(
        sessions=sessions, home=home, bars_per_second=20, exchange_options=settings.exchange_options()
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = _Server(config)
    try:
        workers = serve_workers(env.client, deps, task_queue=settings.task_queue)
        async with workers if worker else contextlib.nullcontext():
            hub = await ensure_hub(env.client, hub_id=settings.hub_id, task_queue=settings.task_queue)
            task = asyncio.create_task(server.serve())
            try:
                await _wait_healthy(settings.base_url, task)
                TOKENS[settings.base_url.rstrip("/")] = await _provision(settings.base_url)
                yield settings.base_url
            finally:
                server.should_exit = True
                await task
                async with sessions() as s:
                    rows = await repo.list_strategies(s)
                for row in rows:
                    with contextlib.suppress(RPCError):
                        await env.client.get_workflow_handle(strategy_workflow_id(row.id)).terminate()
                with contextlib.suppress(RPCError):
                    await hub.terminate()
    finally:
        await deps.close()
        await engine.dispose()


def strategy_body(**overrides: object) -> dict[str, object]:
    """A POST /strategies body that trades within seconds on the bundled data."""
    body: dict[str, object] = {
        "name": "api test",
        "type": "sma_cross",
        "exchange": "paper",
        "symbols": ["MSFT/USD"],
        "interval": "300ms",
        "params": {"fast": 2, "slow": 5, "size": "5"},
    }
    return body | overrides


async def start_strategy(http: httpx.AsyncClient, **overrides: object) -> str:
    """Start a strategy through the API; return its id."""
    r = await http.post("/strategies", json=strategy_body(**overrides))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def live_cycles(http: httpx.AsyncClient, strategy_id: str) -> int:
    """``live.cycles_done`` of a strategy, as GET /strategies/{id} reports it (-1 without ``live``)."""
    r = await http.get(f"/strategies/{strategy_id}")
    assert r.status_code == 200, r.text
    live = r.json()["live"]
    return -1 if live is None else int(live["cycles_done"])
