"""OHLCV bars from CSV as numpy arrays, validated row by row, and gap detection.

The header must name ``ts,open,high,low,close,volume`` (any order, any case; extra columns are
ignored). ``ts`` is ISO-8601 with ``Z`` or an offset, or epoch seconds or milliseconds (a number
of magnitude 1e11 or more is milliseconds: 1e11 seconds would be the year 5138). Every refusal is
a ``BarsCsvError`` (an ``InvalidInput``) naming the 1-based line, counting the header as line 1.

Gaps are measured against the median bar interval. Series with no bar on a Saturday or Sunday
(UTC), such as daily stock bars, are measured in weekday time: weekends are not gaps, but a
weekday holiday is reported as one missing bar. Series that trade at weekends at all (such as
hourly FX, which opens on Sunday evening) are measured in plain calendar time, so their weekend
closes are reported as gaps. Gaps are information, not errors, unless ``max_gap_ratio`` is given.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from trading.backtest import Bars, IntArray
from trading.errors import InvalidInput

HEADER = ("ts", "open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_NS = 86_400 * 10**9
_WEEK_NS = 7 * _DAY_NS
_FIRST_MONDAY_NS = 4 * _DAY_NS  # 1970-01-05 00:00 UTC
# Epoch numbers of this magnitude or more are milliseconds; from _EPOCH_MS_LIMIT on, refused.
_EPOCH_MS_FROM = Decimal(10**11)
_EPOCH_MS_LIMIT = Decimal(10**14)
_EPOCH_NUMBER_RE = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_INT64 = (-(2**63), 2**63 - 1)


class BarsCsvError(InvalidInput):
    """A bars CSV that cannot be used; ``line`` is the 1-based line at fault, None for the whole file."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source} line {line}: {reason}" if line is not None else f"{source}: {reason}")


class Gap(NamedTuple):
    """Bars missing between two consecutive bars (timestamps in nanoseconds)."""

    after_ts: int
    before_ts: int
    missing_bars: int


def load_bars_csv(
    source: str | Path, *, max_gap_ratio: float | None = None, weekdays: bool | None = None
) -> Bars:
    """Load and validate bars from a file (a ``Path``, or a ``str`` without a newline) or CSV text.

    With ``max_gap_ratio``, an interval longer than that many median intervals is refused too;
    ``weekdays`` forces weekday or calendar time for that check (default: detected, see module).
    """
    if isinstance(source, Path) or "\n" not in source:
        name = str(source)
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise BarsCsvError(name, None, "is not UTF-8 text") from None
        except OSError as e:
            raise BarsCsvError(name, None, f"cannot be read: {e.strerror or e}") from e
    else:
        name, text = "CSV text", source.removeprefix("\ufeff")
    bars, lines = _parse(name, text)
    if max_gap_ratio is not None:
        bad = _first_gap_over(bars.ts, max_gap_ratio, weekdays)
        if bad is not None:
            i, ratio = bad
            raise BarsCsvError(
                name,
                lines[i],
                f"gap of {ratio:.3g} median bar intervals after {_iso(int(bars.ts[i - 1]))}"
                f" (line {lines[i - 1]}) exceeds max_gap_ratio {max_gap_ratio:g}",
            )
    return bars


