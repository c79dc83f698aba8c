"""Strategy sources the SDK tests write into strategy directories."""

# Long while the close is above the close n bars ago; a size in units.
MOMENTUM = '''
from decimal import Decimal

from asts import Bars, Field, Int, Params, Signal, Strategy, indicators


class MomentumParams(Params):
    """How far back the momentum looks, and the units held while long."""

    n: Int = Field(default=10, ge=1, le=500, description="bars of momentum")
    size: Decimal = Field(default=Decimal("1"), gt=0, description="units held while long")


class Momentum(Strategy):
    """Long while the close is above the close n bars ago, flat below."""

    name = "momentum"
    params_model = MomentumParams

    def warmup(self, p):
        return p.n + 1

    def signal(self, bars: Bars, p) -> Signal:
        before = indicators.shift(bars.close, p.n)
        return Signal.where(long=bars.close > before, flat=bars.close < before)
'''
