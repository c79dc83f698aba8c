"""Performance figures of a backtest: returns, risk, drawdowns and trade statistics.

Definitions (``n`` bars, equity marked at each bar's close, ``cash`` the starting equity):

- Per-bar returns are simple returns of the equity, the first one against ``cash``; once the
  equity has fallen to zero or below, later returns count as 0 (nothing is left to lose).
- ``annual_return`` is the compound growth rate over ``n / bars_per_year`` years (-1 when the
  equity ended at or below zero); ``annual_volatility`` the sample standard deviation
  (``ddof=1``, 0.0 with fewer than two bars) of the returns times ``sqrt(bars_per_year)``.
- ``sharpe`` = mean return / its standard deviation, ``sortino`` = mean return / downside
  deviation (root mean square of the returns below zero, over all bars), both annualised
  with a zero risk-free rate; ``calmar`` = annual return / max drawdown.
- ``max_drawdown`` is the largest fall from a running peak (the peak includes ``cash``), as a
  positive fraction; ``max_drawdown_duration`` the longest run of bars spent below a peak.
- ``trades`` counts every trade, an open one included; ``win_rate`` (pnl > 0) and
  ``profit_factor`` (gross profit / gross loss) count closed trades only.
- ``exposure`` is the fraction of bars during which a position was held after the bar's
  open: from the entry bar up to the bar before a signal exit, or up to and including the
  bar of a stop, target or end exit (an open position: up to the last bar).
- ``buy_and_hold_return`` is ``close[-1] / close[0] - 1`` (no costs).

Edge cases: a ratio whose denominator is zero (no volatility, no downside, no drawdown, no
losing trade) is ``+inf`` when its numerator is positive and ``0.0`` otherwise; with no
closed trade ``win_rate`` is 0.0. No figure is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from trading.errors import InvalidInput
from trading.indicators import FloatArray

if TYPE_CHECKING:  # the engine imports this module; only annotations need its types
    from trading.backtest import BacktestConfig, Bars, Trade


@dataclass(frozen=True)
class Metrics:
    """A backtest's figures; see the module docstring for each definition and its edge cases."""

    final_equity: float
    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_duration: int
    trades: int
    win_rate: float
    profit_factor: float
    exposure: float
    commissions: float
    buy_and_hold_return: float


def ratio(num: float, den: float) -> float:
    """``num / den``; when ``den`` is not positive: +inf for a positive ``num``, else 0.0."""
    if den > 0:
        return num / den
    return math.inf if num > 0 else 0.0


def bar_returns(equity: FloatArray, cash: float) -> FloatArray:
    """Simple per-bar returns of ``equity``, the first against ``cash``; 0 after equity <= 0."""
    prev = np.concatenate(([cash], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prev > 0, equity / np.where(prev > 0, prev, 1.0) - 1.0, 0.0)


def drawdowns(equity: FloatArray, cash: float) -> tuple[float, int]:
    """Largest fall from a running peak (positive fraction) and the longest run of bars below a peak."""
    peak = np.maximum.accumulate(np.concatenate(([cash], equity)))[1:]
    depth = 1.0 - equity / peak  # peak >= cash > 0
    below = np.concatenate(([False], equity < peak, [False]))
    edges = np.flatnonzero(below[1:] != below[:-1])  # run starts and ends, alternating
    longest = int((edges[1::2] - edges[::2]).max()) if edges.size else 0
    return max(float(depth.max()), 0.0), longest


def _annual_return(growth: float, years: float) -> float:
    if growth <= 0:
        return -1.0
    try:
        return math.pow(growth, 1.0 / years) - 1.0
    except OverflowError:
        return math.inf


def _bar_index(ts: npt.NDArray[np.int64], times: Sequence[int], what: str) -> npt.NDArray[np.int64]:
    want = np.array(times, dtype=np.int64)
    idx = np.minimum(np.searchsorted(ts, want), ts.size - 1)
    if np.any(ts[idx] != want):
        raise InvalidInput(f"a trade's {what} time is not one of the bars' times")
    return idx


def _exposure(trades: Sequence[Trade], bars: Bars) -> float:
    if not trades:
        return 0.0
    ts = bars.ts
    entry = _bar_index(ts, [t.entry_ts for t in trades], "entry")
    last = int(ts[-1])  # an open trade is held to the last bar
    exit_ = _bar_index(ts, [last if t.exit_ts is None else t.exit_ts for t in trades], "exit")
    # A signal exit fills at its bar's open, so that bar is not held; a stop, target or end exit
    # happens within its bar (and an open trade is held through the last one), so it is.
    within = np.array([t.exit_reason != "signal" for t in trades], dtype=np.int64)
    return float(np.sum(exit_ - entry + within)) / ts.size


def compute_metrics(
    equity: FloatArray | Sequence[float], trades: Sequence[Trade], bars: Bars, cfg: BacktestConfig
) -> Metrics:
    """Every figure of :class:`Metrics` from an equity curve (one value per bar) and its trades."""
    eq = np.asarray(equity, dtype=np.float64)
    n = len(bars.close)
    if eq.ndim != 1 or eq.size != n:
        raise InvalidInput(f"equity must have one value per bar ({n}), got shape {eq.shape}")
    if not np.all(np.isfinite(eq)):
        raise InvalidInput("equity must be finite")
    cash, per_year = cfg.cash, cfg.bars_per_year
    r = bar_returns(eq, cash)
    mean = float(r.mean())
    vol = float(r.std(ddof=1)) * math.sqrt(per_year) if n >= 2 else 0.0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(per_year)
    annual = _annual_return(float(eq[-1]) / cash, n / per_year)
    max_dd, dd_bars = drawdowns(eq, cash)
    pnl = np.array([t.pnl for t in trades if t.exit_reason != "open"], dtype=np.float64)
    gross_profit, gross_loss = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    close = bars.close
    return Metrics(
        final_equity=float(eq[-1]),
        total_return=float(eq[-1]) / cash - 1.0,
        annual_return=annual,
        annual_volatility=vol,
        sharpe=ratio(mean * per_year, vol),
        sortino=ratio(mean * per_year, downside),
        calmar=ratio(annual, max_dd),
        max_drawdown=max_dd,
        max_drawdown_duration=dd_bars,
        trades=len(trades),
        win_rate=float(np.count_nonzero(pnl > 0)) / pnl.size if pnl.size else 0.0,
        profit_factor=ratio(gross_profit, gross_loss),
        exposure=_exposure(trades, bars),
        commissions=float(sum(t.commission for t in trades)),
        buy_and_hold_return=float(close[-1] / close[0]) - 1.0,
    )
