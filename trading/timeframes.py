"""Bar timeframes ("1m", "15m", "4h", "1d", "1w"): parsing, bar alignment, and gaps in a series.

A timeframe is a whole number of seconds, minutes, hours, days or weeks ("1M", a calendar month,
has no fixed length and is refused). Bars open on multiples of their interval counted from
1970-01-01 00:00 UTC, except weekly ones, which open on Mondays at 00:00 UTC (as ccxt venues
give them). A bar is closed once its interval has passed: ``open + interval <= now``.

Gaps are bars missing between two stored ones, measured in the timeframe's own interval. Series
of a day or shorter with no bar on a Saturday or Sunday (daily stock bars) are measured in
weekday time, so weekends are expected and not gaps (see ``trading.bars_csv.detect_gaps``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from trading.bars_csv import detect_gaps
from trading.errors import InvalidInput

COMMON = ("1m", "5m", "15m", "1h", "4h", "1d", "1w")
# What ``parse_timeframe`` accepts (around optional whitespace), for schemas to state.
PATTERN = r"^[1-9][0-9]{0,3}[smhdw]$"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_RE = re.compile(r"^([1-9][0-9]{0,3})([smhdw])$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)
_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)

Calendar = Literal["auto", "continuous", "weekdays"]


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A bar length, by its usual name ("4h") and as an interval."""

    text: str
    interval: timedelta

    def __str__(self) -> str:
        return self.text

    @property
    def _anchor(self) -> datetime:
        return _MONDAY if self.interval % timedelta(weeks=1) == timedelta(0) else _EPOCH

    def align(self, ts: datetime) -> datetime:
        """The open time of the bar that contains ``ts`` (timezone-aware)."""
        _aware(ts)
        anchor = self._anchor
        return anchor + (ts - anchor) // self.interval * self.interval

    def is_aligned(self, ts: datetime) -> bool:
        """Whether ``ts`` is the open time of a bar."""
        return self.align(ts) == ts

    def closed(self, ts: datetime, now: datetime) -> bool:
        """Whether the bar opening at ``ts`` has closed by ``now``."""
        return ts + self.interval <= now


def parse_timeframe(text: str) -> Timeframe:
    """A timeframe from its name; raises InvalidInput on anything else."""
    m = _RE.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        hint = " (calendar months have no fixed length)" if str(text).strip().endswith("M") else ""
        raise InvalidInput(
            f"timeframe {text!r} is not a number of s, m, h, d or w{hint}; e.g. {', '.join(COMMON)}"
        )
    n, unit = int(m.group(1)), m.group(2)
    return Timeframe(text=f"{n}{unit}", interval=timedelta(seconds=n * _UNITS[unit]))


class CandleGap(NamedTuple):
    """Bars missing between two consecutive stored bars (their open times)."""

    after: datetime
    before: datetime
    missing: int


def find_gaps(ts: Sequence[datetime], timeframe: Timeframe, calendar: Calendar = "auto") -> list[CandleGap]:
    """The gaps between consecutive open times ``ts`` (strictly increasing), oldest first.

    ``calendar``: "continuous" counts every bar of the clock; "weekdays" skips Saturdays and
    Sundays (UTC); "auto" uses weekdays for a series of a day or shorter that has no weekend bar.
    Timeframes longer than a day are always continuous.
    """
    if calendar not in ("auto", "continuous", "weekdays"):
        raise InvalidInput(f"calendar must be auto, continuous or weekdays, not {calendar!r}")
    if len(ts) < 2:
        return []
    weekdays: bool | None = None if calendar == "auto" else calendar == "weekdays"
    if timeframe.interval > _DAY:
        weekdays = False
    ns = [_ns(t) for t in ts]
    step = timeframe.interval // _US * 1000
    found = detect_gaps(ns, weekdays=weekdays, interval_ns=step)
    return [CandleGap(_at(g.after_ts), _at(g.before_ts), g.missing_bars) for g in found]


def _aware(ts: datetime) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidInput(f"time {ts.isoformat()} has no zone; bar times are UTC")


def _ns(ts: datetime) -> int:
    _aware(ts)
    return (ts - _EPOCH) // _US * 1000


def _at(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)
