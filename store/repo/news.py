"""DataSpider's news items, stored once by content hash, and read as of a point in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import NewsItemRow, NewsSymbolRow
from store.repo._common import dialect_insert, fetch_all
from trading.errors import InvalidInput
from trading.news import NewsItem

# Rows per INSERT: 12 bound values each stays far below SQLite's variable limit.
_CHUNK = 200


def _aware(name: str, value: datetime) -> datetime:
    """``value`` if it is timezone-aware; otherwise a clear error (a naive time is ambiguous)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    return value


def _values(item: NewsItem, now: datetime) -> dict[str, Any]:
    return {
        "content_hash": item.content_hash,
        "source": item.source,
        "guid": item.guid,
        "url": item.url,
        "title": item.title,
        "summary": item.summary,
        "published_at": item.published_at,
        "ingested_at": now,
        "symbols": list(item.symbols),
        "sentiment": float(item.sentiment),
        "sentiment_method": item.sentiment_method,
    }


async def add_news_items(
    session: AsyncSession, *, items: Sequence[NewsItem], now: datetime
) -> tuple[int, int]:
    """Store the items not stored yet (by ``content_hash``) with their symbol rows; return (new, duplicates).

    An item repeated within ``items`` counts as a duplicate after its first occurrence.
    """
    _aware("now", now)
    unique: dict[str, NewsItem] = {}
    for item in items:
        _aware("published_at", item.published_at)
        unique.setdefault(item.content_hash, item)
    new = 0
    batch = list(unique.values())
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start : start + _CHUNK]
        stmt = (
            dialect_insert(session, NewsItemRow)
            .values([_values(i, now) for i in chunk])
            .on_conflict_do_nothing(index_elements=[NewsItemRow.content_hash])
            .returning(NewsItemRow.id, NewsItemRow.content_hash)
        )
        inserted = (await session.execute(stmt)).all()
        new += len(inserted)
        links = [
            {"news_id": news_id, "symbol": symbol, "published_at": unique[digest].published_at}
            for news_id, digest in inserted
            for symbol in dict.fromkeys(unique[digest].symbols)
        ]
        if links:
            await session.execute(
                dialect_insert(session, NewsSymbolRow).values(links).on_conflict_do_nothing()
            )
    return new, len(items) - new


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(NewsItemRow.published_at.desc(), NewsItemRow.id.desc())


async def news_as_of(
    session: AsyncSession,
    *,
    symbol: str,
    as_of: datetime,
    lookback: timedelta | None = None,
    limit: int = 20,
    known_by: datetime | None = None,
) -> list[NewsItemRow]:
    """Items about ``symbol`` published at or before ``as_of`` (and within ``lookback``), newest first.

    Never returns an item published after ``as_of``: the agents read news through this.
    With ``known_by``, only items already ingested then: a live decision, or its retry,
    sees what was known when it was taken, not a late-arriving item dated before it.
    """
    _aware("as_of", as_of)
    stmt = (
        select(NewsItemRow)
        .join(NewsSymbolRow, NewsSymbolRow.news_id == NewsItemRow.id)
        .where(
            NewsSymbolRow.symbol == symbol,
            NewsSymbolRow.published_at <= as_of,
            NewsItemRow.published_at <= as_of,
        )
    )
    if lookback is not None:
        stmt = stmt.where(NewsSymbolRow.published_at >= as_of - lookback)
    if known_by is not None:
        stmt = stmt.where(NewsItemRow.ingested_at <= _aware("known_by", known_by))
    return await fetch_all(session, _newest_first(stmt).limit(limit))


async def list_news(
    session: AsyncSession,
    *,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[NewsItemRow]:
    """Items, newest first, optionally about one symbol and published within [since, until] (a page)."""
    stmt = select(NewsItemRow)
    if symbol is not None:
        stmt = stmt.join(NewsSymbolRow, NewsSymbolRow.news_id == NewsItemRow.id).where(
            NewsSymbolRow.symbol == symbol
        )
    if since is not None:
        stmt = stmt.where(NewsItemRow.published_at >= _aware("since", since))
    if until is not None:
        stmt = stmt.where(NewsItemRow.published_at <= _aware("until", until))
    return await fetch_all(session, _newest_first(stmt).limit(limit).offset(offset))


async def get_news_items(session: AsyncSession, *, ids: Sequence[int]) -> list[NewsItemRow]:
    """The items with these ids, in the order given (unknown ids are left out)."""
    if not ids:
        return []
    rows = await fetch_all(session, select(NewsItemRow).where(NewsItemRow.id.in_(set(ids))))
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


async def stored_hashes(session: AsyncSession, *, hashes: Sequence[str]) -> set[str]:
    """Which of these content hashes are stored already."""
    found: set[str] = set()
    for i in range(0, len(hashes), _CHUNK):
        chunk = list(hashes[i : i + _CHUNK])
        rows = await session.execute(
            select(NewsItemRow.content_hash).where(NewsItemRow.content_hash.in_(chunk))
        )
        found.update(h for (h,) in rows)
    return found
