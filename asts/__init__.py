"""The ASTS strategy SDK: what a user's strategy (and analyst) imports.

    from asts import Strategy, Params, Bars, Signal, Target, Field, indicators
    from asts import analyst, AnalysisContext, Report   # custom analysts for the agent

Everything here is the stable, public surface; the other top-level packages are internal.
"""

from asts import indicators
from asts.analyst import AnalysisContext, NewsItem, Report, analyst
from asts.bars import Bars
from asts.signal import BarSignal, Signal, Target
from asts.strategy import Field, Int, Num, Params, Strategy
from trading.exits import Exits

__all__ = [
    "AnalysisContext",
    "BarSignal",
    "Bars",
    "Exits",
    "Field",
    "Int",
    "NewsItem",
    "Num",
    "Params",
    "Report",
    "Signal",
    "Strategy",
    "Target",
    "analyst",
    "indicators",
]
