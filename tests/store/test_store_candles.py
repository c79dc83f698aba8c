"""The candles repository on SQLite and PostgreSQL: idempotent writes, range reads, series, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from trading.errors import InvalidInput
from trading.models import Candle
from trading.timeframes import CandleGap

T0 = datetime(2024, 3, 2, tzinfo=UTC)  # a Saturday: the hourly series below is continuous
NOW = datetime(2024, 3, 10, tzinfo=UTC)
KEY = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h"}


def bar(i: int, close: str | None = None) -> Candle:
    """Hourly bar ``i`` after T0 with exact prices (more decimals than a float keeps)."""
    c = Decimal(close) if close is not None else Decimal("60000.123456789012345678") + i
    return Candle(T0 + timedelta(hours=i), c - 1, c + 2, c - 3, c, Decimal("1.5") * i)


async def add(
    sessions: async_sessionmaker[AsyncSession], bars: list[Candle], **kw: object
) -> repo.CandleWrites:
    async with sessions.begin() as s:
        return await repo.add_candles(s, **KEY, candles=bars, source="ccxt:binance", now=NOW, **kw)  # type: ignore[arg-type]


async def test_bars_round_trip_exactly_and_in_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    bars = [bar(i) for i in range(5)]
    assert await add(sessions, bars) == (5, 0, 0)
    async with sessions() as s:
        got = await repo.list_candles(s, **KEY)
    assert got == bars
    assert all(c.ts.tzinfo is not None and c.ts.utcoffset() == timedelta(0) for c in got)
    assert str(got[0].close) == "60000.123456789012345678"


async def test_writing_again_stores_each_bar_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await add(sessions, [bar(i) for i in range(3)]) == (3, 0, 0)
    # Overlapping batch, with a repeat inside it too.
    again = [bar(i) for i in range(1, 6)] + [bar(5)]
    assert await add(sessions, again) == (3, 3, 0)
    async with sessions() as s:
        assert await repo.count_candles(s, **KEY) == 6
        assert [c.ts for c in await repo.list_candles(s, **KEY)] == [bar(i).ts for i in range(6)]


async def test_stored_bars_are_kept_unless_replace_is_asked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add(sessions, [bar(0), bar(1)])
    changed = [bar(0), bar(1, close="1.5")]
    assert await add(sessions, changed) == (0, 2, 0)
    async with sessions() as s:
        assert (await repo.list_candles(s, **KEY))[1].close == bar(1).close
    # Replace overwrites only what differs; a new bar is still counted new.
    assert await add(sessions, [*changed, bar(2)], replace=True) == (1, 1, 1)
    async with sessions() as s:
        assert [c.close for c in await repo.list_candles(s, **KEY)] == [
            bar(0).close,
            Decimal("1.5"),
            bar(2).close,
        ]


async def test_series_are_kept_apart_and_listed(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, [bar(i) for i in range(4)])
    async with sessions.begin() as s:
        other = {**KEY, "timeframe": "1d"}
        await repo.add_candles(s, **other, candles=[bar(0)], source="csv:x.csv", now=NOW)
        await repo.add_candles(
            s, exchange="paper", symbol="X/USD", timeframe="1h", candles=[bar(7)], source="paper", now=NOW
        )
    async with sessions() as s:
        series = await repo.list_candle_series(s)
        assert [(x.exchange, x.symbol, x.timeframe, x.count) for x in series] == [
            ("binance", "BTC/USDT", "1d", 1),
            ("binance", "BTC/USDT", "1h", 4),
            ("paper", "X/USD", "1h", 1),
        ]
        assert (series[1].first, series[1].last) == (bar(0).ts, bar(3).ts)
        assert [x.symbol for x in await repo.list_candle_series(s, exchange="paper")] == ["X/USD"]
        assert await repo.last_candle_ts(s, **KEY) == bar(3).ts
        assert await repo.last_candle_ts(s, **{**KEY, "symbol": "ETH/USDT"}) is None


async def test_range_reads(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add(sessions, [bar(i) for i in range(10)])
    async with sessions() as s:
        window = await repo.list_candles(s, **KEY, since=bar(2).ts, until=bar(5).ts)
        assert [c.ts for c in window] == [bar(i).ts for i in (2, 3, 4, 5)]
        first = await repo.list_candles(s, **KEY, since=bar(2).ts, limit=3)
        assert [c.ts for c in first] == [bar(i).ts for i in (2, 3, 4)]
        last = await repo.list_candles(s, **KEY, limit=3)  # no since: the newest, oldest first
        assert [c.ts for c in last] == [bar(i).ts for i in (7, 8, 9)]
        with pytest.raises(InvalidInput, match="timezone-aware"):
            await repo.list_candles(s, **KEY, since=datetime(2024, 3, 2))


async def test_gaps_are_missing_bars_between_the_first_and_last(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add(sessions, [bar(i) for i in (0, 1, 2, 5, 6, 7, 11)])
    async with sessions() as s:
        gaps = await repo.candle_gaps(s, **KEY)
        assert await repo.candle_gaps(s, **{**KEY, "symbol": "NONE/USD"}) == []
    assert gaps == [CandleGap(bar(2).ts, bar(5).ts, 2), CandleGap(bar(7).ts, bar(11).ts, 3)]


async def test_naive_times_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    naive = Candle(datetime(2024, 3, 2), Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        await add(sessions, [naive])
