"""News items on SQLite and PostgreSQL: stored once by content hash, read as of a time without look-ahead."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from store.models import NewsItemRow, NewsSymbolRow
from trading.errors import InvalidInput
from trading.news import NewsItem, content_hash

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2017, 6, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def news(title: str, *symbols: str, at: datetime = T0, summary: str = "", source: str = "feed") -> NewsItem:
    """A stored-ready item (its hash computed the way ingestion computes it)."""
    return NewsItem(
        source=source,
        guid=f"g-{title}",
        url="",
        title=title,
        summary=summary,
        published_at=at,
        symbols=symbols,
        sentiment=0.25,
        sentiment_method="lexicon",
        content_hash=content_hash(title, summary),
    )


async def count(session: AsyncSession, entity: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(entity)) or 0)


async def test_items_are_stored_once_by_content_hash_with_their_symbol_rows(sessions: Sessions) -> None:
    a = news("Microsoft beats", "MSFT/USD")
    b = news("Alphabet and Microsoft", "GOOGL/USD", "MSFT/USD", at=T0 + timedelta(hours=1))
    same_story_other_feed = news("MICROSOFT  beats", "MSFT/USD", source="other")
    async with sessions.begin() as s:
        assert await repo.add_news_items(s, items=[a, b, a, same_story_other_feed], now=NOW) == (2, 2)
    async with sessions.begin() as s:
        assert await repo.add_news_items(s, items=[b, news("Euro rises", "EUR/USD")], now=NOW) == (1, 1)
        assert await repo.add_news_items(s, items=[], now=NOW) == (0, 0)
    async with sessions() as s:
        assert await count(s, NewsItemRow) == 3
        assert await count(s, NewsSymbolRow) == 4
        rows = await repo.list_news(s)
        # Newest first; at the same time, the later insert first.
        assert [r.title for r in rows] == ["Alphabet and Microsoft", "Euro rises", "Microsoft beats"]
        first = next(r for r in rows if r.title == "Microsoft beats")
        assert (first.source, first.symbols, first.sentiment, first.ingested_at) == (
            "feed",
            ["MSFT/USD"],
            0.25,
            NOW,
        )
        assert first.published_at == T0 and first.content_hash == a.content_hash


async def test_an_item_about_nothing_is_listed_but_never_served_for_a_symbol(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        assert await repo.add_news_items(s, items=[news("Markets are quiet")], now=NOW) == (1, 0)
    async with sessions() as s:
        assert [r.title for r in await repo.list_news(s)] == ["Markets are quiet"]
        assert await repo.news_as_of(s, symbol="MSFT/USD", as_of=NOW) == []
        assert await count(s, NewsSymbolRow) == 0


async def test_news_as_of_never_returns_an_item_published_after_as_of(sessions: Sessions) -> None:
    rng = random.Random(3)
    symbols = ["MSFT/USD", "GOOGL/USD", "EUR/USD"]
    items = [
        news(f"story {i}", *rng.sample(symbols, rng.randint(1, 2)), at=T0 + timedelta(minutes=37 * i))
        for i in range(120)
    ]
    async with sessions.begin() as s:
        assert await repo.add_news_items(s, items=items, now=NOW) == (120, 0)
    probes = [T0 - timedelta(seconds=1), T0, *(it.published_at for it in items[::7])]
    probes += [it.published_at - timedelta(microseconds=1) for it in items[::11]]
    probes += [T0 + timedelta(minutes=rng.uniform(0, 37 * 130)) for _ in range(20)]
    async with sessions() as s:
        for as_of in probes:
            for symbol in symbols:
                for lookback in (None, timedelta(hours=6)):
                    got = await repo.news_as_of(s, symbol=symbol, as_of=as_of, lookback=lookback, limit=5)
                    expected = [
                        it.title
                        for it in sorted(items, key=lambda i: i.published_at, reverse=True)
                        if symbol in it.symbols
                        and it.published_at <= as_of
                        and (lookback is None or it.published_at >= as_of - lookback)
                    ][:5]
                    assert [r.title for r in got] == expected, (symbol, as_of, lookback)
                    assert all(r.published_at <= as_of for r in got)


async def test_as_of_is_inclusive_and_lookback_bounds_the_window(sessions: Sessions) -> None:
    items = [news(f"msft {h}", "MSFT/USD", at=T0 + timedelta(hours=h)) for h in range(5)]
    async with sessions.begin() as s:
        await repo.add_news_items(s, items=items, now=NOW)
    async with sessions() as s:
        at_3 = await repo.news_as_of(s, symbol="MSFT/USD", as_of=T0 + timedelta(hours=3))
        assert [r.title for r in at_3] == ["msft 3", "msft 2", "msft 1", "msft 0"]
        window = await repo.news_as_of(
            s, symbol="MSFT/USD", as_of=T0 + timedelta(hours=3), lookback=timedelta(hours=1)
        )
        assert [r.title for r in window] == ["msft 3", "msft 2"]
        assert len(await repo.news_as_of(s, symbol="MSFT/USD", as_of=NOW, limit=2)) == 2
        assert await repo.news_as_of(s, symbol="EUR/USD", as_of=NOW) == []
        with pytest.raises(InvalidInput, match="timezone-aware"):
            await repo.news_as_of(s, symbol="MSFT/USD", as_of=datetime(2017, 6, 1, 12))


async def test_a_live_reader_sees_only_what_had_been_ingested(sessions: Sessions) -> None:
    early, late = news("msft early", "MSFT/USD", at=T0), news("msft late arrival", "MSFT/USD", at=T0)
    async with sessions.begin() as s:
        await repo.add_news_items(s, items=[early], now=T0 + timedelta(hours=1))
        await repo.add_news_items(s, items=[late], now=T0 + timedelta(hours=5))
    async with sessions() as s:
        decided = T0 + timedelta(hours=2)
        live = await repo.news_as_of(s, symbol="MSFT/USD", as_of=decided, known_by=decided)
        assert [r.title for r in live] == ["msft early"]
        history = await repo.news_as_of(s, symbol="MSFT/USD", as_of=decided)
        assert sorted(r.title for r in history) == ["msft early", "msft late arrival"]


async def test_list_news_filters_by_symbol_and_time_newest_first(sessions: Sessions) -> None:
    items = [
        news("euro 0", "EUR/USD", at=T0),
        news("msft 1", "MSFT/USD", at=T0 + timedelta(days=1)),
        news("euro 2", "EUR/USD", "MSFT/USD", at=T0 + timedelta(days=2)),
        news("euro 3", "EUR/USD", at=T0 + timedelta(days=3)),
    ]
    async with sessions.begin() as s:
        await repo.add_news_items(s, items=items, now=NOW)
    async with sessions() as s:
        titles = [r.title for r in await repo.list_news(s)]
        assert titles == ["euro 3", "euro 2", "msft 1", "euro 0"]
        euro = await repo.list_news(s, symbol="EUR/USD", since=T0 + timedelta(days=1))
        assert [r.title for r in euro] == ["euro 3", "euro 2"]
        until = await repo.list_news(s, until=T0 + timedelta(days=2), limit=2)
        assert [r.title for r in until] == ["euro 2", "msft 1"]
        assert [r.title for r in await repo.list_news(s, symbol="MSFT/USD")] == ["euro 2", "msft 1"]
        with pytest.raises(InvalidInput):
            await repo.list_news(s, since=datetime(2017, 1, 1))


async def test_get_news_items_keeps_the_order_asked_for(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await repo.add_news_items(
            s, items=[news(f"n{i}", at=T0 + timedelta(hours=i)) for i in range(3)], now=NOW
        )
    async with sessions() as s:
        ids = {r.title: r.id for r in await repo.list_news(s)}
        got = await repo.get_news_items(s, ids=[ids["n2"], 999_999, ids["n0"], ids["n2"]])
        assert [r.title for r in got] == ["n2", "n0"]
        assert await repo.get_news_items(s, ids=[]) == []


async def test_naive_times_are_refused(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        with pytest.raises(InvalidInput):
            await repo.add_news_items(s, items=[news("x", at=datetime(2017, 1, 1))], now=NOW)
        with pytest.raises(InvalidInput):
            await repo.add_news_items(s, items=[news("x")], now=datetime(2026, 1, 1))


async def test_concurrent_writers_of_one_story_store_it_once(sessions: Sessions) -> None:
    async with sessions() as probe:
        if probe.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite admits one writer at a time; the race exists on PostgreSQL only")
    item = news("Euro rises", "EUR/USD")
    async with sessions.begin() as first:
        assert await repo.add_news_items(first, items=[item], now=NOW) == (1, 0)

        async def second_writer() -> tuple[int, int]:
            async with sessions.begin() as s:
                return await repo.add_news_items(s, items=[item], now=NOW)

        blocked = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        assert not blocked.done(), "the second insert waits for the first transaction"
    assert await asyncio.wait_for(blocked, timeout=10) == (0, 1)
    async with sessions() as s:
        assert await count(s, NewsItemRow) == 1 and await count(s, NewsSymbolRow) == 1
