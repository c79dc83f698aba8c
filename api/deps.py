"""Request dependencies: the Temporal client, a DB session, venue access, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
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


SettingsDep = Annotated[Settings, Depends(get_settings)]
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
