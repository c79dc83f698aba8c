"""Market data: closed OHLCV bars of (exchange, symbol, timeframe) series, each stored once by open time.

Writes are idempotent: a bar already stored is left alone (``INSERT ... ON CONFLICT DO NOTHING``),
or, with ``replace=True``, overwritten only where its values differ. Reads give ``trading.models.Candle``
oldest first. Gaps are computed on demand from the stored open times (``trading.timeframes.find_gaps``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CandleRow
from store.repo._common import dialect_insert
from trading.errors import InvalidInput
from trading.models import Candle
from trading.timeframes import Calendar, CandleGap, find_gaps, parse_timeframe

# Rows per INSERT: 11 bound values each stays far below SQLite's variable limit.
_CHUNK = 500
_PRICES = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """One stored series: its key, first and last open time, and how many bars it has."""

    exchange: str
    symbol: str
    timeframe: str
    first: datetime
    last: datetime
    count: int


class CandleWrites(NamedTuple):
    """What a write did: bars added, bars already stored (left as they were), bars overwritten."""

    new: int
    duplicates: int
    replaced: int


def _utc(value: datetime) -> datetime:
    """A time read back from the database as aware UTC (aggregates on SQLite may come back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidInput(f"{name} must be timezone-aware (UTC), got {value.isoformat()}")
    return value


def _series(exchange: str, symbol: str, timeframe: str) -> list[ColumnElement[bool]]:
    return [CandleRow.exchange == exchange, CandleRow.symbol == symbol, CandleRow.timeframe == timeframe]


async def add_candles(
    session: AsyncSession,
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    candles: Sequence[Candle],
    source: str,
    now: datetime,
    replace: bool = False,
) -> CandleWrites:
    """Store bars of one series; a bar repeated (in the store or in ``candles``) is stored once.

    With ``replace``, a stored bar whose values differ from the given one is overwritten
    (``source`` and ``ingested_at`` with it); otherwise stored bars are never changed.
    """
    parse_timeframe(timeframe)
    _aware("now", now)
    unique: dict[datetime, Candle] = {}
    for c in candles:
        _aware("ts", c.ts)
        unique.setdefault(c.ts, c)
    key = [CandleRow.exchange, CandleRow.symbol, CandleRow.timeframe, CandleRow.ts]
    batch = sorted(unique.values(), key=lambda c: c.ts)
    new = replaced = 0
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start : start + _CHUNK]
        rows = [
            {
                "exchange": exchange,
                "symbol": symbol,
                "timeframe": timeframe,
                "ts": c.ts,
                **{p: getattr(c, p) for p in _PRICES},
                "source": source,
                "ingested_at": now,
            }
            for c in chunk
        ]
        insert = dialect_insert(session, CandleRow).values(rows)
        if not replace:
            stmt: Any = insert.on_conflict_do_nothing(index_elements=key).returning(CandleRow.ts)
            new += len((await session.execute(stmt)).all())
            continue
        stored = {
            _utc(ts)
            for (ts,) in await session.execute(
                select(CandleRow.ts).where(
                    *_series(exchange, symbol, timeframe),
                    CandleRow.ts.between(chunk[0].ts, chunk[-1].ts),
                )
            )
        }
        excluded = insert.excluded
        stmt = insert.on_conflict_do_update(
            index_elements=key,
            set_={c: excluded[c] for c in (*_PRICES, "source", "ingested_at")},
            where=or_(*(getattr(CandleRow, p) != excluded[p] for p in _PRICES)),
        ).returning(CandleRow.ts)
        written = {_utc(ts) for (ts,) in (await session.execute(stmt)).all()}
        replaced += len(written & stored)
        new += len(written - stored)
    return CandleWrites(new=new, duplicates=len(candles) - new - replaced, replaced=replaced)


async def last_candle_ts(
    session: AsyncSession, *, exchange: str, symbol: str, timeframe: str
) -> datetime | None:
    """Open time of the newest stored bar of a series (None when it has none)."""
    found = (
        await session.execute(select(func.max(CandleRow.ts)).where(*_series(exchange, symbol, timeframe)))
    ).scalar_one_or_none()
    return None if found is None else _utc(found)


async def list_candles(
    session: AsyncSession,
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[Candle]:
    """Bars opening in [since, until], oldest first.

    With ``limit``: the first ``limit`` of them when ``since`` is given, else the last ``limit``.
    """
    stmt = select(CandleRow.ts, *(getattr(CandleRow, p) for p in _PRICES)).where(
        *_series(exchange, symbol, timeframe)
    )
    if _aware("since", since) is not None:
        stmt = stmt.where(CandleRow.ts >= since)
    if _aware("until", until) is not None:
        stmt = stmt.where(CandleRow.ts <= until)
    newest_first = limit is not None and since is None
    stmt = stmt.order_by(CandleRow.ts.desc() if newest_first else CandleRow.ts)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.execute(stmt)).all()
    out = [Candle(_utc(r[0]), *r[1:]) for r in rows]
    return out[::-1] if newest_first else out


async def candle_times(
    session: AsyncSession, *, exchange: str, symbol: str, timeframe: str
) -> list[datetime]:
    """Open times of every stored bar of a series, oldest first."""
    stmt = select(CandleRow.ts).where(*_series(exchange, symbol, timeframe)).order_by(CandleRow.ts)
    return [_utc(ts) for (ts,) in await session.execute(stmt)]


async def count_candles(session: AsyncSession, *, exchange: str, symbol: str, timeframe: str) -> int:
    """How many bars of a series are stored."""
    stmt = select(func.count()).select_from(CandleRow).where(*_series(exchange, symbol, timeframe))
    return int((await session.execute(stmt)).scalar_one())


async def list_candle_series(
    session: AsyncSession,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
) -> list[CandleSeries]:
    """Every stored series (optionally of one exchange, symbol or timeframe), sorted by key."""
    keys = (CandleRow.exchange, CandleRow.symbol, CandleRow.timeframe)
    stmt = select(*keys, func.min(CandleRow.ts), func.max(CandleRow.ts), func.count()).group_by(*keys)
    for col, value in zip(keys, (exchange, symbol, timeframe), strict=True):
        if value is not None:
            stmt = stmt.where(col == value)
    rows = (await session.execute(stmt.order_by(*keys))).all()
    return [
        CandleSeries(ex, sym, tf, _utc(first), _utc(last), int(n)) for ex, sym, tf, first, last, n in rows
    ]


async def candle_gaps(
    session: AsyncSession, *, exchange: str, symbol: str, timeframe: str, calendar: Calendar = "auto"
) -> list[CandleGap]:
    """Bars missing between the first and the last stored bar of a series, oldest gap first."""
    tf = parse_timeframe(timeframe)
    times = await candle_times(session, exchange=exchange, symbol=symbol, timeframe=timeframe)
    return find_gaps(times, tf, calendar)
