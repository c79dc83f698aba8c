"""The ASTS strategy SDK: what a user's strategy (and analyst) imports.

    from asts import Strategy, Params, Bars, Signal, Target, Field, indicators

Everything here is the stable, public surface; the other top-level packages are internal.
"""

from asts import indicators
from asts.bars import Bars
from asts.signal import BarSignal, Signal, Target
from asts.strategy import Field, Int, Num, Params, Strategy

__all__ = ["BarSignal", "Bars", "Field", "Int", "Num", "Params", "Signal", "Strategy", "Target", "indicators"]
