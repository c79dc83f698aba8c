"""``rsi_reversion``: buy when the RSI is oversold, go flat when it is overbought."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from pydantic import Field, model_validator

from asts.bars import Bars
from asts.indicators import rsi
from asts.signal import Signal
from asts.strategy import MAX_SIZE, Int, Num, Params, Strategy
from trading.rules import CODE_FLAT, CODE_LONG, rsi_reversion_codes

# Wilder's smoothing remembers every bar since its seed, fading by (1 - 1/period) a bar: after
# this many periods what came before the window weighs e^-20 (about 2e-9), below any signal.
WARMUP_PERIODS = 20


class RsiReversionParams(Params):
    """RSI period, oversold and overbought levels, and the position size."""

    period: Int = Field(default=14, ge=2, le=1_000, description="Bars in the RSI (Wilder smoothing).")
    lower: Num = Field(default=30, gt=0, lt=100, description="Buy below this RSI (oversold).")
    upper: Num = Field(default=70, gt=0, lt=100, description="Go flat above this RSI (overbought).")
    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE, description="Units held while long.")

    @model_validator(mode="after")
    def _lower_below_upper(self) -> RsiReversionParams:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower:g}) must be less than upper ({self.upper:g})")
        return self


class RsiReversion(Strategy):
    """Buy when RSI is oversold (below ``lower``), go flat when overbought (above ``upper``)."""

    name = "rsi_reversion"
    params_model = RsiReversionParams

    def warmup(self, p: RsiReversionParams) -> int:
        """Enough bars for the RSI not to depend on where the window starts (see ``WARMUP_PERIODS``)."""
        return WARMUP_PERIODS * p.period + 1

    def signal(self, bars: Bars, p: RsiReversionParams) -> Signal:
        """The RSI series, then the shared rule; strength grows with the distance past the level."""
        r = rsi(bars.close, p.period)
        codes = rsi_reversion_codes(r, p.lower, p.upper)
        with np.errstate(invalid="ignore"):
            strength = np.where(
                codes == CODE_LONG,
                (p.lower - r) / p.lower,
                np.where(codes == CODE_FLAT, (r - p.upper) / (100.0 - p.upper), 0.0),
            )
        return Signal(codes, strength, {"rsi": r})

    def reason(self, bars: Bars, p: RsiReversionParams, signal: Signal) -> str:
        """Where the RSI stands against the two levels."""
        r, code = float(signal.indicators["rsi"][-1]), int(signal.target[-1])
        if code == CODE_LONG:
            return f"RSI {r:.1f} below {p.lower:g} (oversold)"
        if code == CODE_FLAT:
            return f"RSI {r:.1f} above {p.upper:g} (overbought)"
        return f"RSI {r:.1f} between {p.lower:g} and {p.upper:g}"
