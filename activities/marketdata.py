"""Market data into the store: backfill from any venue, CSV import, and what is stored.

``backfill`` pages through ``Exchange.ohlcv(since=...)`` from the newest stored bar on, storing
each page in its own transaction, so a backfill stopped anywhere (a crash, a cancel, a timeout)
continues where the store ends. Only closed bars are stored: a bar whose interval has not passed
yet, or the venue's current bar (the paper exchange replays history, so its current bar is dated
in the past and only the venue knows it is still "forming"), is left for the next run.

The same functions serve the activities (with heartbeats), ``asts data download`` (no Temporal)
and the API's import.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.deps import Deps, translate_errors, utcnow
from activities.marketdata_contracts import (
    MAX_GAPS_LISTED,
    BackfillInput,
    BackfillResult,
    CalendarName,
    DataStatus,
    DataStatusInput,
    GapInfo,
    ImportResult,
    SeriesStatus,
)
from activities.opticore_contracts import StoreSeries
from exchanges.base import Exchange
from store import repo
from trading.backtest import Bars
from trading.candles_csv import parse_candles_csv
from trading.errors import InvalidInput
from trading.models import Candle
from trading.ohlcv_csv import read_csv_text
from trading.timeframes import Timeframe, parse_timeframe

# With nothing stored and no ``since``: from the venue's first bar.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
# Notes kept per result.
MAX_NOTES = 20

Progress = Callable[[BackfillResult], None]


def source_of(exchange: str) -> str:
    """How bars from a venue are labelled in the store: "paper", or "ccxt:<name>"."""
    return "paper" if exchange == "paper" else f"ccxt:{exchange}"


async def series_status(
    session: AsyncSession, *, exchange: str, symbol: str, timeframe: str, calendar: CalendarName = "auto"
) -> SeriesStatus:
    """A stored series' extent, size and gaps (all zero when nothing is stored)."""
    found = await repo.list_candle_series(session, exchange=exchange, symbol=symbol, timeframe=timeframe)
    gaps = await repo.candle_gaps(
        session, exchange=exchange, symbol=symbol, timeframe=timeframe, calendar=calendar
    )
    out = SeriesStatus(exchange=exchange, symbol=symbol, timeframe=timeframe)
    if found:
        out.first, out.last, out.count = found[0].first, found[0].last, found[0].count
    out.gap_count = len(gaps)
    out.missing = sum(g.missing for g in gaps)
    out.gaps = [GapInfo(after=g.after, before=g.before, missing=g.missing) for g in gaps[:MAX_GAPS_LISTED]]
    return out


async def data_status(session: AsyncSession, inp: DataStatusInput) -> DataStatus:
    """Every stored series matching ``inp``, with its gaps."""
    found = await repo.list_candle_series(
        session, exchange=inp.exchange, symbol=inp.symbol, timeframe=inp.timeframe
    )
    return DataStatus(
        series=[
            await series_status(
                session, exchange=f.exchange, symbol=f.symbol, timeframe=f.timeframe, calendar=inp.calendar
            )
            for f in found
        ]
    )


def _check_page(page: list[Candle], tf: Timeframe, exchange: str, ref: datetime | None) -> datetime | None:
    """A venue's page must be strictly increasing bars a whole number of intervals apart (from ``ref``,
    the first bar known: venues may open bars at another phase than ours, but never at two);
    corrupt data is refused. Returns the reference for the next page."""
    for prev, cur in pairwise(page):
        if cur.ts <= prev.ts:
            raise InvalidInput(f"{exchange} returned bars out of order ({cur.ts} after {prev.ts})")
    ref = ref or (page[0].ts if page else None)
    for c in page:
        if ref is not None and (c.ts - ref) % tf.interval:
            raise InvalidInput(
                f"{exchange} returned a bar at {c.ts.isoformat()}, not a whole number of {tf} bars "
                f"after the one at {ref.isoformat()}"
            )
    return ref


