"""DataSpider's news items, read from the store."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, status

from api.auth.deps import VIEWER
from api.deps import Offset, SessionDep, page_limit, query_utc
from api.schemas import NewsItemPublic, Page, page_of
from store import repo

router = APIRouter(tags=["news"], dependencies=[VIEWER])


@router.get("/news", response_model=Page[NewsItemPublic])
async def news(
    session: SessionDep,
    symbol: str | None = Query(default=None, min_length=1, max_length=64, description="e.g. MSFT/USD"),
    since: datetime | None = Query(default=None, description="published at or after (ISO 8601, UTC)"),
    until: datetime | None = Query(default=None, description="published at or before (ISO 8601, UTC)"),
    limit: int = page_limit(100, 1000),
    offset: int = Offset,
) -> Page[NewsItemPublic]:
    """News items, newest first; with ``until`` nothing published after it is returned."""
    since, until = query_utc(since), query_utc(until)
    if since is not None and until is not None and since > until:
        detail = f"since ({since.isoformat()}) is after until ({until.isoformat()})"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)
    rows = await repo.list_news(session, symbol=symbol, since=since, until=until, limit=limit, offset=offset)
    return page_of(NewsItemPublic, rows)
