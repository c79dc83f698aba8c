"""A bars CSV as exact candles of one timeframe, for the market-data store, validated whole first.

Parsing and validation are ``trading.bars_csv``'s (header, numbers, high/low enclosing open and
close, strictly increasing times; every refusal a ``BarsCsvError`` naming its line). This adds
what storing needs on top: prices as exact ``Decimal`` (read from the same cells), every bar's
open time aligned to the timeframe, and values that fit the store's ``NUMERIC(38, 18)``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from trading.bars_csv import HEADER, BarsCsvError, load_bars_csv
from trading.models import Candle
from trading.timeframes import Timeframe

# The store keeps at most 20 integer digits (NUMERIC(38, 18)).
_LIMIT = Decimal(10) ** 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_csv_text(path: Path) -> str:
    """A CSV file's text (UTF-8, a byte-order mark dropped); raises BarsCsvError naming the file."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BarsCsvError(path.name, None, "is not UTF-8 text") from None
    except OSError as e:
        raise BarsCsvError(path.name, None, f"cannot be read: {e.strerror or e}") from e


def parse_candles_csv(text: str, timeframe: Timeframe, *, name: str = "CSV text") -> list[Candle]:
    """Every bar of a ``ts,open,high,low,close,volume`` CSV, oldest first; nothing if any row is bad.

    Raises BarsCsvError (an InvalidInput) whose message starts with ``name`` and the line at fault.
    """
    text = text.removeprefix("\ufeff")
    try:
        # A newline makes bars_csv read the text itself, never a file of that name.
        bars = load_bars_csv(text if "\n" in text else text + "\n")
    except BarsCsvError as e:
        raise BarsCsvError(name, e.line, e.reason) from None
    reader = csv.reader(io.StringIO(text))
    cols = [h.strip().lower() for h in next(reader)]
    at = {c: cols.index(c) for c in HEADER}
    out: list[Candle] = []
    for row in reader:  # the rows bars_csv accepted, in the same order
        if not row or all(not c.strip() for c in row):
            continue
        line = reader.line_num
        ts = _EPOCH + timedelta(microseconds=int(bars.ts[len(out)]) // 1000)
        if not timeframe.is_aligned(ts):
            raise BarsCsvError(
                name,
                line,
                f"ts {row[at['ts']].strip()} is not the open of a {timeframe} bar "
                f"(the bar containing it opens at {_iso(timeframe.align(ts))})",
            )
        values = [Decimal(row[at[c]].strip()) for c in HEADER[1:]]
        for col, v in zip(HEADER[1:], values, strict=True):
            if abs(v) >= _LIMIT:
                too_big = f"{col} {row[at[col]].strip()} has more than 20 integer digits"
                raise BarsCsvError(name, line, too_big)
        out.append(Candle(ts, *values))
    return out


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")
