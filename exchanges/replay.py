"""The paper exchange's replay clock: which historical bar is "now" at a given wall-clock time.

At ``now`` the replay has advanced ``tick = floor((now - epoch) * bars_per_second)`` bars (never
negative), the same for every series. For a series of ``n`` bars the current bar is
``start + tick % (n - start)`` with ``start = min(start_bar, n - 1)``: the replay walks to the
last bar, then wraps around to ``start`` again, so bar timestamps jump back once per lap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from trading.models import Candle, Side


@dataclass(frozen=True, slots=True)
class ReplayClock:
    """Maps wall-clock time to replay ticks and ticks to bar indices."""

    epoch: datetime
    bars_per_second: Fraction
    start_bar: int

    def tick(self, now: datetime) -> int:
        """Bars advanced since the epoch (0 before it)."""
        micros = (now - self.epoch) // timedelta(microseconds=1)
        return max(0, math.floor(micros * self.bars_per_second / 1_000_000))

    def tick_time(self, tick: int) -> datetime:
        """Wall-clock time at which ``tick`` became current."""
        return self.epoch + timedelta(microseconds=math.ceil(tick * 1_000_000 / self.bars_per_second))

    def bounds(self, n: int) -> tuple[int, int]:
        """First replayed index and bars per lap for a series of ``n`` bars."""
        start = min(self.start_bar, n - 1)
        return start, n - start

    def index(self, n: int, tick: int) -> int:
        """Index of the current bar of a series of ``n`` bars at ``tick``."""
        start, span = self.bounds(n)
        return start + tick % span

    def first_cross(
        self, bars: Sequence[Candle], side: Side, price: Decimal, created: int, tick: int
    ) -> int | None:
        """The first tick after ``created`` (up to ``tick``) whose bar trades through a limit ``price``."""
        start, span = self.bounds(len(bars))
        for t in range(created + 1, min(tick, created + span) + 1):
            bar = bars[start + t % span]
            if (bar.low <= price) if side is Side.BUY else (bar.high >= price):
                return t
        return None
