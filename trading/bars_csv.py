"""OHLCV bars from CSV as the backtester's numpy arrays, and gap detection.

Reading and validation are ``trading.ohlcv_csv``'s, the one reader (header aliases, epoch or ISO
times, the ``tz`` for times without a zone; every refusal a ``BarsCsvError`` naming the line).
This turns its exact values into ``Bars`` (float64 prices, int64 epoch-nanosecond times).

Gaps are measured against the median bar interval. Series with no bar on a Saturday or Sunday
(UTC), such as daily stock bars, are measured in weekday time: weekends are not gaps, but a
weekday holiday is reported as one missing bar. Series that trade at weekends at all (such as
hourly FX, which opens on Sunday evening) are measured in plain calendar time, so their weekend
closes are reported as gaps. Gaps are information, not errors, unless ``max_gap_ratio`` is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from trading.backtest import Bars, IntArray
from trading.errors import InvalidInput
from trading.ohlcv_csv import HEADER, VALUES, BarsCsvError, load_ohlcv

__all__ = ["HEADER", "BarsCsvError", "Gap", "detect_gaps", "load_bars_csv"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_NS = 86_400 * 10**9
_WEEK_NS = 7 * _DAY_NS
_FIRST_MONDAY_NS = 4 * _DAY_NS  # 1970-01-05 00:00 UTC


class Gap(NamedTuple):
    """Bars missing between two consecutive bars (timestamps in nanoseconds)."""

    after_ts: int
    before_ts: int
    missing_bars: int


def load_bars_csv(
    source: str | Path,
    *,
    max_gap_ratio: float | None = None,
    weekdays: bool | None = None,
    tz: str | None = None,
) -> Bars:
    """Load and validate bars from a file (a ``Path``, or a ``str`` without a newline) or CSV text.

    ``tz`` is the zone of times written without one (see ``trading.ohlcv_csv``). With
    ``max_gap_ratio``, an interval longer than that many median intervals is refused too;
    ``weekdays`` forces weekday or calendar time for that check (default: detected, see module).
    """
    table = load_ohlcv(source, tz=tz)
    floats = [np.array([float(v) for v in table.columns[c]], dtype=np.float64) for c in VALUES]
    bars = Bars(np.array(table.ts, dtype=np.int64), *floats)  # validated again as a whole
    if max_gap_ratio is not None:
        bad = _first_gap_over(bars.ts, max_gap_ratio, weekdays)
        if bad is not None:
            i, ratio = bad
            raise BarsCsvError(
                table.name,
                table.lines[i],
                f"gap of {ratio:.3g} median bar intervals after {_iso(int(bars.ts[i - 1]))}"
                f" (line {table.lines[i - 1]}) exceeds max_gap_ratio {max_gap_ratio:g}",
            )
    return bars


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
