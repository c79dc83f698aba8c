"""Backfill from the paper exchange into the store (SQLite and PostgreSQL), CSV import, stored series
replayed by the paper exchange, and backtests reading the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.deps import Deps
from activities.marketdata import MarketDataActivities, backfill, import_csv, store_bars
from activities.marketdata_contracts import BackfillInput, BackfillResult, DataStatusInput
from activities.opticore import load_bars
from activities.opticore_contracts import DataSpec, StoreSeries
from exchanges.data import DATA_DIR, SeriesSpec, bundled_series
from store import repo
from tests.exchanges.conftest import FakeClock, write_series
from trading.bars_csv import BarsCsvError
from trading.errors import InvalidInput

SYMBOL = "TEST/USD"
DAY0 = datetime(2020, 1, 1, tzinfo=UTC)  # write_series: daily bars from here, weekends included


def series_spec(path: Path) -> SeriesSpec:
    return SeriesSpec(SYMBOL, path, "TEST", "USD", Decimal(1), Decimal(1), Decimal("0.01"), timeframe="1d")


@pytest_asyncio.fixture(loop_scope="session")
async def paper(backend: tuple[Deps, str], tmp_path: Path) -> AsyncIterator[tuple[Deps, FakeClock, Path]]:
    """Deps on each database whose paper venue replays 40 synthetic daily bars, one per second of a
    fake clock, from bar 5: at first bar 5 is the venue's current (still forming) bar."""
    base, _ = backend
    clock = FakeClock()
    csv = write_series(tmp_path / "test.csv", n=40)
    deps = Deps(
        sessions=base.sessions,
        home=tmp_path / "venue",
        bars_per_second=1.0,
        exchange_options={"series": {SYMBOL: series_spec(csv)}, "start_bar": 5, "clock": clock},
    )
    await deps.exchange("paper").ohlcv(SYMBOL, 1)  # the venue's first open fixes its replay epoch
    yield deps, clock, csv
    await deps.close()


def inp(**kw: Any) -> BackfillInput:
    return BackfillInput(**{"exchange": "paper", "symbol": SYMBOL, "timeframe": "1d", "page": 3} | kw)


async def stored_times(deps: Deps) -> list[datetime]:
    async with deps.sessions() as s:
        return await repo.candle_times(s, exchange="paper", symbol=SYMBOL, timeframe="1d")


def day(i: int) -> datetime:
    return DAY0 + timedelta(days=i)


