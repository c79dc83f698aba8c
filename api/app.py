"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from activities.contracts import HubStatus
from activities.deps import Deps
from api.auth.access import check_routes, document_roles
from api.auth.deps import VIEWER
from api.auth.roles import Principal
from api.auth.service import ensure_admin
from api.auth.tokens import signing_key
from api.deps import ClientDep, SessionDep
from api.openapi import document_api
from api.pages import add_pages
from api.recent import Recent
from api.routes import (
    analysis,
    approvals,
    auth,
    codec,
    control,
    marketdata,
    news,
    opticore,
    records,
    scan,
    strategies,
    strategy_code,
    strategy_types,
    stream,
    venues,
)
from api.schemas import InfoPublic
from api.security_headers import MUTATIONS, harden
from api.stream import ChangeFeed
from store.db import make_engine, make_sessionmaker, migrate, ping
from trading.errors import TradingError
from worker.runtime import connect
from worker.settings import Settings, load_strategies

log = logging.getLogger(__name__)

REQUESTS = Counter("asts_http_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram("asts_http_request_seconds", "API request latency", ["method", "route"])


class RequestMetrics:
    """Count and time every request by method, route template and status (pure ASGI: no extra
    task or stream per request, unlike ``@app.middleware``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        code = 500

        async def sending(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(code)).inc()
            LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)


class ReadYourWrites:
    """After a mutation through this process, drop the list answers kept (``api.deps.FreshEnough``);
    a refused one (4xx: refused before anything was done) leaves them. A 5xx may have changed
    something (a halt whose answer timed out), so it drops them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATIONS:
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not 400 <= message["status"] < 500:
                scope["app"].state.reads.clear()
            await send(message)

        await self.app(scope, receive, sending)


def _reason(err: Mapping[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        ctx = err.get("ctx") or {}
        pos = err.get("loc", ("body", "?"))[-1]
        return f"malformed JSON at character {pos}: {ctx.get('error', 'cannot be parsed')}"
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    if err.get("type") == "extra_forbidden" and loc == "actor":
        return "actor: not accepted: the actor of every action is the signed-in user (or API key)"
    msg = str(err.get("msg", "invalid"))
    return f"{loc}: {msg}" if loc else msg


async def prepare_store(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """Migrate the store and create the first admin, as every API process does at start (and
    ``asts api --processes`` once before them); the generated admin password, if one was made."""
    await migrate(settings.db_url)
    return await ensure_admin(sessions, settings)


def app_from_environment() -> FastAPI:
    """The app configured from ``ASTS_*`` alone: what each of several API processes builds."""
    return create_app(Settings())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; Temporal and the database are connected in the lifespan."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    signing_key(settings)  # outside development a missing, default or short secret stops it here
    load_strategies(settings)  # a broken strategy stops it here, naming its file and line

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url)
        app.state.settings = settings
        app.state.sessions = make_sessionmaker(engine)
        await prepare_store(settings, app.state.sessions)  # a no-op when already prepared
        app.state.venues = Deps(
            sessions=app.state.sessions,
            home=settings.home,
            bars_per_second=settings.paper_bars_per_second,
            exchange_options=settings.exchange_options(),
            venues=dict(settings.exchanges),
        )
        await app.state.venues.load_store_series()  # the paper venue lists the stored paper series
        app.state.client = await connect(settings)
        app.state.feed = ChangeFeed(app.state.sessions, interval_s=settings.stream_interval_s)
        app.state.principals = Recent[Principal](settings.auth_cache_s)
        app.state.hub_status = Recent[HubStatus](settings.hub_status_cache_s)
        app.state.reads = Recent[Any](settings.read_cache_s)
        app.state.feed.on_change = app.state.reads.clear  # a console told of a change reads it
        # What start-up built lives as long as the process: out of the collector's way, so a
        # full collection scans only what requests allocate (shorter pauses under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.feed.close()
            await app.state.venues.close()
            await engine.dispose()

    app = FastAPI(
        title="ASTS",
        version="0.1.0",
        description="Agent-driven trading on durable Temporal workflows.",
        lifespan=lifespan,
        docs_url=None,  # api.pages serves them from local files
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        reasons = [_reason(e) for e in exc.errors()]
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": "; ".join(reasons), "errors": reasons},
        )

    @app.exception_handler(TradingError)
    async def _domain(_: Request, exc: TradingError) -> JSONResponse:
        code = status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_422_UNPROCESSABLE_CONTENT
        return JSONResponse(status_code=code, content={"detail": str(exc), "type": exc.kind})

    @app.get("/health", tags=["ops"])
    async def health(client: ClientDep, session: SessionDep, response: Response) -> dict[str, str]:
        """Temporal and database reachability: ``ok``, or ``failing`` with 503 (no detail: it is public)."""
        try:
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            await ping(session)
        except Exception as e:  # any failure means "not reachable"
            log.warning("health check failing: %s", type(e).__name__)
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "failing"}
        return {"status": "ok"}

    @app.get("/info", tags=["ops"], response_model=InfoPublic, dependencies=[VIEWER])
    async def info() -> InfoPublic:
        """This deployment as a console needs it: version, the Temporal Web UI to link, four eyes."""
        return InfoPublic(
            version=app.version,
            temporal_ui=settings.temporal_ui,
            namespace=settings.temporal_namespace,
            four_eyes=settings.four_eyes,
        )

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(auth.router)
    app.include_router(strategies.router)
    app.include_router(strategy_types.router)
    app.include_router(strategy_code.router)
    app.include_router(records.router)
    app.include_router(control.router)
    app.include_router(venues.router)
    app.include_router(approvals.router)
    app.include_router(news.router)
    app.include_router(analysis.router)
    app.include_router(opticore.router)
    app.include_router(marketdata.router)
    app.include_router(scan.router)
    app.include_router(codec.router)
    app.include_router(stream.router)
    add_pages(app, settings)
    check_routes(app)  # a route that names no role is a bug: refuse to build the app
    document_roles(app)
    document_api(app, settings)  # the venues exchange fields may name, the 422 body as answered
    app.add_middleware(ReadYourWrites)
    app.add_middleware(RequestMetrics)
    harden(app, settings)  # outermost: host check, JSON-only mutations, body caps, security headers
    return app
