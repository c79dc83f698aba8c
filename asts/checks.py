"""Look-ahead and recursion checks: proof, on a bundled series, that a strategy cannot see the future.

- Look-ahead: the signal computed on every prefix of the series (the bars up to ``t``) must
  equal, bar by bar, the signal computed on the whole series. A rule that peeks at a later
  bar, or normalises by a statistic of the whole series, differs somewhere.
- Recursion: the signal of bar ``t`` computed on the window of the declared warm-up alone
  (bars ``t - warmup + 1`` to ``t``, what the live cycle hands over) must equal the signal on
  the whole series. A warm-up shorter than what the rule reads, or an indicator whose memory
  reaches further back (an EMA seeded at the start), differs somewhere.

Targets must be equal; strengths may differ by float noise (``STRENGTH_TOLERANCE``). A
failure names the first bar where the two differ and by how much.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from asts.bars import Bars
from asts.signal import Signal
from asts.strategy import Strategy
from trading.rules import CODE_TARGETS

# Strength differences below this are float rounding (cumulative sums over other starts).
STRENGTH_TOLERANCE = 1e-6
# Bars checked after the warm-up (the series is cut to warm-up + this).
CHECKED_BARS = 240
SERIES_BARS = 2_400

Check = Literal["look-ahead", "recursion"]


@dataclass(frozen=True)
class CheckFailure:
    """Where a strategy's signal differs from itself, and by how much."""

    check: Check
    bar: int
    time: str
    whole: str
    part: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.check} check failed at bar {self.bar} ({self.time}): on the whole series {self.whole}, "
            f"{self.part}; {self.detail}"
        )


def check_series(n: int = SERIES_BARS, seed: int = 0, symbol: str = "") -> Bars:
    """The bundled series: ``n`` hourly bars of a deterministic random walk with trending and
    ranging stretches (an integer generator, so every machine and numpy version gets the same);
    another ``seed`` gives another walk over the same times (a strategy's peers)."""
    state = 20_261_202 + 7_919 * seed
    price, drift = 100.0, 0.0
    rows = []
    for i in range(n):
        if i % 150 == 0:  # a new regime: up, down or sideways
            state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
            drift = ((state >> 33) % 3 - 1) * 0.0015
        moves = []
        for _ in range(3):
            state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
            moves.append(((state >> 11) / 2**53 - 0.5) * 0.02)
        o = price
        c = o * (1.0 + drift + moves[0])
        hi = max(o, c) * (1.0 + abs(moves[1]) / 2)
        lo = min(o, c) * (1.0 - abs(moves[2]) / 2)
        rows.append((o, hi, lo, c, 1_000.0 * (1.0 + abs(moves[1]) * 50)))
        price = c
    a = np.array(rows)
    ts = 1_735_689_600 * 10**9 + np.arange(n, dtype=np.int64) * 3_600 * 10**9  # from 2025-01-01
    return Bars.from_arrays(
        ts=ts, open=a[:, 0], high=a[:, 1], low=a[:, 2], close=a[:, 3], volume=a[:, 4], symbol=symbol
    )


def with_peers(bars: Bars, strategy: type[Strategy]) -> Bars:
    """``bars`` with a bundled walk of its own for every peer the strategy declares."""
    if not strategy.peers or bars.peers:
        return bars
    peers = {sym: check_series(len(bars), seed=i + 1, symbol=sym) for i, sym in enumerate(strategy.peers)}
    return Bars(symbol=bars.symbol, columns=bars.columns, peers=peers)


def _describe(sig: Signal, i: int) -> str:
    return f"{CODE_TARGETS[int(sig.target[i])].value.upper()} (strength {float(sig.strength[i]):.6g})"


def _detail(whole: Signal, i: int, part: Signal, j: int) -> str:
    """How bar ``i`` of ``whole`` and bar ``j`` of ``part`` differ: strength and indicators."""
    diffs = [f"strength differs by {abs(float(whole.strength[i]) - float(part.strength[j])):.6g}"]
    for name, w in whole.indicators.items():
        p = part.indicators.get(name)
        if p is None:
            continue
        a, b = float(w[i]), float(p[j])
        if not (np.isnan(a) and np.isnan(b)) and not abs(a - b) <= 1e-9 * max(1.0, abs(a)):
            diffs.append(f"indicator {name!r} is {a:.8g} on the whole series, {b:.8g} here ({a - b:+.6g})")
    return "; ".join(diffs)


def _first_difference(whole: Signal, part: Signal) -> tuple[int, str] | None:
    """The first bar where ``part`` (the same bars as the start of ``whole``) differs from it."""
    n = len(part)
    wt, ws = whole.target[:n], whole.strength[:n]
    bad = (wt != part.target) | ~(np.abs(ws - part.strength) <= STRENGTH_TOLERANCE)
    if not bad.any():
        return None
    j = int(np.argmax(bad))
    return j, _detail(whole, j, part, j)


def run_checks(
    strategy: type[Strategy],
    params: BaseModel | None = None,
    bars: Bars | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> CheckFailure | None:
    """Both checks on the bundled series (or ``bars``); the first failure, or None when it passes."""
    p = params if params is not None else strategy.parse_params({})
    warm = strategy.warmup_of(p)
    series = bars if bars is not None else with_peers(check_series(), strategy)
    series = series.window(0, min(len(series), warm + CHECKED_BARS))
    n = len(series)
    whole = strategy.targets(series, p)
    again = strategy.targets(series, p)
    found = _first_difference(whole, again)
    if found is not None:
        bar, detail = found
        return CheckFailure(
            "look-ahead", bar, series.time(bar).isoformat(), _describe(whole, bar),
            f"{_describe(again, bar)} when asked again (the signal is not a function of its bars)", detail,
        )  # fmt: skip
    total = 2 * (n - warm + 1)
    for k, t in enumerate(range(warm - 1, n)):
        if progress is not None:
            progress(2 * k, total)
        prefix = strategy.targets(series.window(0, t + 1), p)
        found = _first_difference(whole, prefix)
        if found is not None:
            bar, detail = found
            return CheckFailure(
                "look-ahead", bar, series.time(bar).isoformat(), _describe(whole, bar),
                f"{_describe(prefix, bar)} on the bars up to bar {t} (it reads bars after those it decides)",
                detail,
            )  # fmt: skip
        window = strategy.targets(series.window(t - warm + 1, t + 1), p)
        same = (
            window.target[-1] == whole.target[t]
            and abs(float(window.strength[-1]) - float(whole.strength[t])) <= STRENGTH_TOLERANCE
        )
        if not same:
            return CheckFailure(
                "recursion", t, series.time(t).isoformat(), _describe(whole, t),
                f"{_describe(window, warm - 1)} on its warm-up window of {warm} bars alone "
                f"(it depends on bars before its declared warm-up)",
                _detail(whole, t, window, warm - 1),
            )  # fmt: skip
    if progress is not None:
        progress(total, total)
    return None
