"""DataSpider's news items, read from the store."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Query, status

from api.auth.deps import VIEWER
from api.deps import SessionDep
from api.schemas import NewsItemPublic, Page
from store import repo

router = APIRouter(tags=["news"], dependencies=[VIEWER])


def _utc(value: datetime | None) -> datetime | None:
    """A query time in UTC; one given without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first time there is
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{value.isoformat()} is out of range in UTC"
        ) from None


@router.get("/news", response_model=Page[NewsItemPublic])
async def news(
    session: SessionDep,
    symbol: str | None = Query(default=None, min_length=1, max_length=64, description="e.g. MSFT/USD"),
    since: datetime | None = Query(default=None, description="published at or after (ISO 8601, UTC)"),
    until: datetime | None = Query(default=None, description="published at or before (ISO 8601, UTC)"),
    limit: int = Query(default=100, ge=1, le=1000, description="at most this many (a page)"),
    offset: int = Query(default=0, ge=0, le=10_000_000, description="skip this many first (the next page)"),
) -> Page[NewsItemPublic]:
    """News items, newest first; with ``until`` nothing published after it is returned."""
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        detail = f"since ({since.isoformat()}) is after until ({until.isoformat()})"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)
    rows = await repo.list_news(session, symbol=symbol, since=since, until=until, limit=limit, offset=offset)
    return Page[NewsItemPublic](data=[NewsItemPublic.model_validate(r) for r in rows], count=len(rows))