async def backfill(
    deps: Deps,
    inp: BackfillInput,
    *,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> BackfillResult:
    """Store the series' closed bars the store lacks after its newest bar (and before its first,
    when ``since`` is earlier); ``progress`` is called with the counts after every page."""
    tf = parse_timeframe(inp.timeframe)
    venue = deps.exchange(inp.exchange)
    ex, sym = inp.exchange, inp.symbol
    result = BackfillResult(exchange=ex, symbol=sym, timeframe=tf.text)
    async with deps.sessions() as s:
        stored = await repo.list_candle_series(s, exchange=ex, symbol=sym, timeframe=tf.text)
    now = clock()
    # The venue's current bar is still forming: it and everything after it wait for a later run.
    current = await venue.ohlcv(inp.symbol, 1, timeframe=tf.text)
    horizon = min(current[-1].ts if current else now, now)
    if inp.until is not None:
        horizon = min(horizon, inp.until + tf.interval)
    since = inp.since or (None if stored else BEGINNING)
    segments: list[tuple[datetime, datetime]] = []
    if stored and since is not None and since < stored[0].first:
        segments.append((since, min(stored[0].first, horizon)))  # before the first stored bar
    # Without stored bars, ``since`` is set (the request's, or BEGINNING).
    resume = stored[0].last + tf.interval if stored else (since or BEGINNING)
    segments.append((max(resume, since or resume), horizon))
    ref = stored[0].first if stored else None
    for start, end in segments:
        ref = await _fetch_range(deps, venue, inp, tf, (start, end), now, ref, result, progress)
    async with deps.sessions() as s:
        status = await series_status(s, exchange=ex, symbol=sym, timeframe=tf.text)
    result.first, result.last, result.count = status.first, status.last, status.count
    result.gap_count, result.missing, result.gaps = status.gap_count, status.missing, status.gaps
    result.notes = result.notes[:MAX_NOTES]
    return result


async def _fetch_range(
    deps: Deps,
    venue: Exchange,
    inp: BackfillInput,
    tf: Timeframe,
    window: tuple[datetime, datetime],
    now: datetime,
    ref: datetime | None,
    result: BackfillResult,
    progress: Progress | None,
) -> datetime | None:
    """Page through bars opening in the window [cursor, end), storing the closed ones page by page;
    return the phase reference (see ``_check_page``)."""
    cursor, end = window
    while cursor < end:
        page = await venue.ohlcv(inp.symbol, inp.page, timeframe=tf.text, since=cursor)
        result.pages += 1
        result.fetched += len(page)
        ref = _check_page(page, tf, inp.exchange, ref)
        keep = [c for c in page if cursor <= c.ts < end and tf.closed(c.ts, now)]
        if keep:
            async with deps.transaction() as s:
                wrote = await repo.add_candles(
                    s,
                    exchange=inp.exchange,
                    symbol=inp.symbol,
                    timeframe=tf.text,
                    candles=keep,
                    source=source_of(inp.exchange),
                    now=utcnow(),
                )
            result.new += wrote.new
            result.duplicates += wrote.duplicates
        if progress is not None:
            progress(result)
        if not page:
            result.notes.append(f"{inp.exchange} has no {tf} bars of {inp.symbol} from {cursor.isoformat()}")
            return ref
        nxt = page[-1].ts + tf.interval
        if nxt <= cursor:
            return ref  # the venue gave nothing newer: never loop on the same page
        cursor = nxt
    return ref


async def import_csv(
    deps: Deps,
    *,
    text: str | None = None,
    path: Path | None = None,
    name: str | None = None,
    exchange: str,
    symbol: str,
    timeframe: str,
    replace: bool = False,
    tz: str | None = None,
) -> ImportResult:
    """Validate a whole bars CSV (file or text), then store it in one transaction.

    Nothing is written when any row is bad: the BarsCsvError names the line. ``tz`` is the zone
    of times written without one (None: such times are refused). Importing the same bars again
    stores nothing new; with ``replace``, stored bars whose values differ are overwritten.
    """
    tf = parse_timeframe(timeframe)
    if (text is None) == (path is None):
        raise InvalidInput("give exactly one of text or path")
    label = name or (path.name if path is not None else "upload.csv")
    if path is not None:
        text = await asyncio.to_thread(read_csv_text, path, path.name)
    if text is None:  # cannot happen: exactly one of the two was given
        raise InvalidInput("give exactly one of text or path")
    candles = await asyncio.to_thread(parse_candles_csv, text, tf, name=label, tz=tz)
    source = f"csv:{label}"[:200]
    async with deps.transaction() as s:
        wrote = await repo.add_candles(
            s,
            exchange=exchange,
            symbol=symbol,
            timeframe=tf.text,
            candles=candles,
            source=source,
            now=utcnow(),
            replace=replace,
        )
    async with deps.sessions() as s:
        status = await series_status(s, exchange=exchange, symbol=symbol, timeframe=tf.text)
    return ImportResult(
        **status.model_dump(),
        source=source,
        bars=len(candles),
        new=wrote.new,
        duplicates=wrote.duplicates,
        replaced=wrote.replaced,
    )


# Store series recently read for backtests, keyed by what they asked and what the store held then.
_BARS_CACHE: OrderedDict[tuple[object, ...], Bars] = OrderedDict()
_BARS_CACHED = 8


async def store_bars(deps: Deps, spec: StoreSeries) -> Bars:
    """The stored bars a backtest names, as the engine's columns (cached while the series is unchanged)."""
    tf = parse_timeframe(spec.timeframe)
    ex, sym = spec.exchange, spec.symbol
    async with deps.sessions() as s:
        found = await repo.list_candle_series(s, exchange=ex, symbol=sym, timeframe=tf.text)
        if not found:
            raise InvalidInput(
                f"no stored {tf} bars of {spec.symbol} from {spec.exchange}; "
                "import or backfill them first (asts data import / backfill)"
            )
        stamp = (ex, sym, tf.text, spec.start, spec.end, found[0].count, found[0].last)
        if stamp in _BARS_CACHE:
            _BARS_CACHE.move_to_end(stamp)
            return _BARS_CACHE[stamp]
        candles = await repo.list_candles(
            s, exchange=ex, symbol=sym, timeframe=tf.text, since=spec.start, until=spec.end
        )
    if not candles:
        raise InvalidInput(
            f"no stored {tf} bars of {spec.symbol} from {spec.exchange} between "
            f"{spec.start or 'the first'} and {spec.end or 'the last'}"
        )
    bars = Bars.from_candles(candles)
    _BARS_CACHE[stamp] = bars
    while len(_BARS_CACHE) > _BARS_CACHED:
        _BARS_CACHE.popitem(last=False)
    return bars


class MarketDataActivities:
    """Backfill and status activities; a retried backfill resumes from the store."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="backfill_candles")
    @translate_errors
    async def backfill_candles(self, inp: BackfillInput) -> BackfillResult:
        """Bring one series up to date, heartbeating the counts after every page."""

        def beat(r: BackfillResult) -> None:
            activity.heartbeat({"pages": r.pages, "new": r.new, "duplicates": r.duplicates})

        result = await backfill(self.deps, inp, progress=beat)
        activity.logger.info(
            "series backfilled",
            extra={
                "exchange": inp.exchange,
                "symbol": inp.symbol,
                "timeframe": result.timeframe,
                "new": result.new,
                "gaps": result.gap_count,
            },
        )
        return result

    @activity.defn(name="data_status")
    @translate_errors
    async def data_status(self, inp: DataStatusInput) -> DataStatus:
        """Every stored series matching ``inp``, with its gaps."""
        async with self.deps.sessions() as s:
            return await data_status(s, inp)
