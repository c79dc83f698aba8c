"""Request dependencies: the Temporal client, a DB session, venue access, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from activities.deps import Deps
from worker.settings import Settings


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_client(request: Request) -> Client:
    """The Temporal client opened at start-up."""
    return request.app.state.client  # type: ignore[no-any-return]


def get_venues(request: Request) -> Deps:
    """Venue connections (read-only use: markets)."""
    return request.app.state.venues  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request."""
    async with request.app.state.sessions() as session:
        yield session


class FreshEnough:
    """A list answer read from the store, or the same answer given less than ``read_cache_s`` ago
    to the same path and query (``api.recent``): a burst of consoles polling costs one read and
    one serialisation (the JSON bytes are kept, so a kept answer is neither validated nor
    encoded again). The role is checked before, per request. Every mutation through this
    process and every change the change feed sees drop the kept answers, so a caller reads its
    own writes and a console told of a change reads it."""

    def __init__(self, request: Request) -> None:
        self.recent = request.app.state.reads
        self.key = (request.url.path, request.url.query)

    async def __call__(self, read: Callable[[], Awaitable[BaseModel]]) -> Response:
        async def encoded() -> bytes:
            return (await read()).model_dump_json().encode()

        body: bytes = await self.recent.get(self.key, encoded)
        return Response(body, media_type="application/json")


# Paging of every list: skip this many (the same bound everywhere), and at most this many (each
# list has its own default and ceiling).
Offset = Query(default=0, ge=0, le=10_000_000, description="skip this many first (the next page)")


def page_limit(default: int, most: int) -> Any:
    """The ``limit`` query parameter of a list: ``default`` rows, at most ``most``."""
    return Query(default=default, ge=1, le=most, description="at most this many (a page)")


SettingsDep = Annotated[Settings, Depends(get_settings)]
FreshDep = Annotated[FreshEnough, Depends(FreshEnough)]
ClientDep = Annotated[Client, Depends(get_client)]
VenuesDep = Annotated[Deps, Depends(get_venues)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def query_utc(value: datetime | None) -> datetime | None:
    """A query time in UTC; one given without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first time there is
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{value.isoformat()} is out of range in UTC"
        ) from None