def _parse(name: str, text: str) -> tuple[Bars, list[int]]:
    """Rows to columns, with each bar's line number."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or all(not h.strip() for h in header):
        raise BarsCsvError(name, 1, f"is empty; expected the header {','.join(HEADER)}")
    cols = [h.strip().lower() for h in header]
    missing = [c for c in HEADER if c not in cols]
    if missing:
        raise BarsCsvError(name, 1, f"missing column(s) {', '.join(missing)} in the header")
    repeated = sorted({c for c in HEADER if cols.count(c) > 1})
    if repeated:
        raise BarsCsvError(name, 1, f"column(s) {', '.join(repeated)} appear more than once")
    at = {c: cols.index(c) for c in HEADER}
    ts: list[int] = []
    values: dict[str, list[float]] = {c: [] for c in HEADER[1:]}
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(cols):
            raise BarsCsvError(name, line, f"expected {len(cols)} fields, got {len(row)}")
        try:
            t = _parse_ts(row[at["ts"]])
            bar = {c: _parse_number(c, row[at[c]]) for c in HEADER[1:]}
            _check_bar(bar)
        except ValueError as e:
            raise BarsCsvError(name, line, str(e)) from None
        if ts and t <= ts[-1]:
            what = "duplicates" if t == ts[-1] else "is earlier than"
            raise BarsCsvError(
                name,
                line,
                f"timestamp {row[at['ts']].strip()} {what} the one on line {lines[-1]}; "
                "bars must be in strictly increasing time order",
            )
        ts.append(t)
        lines.append(line)
        for c in HEADER[1:]:
            values[c].append(bar[c])
    if not ts:
        raise BarsCsvError(name, None, "has a header but no bars")
    arrays = [np.array(values[c], dtype=np.float64) for c in HEADER[1:]]
    return Bars(np.array(ts, dtype=np.int64), *arrays), lines  # validated again as a whole


def _parse_number(column: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{column} {text.strip()!r} is not a number") from None
    if not np.isfinite(v):
        raise ValueError(f"{column} {text.strip()!r} is not a finite number")
    return v


def _check_bar(bar: dict[str, float]) -> None:
    for c in _PRICES:
        if bar[c] <= 0:
            raise ValueError(f"{c} {bar[c]:g} is not a positive price")
    if bar["high"] < bar["low"]:
        raise ValueError(f"high {bar['high']:g} is below low {bar['low']:g}")
    for c in ("open", "close"):
        if not bar["low"] <= bar[c] <= bar["high"]:
            raise ValueError(f"{c} {bar[c]:g} is outside [low {bar['low']:g}, high {bar['high']:g}]")
    if bar["volume"] < 0:
        raise ValueError(f"volume {bar['volume']:g} is negative")


def _parse_ts(text: str) -> int:
    """Nanoseconds since the epoch from ISO-8601 with a zone, or epoch seconds / milliseconds."""
    s = text.strip()
    if _EPOCH_NUMBER_RE.match(s):
        v = Decimal(s)
        if abs(v) >= _EPOCH_MS_LIMIT:
            raise ValueError(f"ts {s!r} is too large for epoch milliseconds; write seconds or milliseconds")
        ns = int(v * (10**6 if abs(v) >= _EPOCH_MS_FROM else 10**9))
    else:
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"ts {s!r} is neither ISO-8601 nor epoch seconds/milliseconds") from None
        if dt.tzinfo is None:
            raise ValueError(f"ts {s!r} has no zone; write UTC as e.g. 2020-01-31T00:00:00Z")
        ns = (dt - _EPOCH) // timedelta(microseconds=1) * 1000
    if not _INT64[0] <= ns <= _INT64[1]:
        raise ValueError(f"ts {s!r} is outside the years 1677..2262 that nanosecond times can hold")
    return ns


def _iso(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat().replace("+00:00", "Z")


def _is_weekend(ts: IntArray) -> npt.NDArray[np.bool_]:
    return ((ts - _FIRST_MONDAY_NS) // _DAY_NS) % 7 >= 5


def _weekday_time(ts: IntArray) -> IntArray:
    """Nanoseconds since the epoch with every Saturday and Sunday (UTC) cut out."""
    since = ts - _FIRST_MONDAY_NS
    weeks, into = np.divmod(since, _WEEK_NS)
    return ts - weeks * 2 * _DAY_NS - np.clip(into - 5 * _DAY_NS, 0, None)


def _intervals(ts: Sequence[int] | IntArray, weekdays: bool | None) -> tuple[IntArray, IntArray, float]:
    """The checked timestamps, their intervals (in weekday time where that applies) and the median."""
    t = np.asarray(ts, dtype=np.int64)
    if t.ndim != 1:
        raise InvalidInput("timestamps must be a one-dimensional sequence")
    d = np.diff(t)
    if np.any(d <= 0):
        raise InvalidInput("timestamps must be strictly increasing to look for gaps")
    if weekdays is None:
        weekdays = t.size > 0 and not bool(_is_weekend(t).any())
    if weekdays:
        d = np.diff(_weekday_time(t))
    return t, d, float(np.median(d)) if d.size else 0.0


def detect_gaps(
    ts: Sequence[int] | IntArray,
    *,
    weekdays: bool | None = None,
    min_missing: int = 1,
    max_gap_ratio: float | None = None,
    interval_ns: int | None = None,
) -> list[Gap]:
    """Intervals that skip at least ``min_missing`` bars of the median interval (see the module doc).

    ``missing_bars`` is the interval over the median, rounded, minus one. With ``max_gap_ratio``,
    an interval longer than that many medians raises ``InvalidInput`` instead. ``interval_ns``
    gives the bar interval to measure against instead of the median (a known timeframe).
    """
    t, d, med = _intervals(ts, weekdays)
    if max_gap_ratio is not None:
        bad = _first_gap_over(t, max_gap_ratio, weekdays)
        if bad is not None:
            i, ratio = bad
            raise InvalidInput(
                f"gap of {ratio:.3g} median bar intervals between {_iso(int(t[i - 1]))} and "
                f"{_iso(int(t[i]))} exceeds max_gap_ratio {max_gap_ratio:g}"
            )
    if not d.size:
        return []
    missing = np.rint(d / (med if interval_ns is None else float(interval_ns))).astype(np.int64) - 1
    return [
        Gap(int(t[i]), int(t[i + 1]), int(missing[i])) for i in np.flatnonzero(missing >= max(min_missing, 1))
    ]


def _first_gap_over(t: IntArray, max_gap_ratio: float, weekdays: bool | None) -> tuple[int, float] | None:
    """Index of the first bar after an interval over ``max_gap_ratio`` medians, with its ratio."""
    if not max_gap_ratio >= 1:
        raise InvalidInput(f"max_gap_ratio must be at least 1, got {max_gap_ratio!r}")
    _, d, med = _intervals(t, weekdays)
    over = np.flatnonzero(d > max_gap_ratio * med)
    return (int(over[0]) + 1, float(d[over[0]] / med)) if over.size else None
