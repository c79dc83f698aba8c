"""``sma_cross``: long while the fast simple moving average is above the slow one, flat below."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
from pydantic import Field, model_validator

from asts.bars import Bars
from asts.indicators import sma
from asts.signal import Signal
from asts.strategy import MAX_SIZE, Int, Params, Strategy
from trading.backtest import BacktestConfig, BacktestResult, run_backtest, sma_table
from trading.backtest import Bars as Columns
from trading.rules import CODE_HOLD, CODE_LONG, sma_cross_codes

# A relative gap between the SMAs of this size (2%) or more gives full strength.
FULL_STRENGTH_GAP = 0.02


class SmaCrossParams(Params):
    """Fast and slow SMA lengths (bars) and the position size in base units."""

    fast: Int = Field(default=10, ge=1, le=10_000, description="Bars in the fast SMA.")
    slow: Int = Field(default=30, ge=1, le=10_000, description="Bars in the slow SMA; more than fast.")
    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE, description="Units held while long.")

    @model_validator(mode="after")
    def _slow_above_fast(self) -> SmaCrossParams:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        return self


def _fmt(x: float) -> str:
    return format(x, ".8g")


class SmaCross(Strategy):
    """Long while the fast SMA is above the slow SMA, flat while it is below."""

    name = "sma_cross"
    params_model = SmaCrossParams

    def warmup(self, p: SmaCrossParams) -> int:
        """Bars until the slow SMA exists."""
        return p.slow

    def signal(self, bars: Bars, p: SmaCrossParams) -> Signal:
        """Both SMAs over the window (cumulative sums), then the shared rule; strength grows with the gap."""
        fast, slow = sma(bars.close, p.fast), sma(bars.close, p.slow)
        with np.errstate(invalid="ignore"):
            gap = (fast - slow) / slow
        strength = np.abs(gap) / FULL_STRENGTH_GAP
        indicators = {"fast_sma": fast, "slow_sma": slow, "gap": gap}
        return Signal(sma_cross_codes(fast, slow), strength, indicators)

    def reason(self, bars: Bars, p: SmaCrossParams, signal: Signal) -> str:
        """Above or below, and since when within the window (or that the SMAs are equal)."""
        f, s = float(signal.indicators["fast_sma"][-1]), float(signal.indicators["slow_sma"][-1])
        code = int(signal.target[-1])
        if code == CODE_HOLD:
            return f"fast SMA {_fmt(f)} equals slow SMA {_fmt(s)}"
        above = code == CODE_LONG
        word = "above" if above else "below"
        diff = (signal.indicators["fast_sma"] - signal.indicators["slow_sma"])[p.slow - 1 :]
        same = diff > 0 if above else diff < 0
        run = int(np.argmin(same[::-1])) if not same.all() else len(same)
        if run == 1 and len(same) > 1:
            return f"fast SMA {_fmt(f)} crossed {word} slow SMA {_fmt(s)}"
        n = f"{run} bar" if run == 1 else f"{run} bars"
        since = n if run < len(same) else f"at least {n}"
        return f"fast SMA {_fmt(f)} {word} slow SMA {_fmt(s)} since {since}"


def grid(
    bars: Columns, pairs: Iterable[tuple[int, int]], cfg: BacktestConfig
) -> dict[tuple[int, int], BacktestResult]:
    """Backtest ``sma_cross`` for every (fast, slow) pair, computing each SMA once (the rule and
    the parameter checks are the strategy's own, so each result equals its single backtest)."""
    checked = []
    for f, s in pairs:
        p = SmaCross.parse_params({"fast": f, "slow": s})  # the live validation (InvalidInput)
        if not isinstance(p, SmaCrossParams):
            raise TypeError(f"sma_cross parses its params as {type(p).__name__}, not SmaCrossParams")
        checked.append((p.fast, p.slow))
    table = sma_table(bars.close, sorted({w for pair in checked for w in pair}))
    return {(f, s): run_backtest(bars, sma_cross_codes(table[f], table[s]), cfg) for f, s in checked}
