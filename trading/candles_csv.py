"""A bars CSV as exact candles of one timeframe, for the market-data store, validated whole first.

Reading and validation are ``trading.ohlcv_csv``'s, the one reader (header aliases, epoch or ISO
times, the ``tz`` for times without a zone; every refusal a ``BarsCsvError`` naming its line).
This adds what storing needs on top: every bar's open time aligned to the timeframe, and values
that fit the store's ``NUMERIC(38, 18)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trading.models import Candle
from trading.ohlcv_csv import VALUES, BarsCsvError, parse_ohlcv
from trading.timeframes import Timeframe

# The store keeps at most 20 integer digits (NUMERIC(38, 18)).
_LIMIT = Decimal(10) ** 20


def parse_candles_csv(
    text: str, timeframe: Timeframe, *, name: str = "CSV text", tz: str | None = None
) -> list[Candle]:
    """Every bar of an OHLCV CSV, oldest first; nothing if any row is bad.

    ``tz`` is the zone of times written without one. Raises BarsCsvError (an InvalidInput) whose
    message starts with ``name`` and the line at fault.
    """
    table = parse_ohlcv(text, name=name, tz=tz)
    candles = table.candles()
    for line, bar in zip(table.lines, candles, strict=True):
        if not timeframe.is_aligned(bar.ts):
            raise BarsCsvError(
                name,
                line,
                f"ts {_iso(bar.ts)} is not the open of a {timeframe} bar "
                f"(the bar containing it opens at {_iso(timeframe.align(bar.ts))})",
            )
        for col in VALUES:
            v = getattr(bar, col)
            if abs(v) >= _LIMIT:
                raise BarsCsvError(name, line, f"{col} {v} has more than 20 integer digits")
    return candles


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")