async def test_backfill_stores_closed_bars_and_resumes_without_duplicates(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, _ = paper
    first = await backfill(deps, inp())
    # Bars 0..4: bar 5 is the venue's current bar, still forming.
    assert await stored_times(deps) == [day(i) for i in range(5)]
    assert (first.new, first.duplicates, first.count, first.gap_count, first.failed) == (5, 0, 5, 0, False)
    assert (first.first, first.last) == (day(0), day(4))
    again = await backfill(deps, inp())
    assert (again.new, again.duplicates, again.count) == (0, 0, 5)
    clock.advance(10)  # the replay moves on ten bars: bar 15 is current
    later = await backfill(deps, inp())
    assert (later.new, later.duplicates, later.count) == (10, 0, 15)
    assert await stored_times(deps) == [day(i) for i in range(15)]


async def test_a_backfill_stopped_midway_resumes_where_the_store_ends(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, _ = paper
    clock.advance(25)  # bar 30 is current: 30 closed bars, 10 pages of 3
    pages: list[int] = []

    def crash_after_four_pages(r: BackfillResult) -> None:
        pages.append(r.new)
        if r.pages == 4:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        await backfill(deps, inp(), progress=crash_after_four_pages)
    assert pages == [3, 6, 9, 12]
    assert await stored_times(deps) == [day(i) for i in range(12)]  # every finished page is kept
    resumed = await backfill(deps, inp())
    assert (resumed.new, resumed.duplicates, resumed.count, resumed.gap_count) == (18, 0, 30, 0)
    assert resumed.pages == 6  # from bar 12 on, not from the start
    assert await stored_times(deps) == [day(i) for i in range(30)]


async def test_since_and_until_bound_the_backfill_and_an_earlier_since_fills_the_head(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, _ = paper
    clock.advance(25)
    window = await backfill(deps, inp(since=day(10), until=day(14)))
    assert (window.new, window.first, window.last) == (5, day(10), day(14))
    head = await backfill(deps, inp(since=day(3), until=day(14)))
    assert (head.new, head.duplicates) == (7, 0)
    assert await stored_times(deps) == [day(i) for i in range(3, 15)]
    rest = await backfill(deps, inp())  # no since: from the newest stored bar to the present
    assert (rest.new, rest.last) == (15, day(29))


async def test_bars_whose_interval_has_not_passed_are_not_stored(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, _ = paper
    clock.advance(25)
    # On 2020-01-10 at noon the bar of 01-10 is still open, though the venue's current bar is later.
    noon = datetime(2020, 1, 10, 12, tzinfo=UTC)
    result = await backfill(deps, inp(), clock=lambda: noon)
    assert result.last == day(8) and result.count == 9
    assert await stored_times(deps) == [day(i) for i in range(9)]


async def test_gaps_in_the_venue_data_are_detected_and_reported(
    paper: tuple[Deps, FakeClock, Path], tmp_path: Path
) -> None:
    deps, clock, csv = paper
    header, *rows = csv.read_text().splitlines()
    kept = [row for i, row in enumerate(rows) if i not in (3, 4, 5, 8)]
    csv.write_text("\n".join([header, *kept]) + "\n")
    await deps.close()  # the venue reads its series again when it next opens
    clock.advance(25)
    result = await backfill(deps, inp())
    assert (result.gap_count, result.missing) == (2, 4)
    assert [(g.after, g.before, g.missing) for g in result.gaps] == [
        (day(2), day(6), 3),
        (day(7), day(9), 1),
    ]
    async with deps.sessions() as s:
        gaps = await repo.candle_gaps(s, exchange="paper", symbol=SYMBOL, timeframe="1d")
    assert [g.missing for g in gaps] == [3, 1] and result.count == 30


async def test_a_venue_page_with_a_bar_off_the_timeframe_is_refused_whole(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, csv = paper
    lines = csv.read_text().splitlines()
    lines[1 + 7] = lines[1 + 7].replace("T00:00:00Z", "T12:00:00Z")  # bar 7 opens at noon
    csv.write_text("\n".join(lines) + "\n")
    await deps.close()
    clock.advance(10)
    with pytest.raises(InvalidInput, match="not a whole number of 1d bars after the one at 2020-01-01"):
        await backfill(deps, inp())
    assert await stored_times(deps) == [day(i) for i in range(6)]  # the pages before it only


async def test_the_activity_heartbeats_every_page_and_refuses_bad_input(
    paper: tuple[Deps, FakeClock, Path],
) -> None:
    deps, clock, _ = paper
    clock.advance(5)  # bar 10 current: 10 closed bars, 4 pages of 3
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    acts = MarketDataActivities(deps)
    result = await env.run(acts.backfill_candles, inp())
    assert result.new == 10
    assert [b["new"] for b in beats] == [3, 6, 9, 10]
    status = await ActivityEnvironment().run(acts.data_status, DataStatusInput(exchange="paper"))
    assert [(s.symbol, s.count, s.gap_count) for s in status.series] == [(SYMBOL, 10, 0)]
    # The paper venue replays this series in daily bars only: not retried.
    with pytest.raises(ApplicationError) as bad:
        await ActivityEnvironment().run(acts.backfill_candles, inp(timeframe="1h"))
    assert bad.value.type == "InvalidInput" and bad.value.non_retryable
    with pytest.raises(ApplicationError) as unknown:
        await ActivityEnvironment().run(acts.backfill_candles, inp(symbol="NOPE/USD"))
    assert unknown.value.type == "UnknownSymbol" and unknown.value.non_retryable


def bad_row_csv(tmp_path: Path) -> Path:
    lines = (DATA_DIR / "MSFT-USD-1d.csv").read_text().splitlines()[:50]
    lines[40] = lines[40].replace(",", ",x", 1)  # line 41: ts ok, open not a number
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_import_validates_everything_first_and_is_idempotent(
    backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, _ = backend
    key = {"exchange": "csv", "symbol": "MSFT/USD", "timeframe": "1d"}
    with pytest.raises(BarsCsvError) as bad:
        await import_csv(deps, path=bad_row_csv(tmp_path), **key)
    assert bad.value.line == 41 and str(bad.value).startswith("broken.csv line 41: open")
    async with deps.sessions() as s:
        assert await repo.count_candles(s, **key) == 0  # the 39 good rows before it were not stored
    path = DATA_DIR / "MSFT-USD-1d.csv"
    first = await import_csv(deps, path=path, **key)
    assert (first.bars, first.new, first.duplicates, first.count) == (3000, 3000, 0, 3000)
    assert first.source == "csv:MSFT-USD-1d.csv"
    # Daily stock bars: weekends are no gaps, exchange holidays (weekdays without a bar) are.
    assert first.first is not None and first.last is not None
    weekdays = int(np.busday_count(np.datetime64(first.first.date()), np.datetime64(first.last.date()) + 1))
    assert first.missing == weekdays - 3000 and 0 < first.gap_count <= first.missing
    again = await import_csv(deps, path=path, **key)
    assert (again.new, again.duplicates, again.count) == (0, 3000, 3000)
    with pytest.raises(InvalidInput, match="line 2: ts 2024-01-01T00:30:00Z is not the open of a 1h bar"):
        await import_csv(
            deps,
            text="ts,open,high,low,close,volume\n2024-01-01T00:30:00Z,1,1,1,1,1\n",
            exchange="csv",
            symbol="X/USD",
            timeframe="1h",
        )


async def test_the_paper_exchange_lists_and_replays_an_imported_series(
    backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, _ = backend
    text = (DATA_DIR / "EUR-USD-1h.csv").read_text()
    await import_csv(deps, text=text, name="fx.csv", exchange="paper", symbol="FX/USD", timeframe="1h")
    # The same symbol in another timeframe with fewer bars: the venue replays the longer series.
    head = "\n".join(text.splitlines()[:51]) + "\n"
    await import_csv(deps, text=head, exchange="paper", symbol="FX/USD", timeframe="1m")
    # Backfilled from the paper venue itself: a bundled symbol keeps its bundled series.
    await import_csv(deps, text=text, exchange="paper", symbol="EUR/USD", timeframe="1h")
    assert "FX/USD" not in {m.symbol for m in await deps.exchange("paper").markets()}  # before loading
    assert await deps.load_store_series() == ["FX/USD"]
    venue = deps.exchange("paper")
    markets = {m.symbol: m for m in await venue.markets()}
    assert set(bundled_series()) < set(markets) and "FX/USD" in markets
    fx = markets["FX/USD"]
    assert (fx.base, fx.quote, fx.price_step, fx.min_qty) == (
        "FX",
        "USD",
        Decimal("0.00001"),
        Decimal("0.0001"),
    )
    assert venue.timeframe("FX/USD") == "1h"  # type: ignore[attr-defined]
    bars = await venue.ohlcv("FX/USD", 5, timeframe="1h")
    assert len(bars) == 5 and bars[-1].ts.minute == 0
    csv_bars = {
        c.ts: c
        for c in SeriesSpec(
            "FX/USD", DATA_DIR / "EUR-USD-1h.csv", "FX", "USD", Decimal(1), Decimal(1), Decimal(1)
        ).candles()
    }
    assert all(csv_bars[b.ts] == b for b in bars)  # the stored bars, exactly
    eur = await venue.ohlcv("EUR/USD", 1)
    assert eur[0].ts.year == 2017  # still the bundled file's


async def test_a_backtest_reads_the_same_bars_from_the_store_as_from_the_csv(
    backend: tuple[Deps, str],
) -> None:
    deps, _ = backend
    path = DATA_DIR / "SPX-USD-1d.csv"
    await import_csv(deps, path=path, exchange="csv", symbol="SPX/USD", timeframe="1d")
    from_csv = load_bars(DataSpec(csv_path=str(path)))
    from_store = await store_bars(deps, StoreSeries(exchange="csv", symbol="SPX/USD", timeframe="1d"))
    for column in ("ts", "open", "high", "low", "close", "volume"):
        a, b = getattr(from_csv, column), getattr(from_store, column)
        assert a.dtype == b.dtype and np.array_equal(a, b), column
    window = await store_bars(
        deps,
        StoreSeries(
            exchange="csv",
            symbol="SPX/USD",
            timeframe="1d",
            start=datetime(2008, 1, 1),
            end=datetime(2008, 12, 31),
        ),
    )
    assert 240 < len(window.close) < 260
    with pytest.raises(InvalidInput, match="no stored 1d bars of SPX/USD from paper"):
        await store_bars(deps, StoreSeries(exchange="paper", symbol="SPX/USD", timeframe="1d"))
    with pytest.raises(ValueError, match="exactly one of symbol"):
        DataSpec(symbol="SPX/USD", store=StoreSeries(exchange="csv", symbol="SPX/USD", timeframe="1d"))
