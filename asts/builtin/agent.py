"""``agent``: the analysis graph's strategy (technical and news analysts, optionally an LLM).

Its live decisions come from the graph in ``agents/``; its signal function is the technical
analyst alone, on the same trailing window the graph reads (what the agent decides with no
news and no model), so its backtest and look-ahead checks run on exactly that rule.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from pydantic import Field, model_validator

from asts.bars import Bars
from asts.signal import Signal
from asts.strategy import MAX_SIZE, Int, Num, Params, Strategy
from trading.analysts import NewsReport, combine, gate_confidence, technical_report
from trading.models import Target
from trading.strategies import TARGET_CODES

# The fewest bars the technical analyst reads (it reads 4 x slow when that is more).
MIN_WINDOW = 120


class AgentParams(Params):
    """What the analysts read, how the decision is taken, and the size."""

    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE, description="Units held at full size.")
    fast: Int = Field(default=10, ge=2, le=1_000, description="Bars in the fast SMA (trend).")
    slow: Int = Field(default=30, ge=3, le=1_000, description="Bars in the slow SMA; more than fast.")
    rsi_period: Int = Field(default=14, ge=2, le=1_000, description="Bars in the RSI (momentum).")
    news_lookback_h: Num = Field(default=72.0, gt=0, le=24 * 365, description="Hours of news read.")
    news_half_life_h: Num = Field(
        default=24.0, gt=0, le=24 * 365, description="Hours for news to fade by half."
    )
    news_weight: Num = Field(default=0.3, ge=0, le=1, description="Weight of the news score (0..1).")
    threshold: Num = Field(
        default=0.25, gt=0, le=1, description="Act when the combined score is beyond this."
    )
    min_confidence: Num = Field(default=0.55, ge=0, le=1, description="Below this confidence, hold.")
    use_llm: bool = Field(default=True, description="Ask the language model when one is configured.")
    debate_rounds: Int = Field(default=0, ge=0, le=5, description="Bull/bear rounds before the verdict.")
    analysts: dict[str, Num] = Field(
        default_factory=dict,
        description="Custom analysts to run (registered names) and their weights (0..1).",
        max_length=16,
    )

    @model_validator(mode="after")
    def _slow_above_fast(self) -> AgentParams:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        for name, w in self.analysts.items():
            if not 0 <= w <= 1:
                raise ValueError(f"analyst {name!r}: weight must be within 0..1, got {w:g}")
        return self


def window_of(p: AgentParams) -> int:
    """Bars the technical analyst reads."""
    return max(4 * p.slow, MIN_WINDOW)


class Agent(Strategy):
    """Technical and news analysts, optionally an LLM: the agent graph's strategy."""

    name = "agent"
    params_model = AgentParams

    def warmup(self, p: AgentParams) -> int:
        """The technical analyst's window."""
        return window_of(p)

    def signal(self, bars: Bars, p: AgentParams) -> Signal:
        """The technical rule on each bar's trailing window, threshold and confidence gate applied."""
        n, w = len(bars), window_of(p)
        codes = np.full(n, TARGET_CODES[Target.HOLD], dtype=np.int8)
        strength = np.zeros(n)
        close, volume = bars.close, bars.volume
        for t in range(w - 1, n):
            lo = t - w + 1
            tech = technical_report(
                close[lo : t + 1], volume[lo : t + 1], fast=p.fast, slow=p.slow, rsi_period=p.rsi_period
            )
            v = gate_confidence(
                combine(tech, NewsReport((), 0.0, "no news"), news_weight=0.0, threshold=p.threshold),
                p.min_confidence,
            )
            codes[t] = TARGET_CODES[v.target]
            strength[t] = v.confidence if v.call != "hold" else 0.0
        return Signal(codes, strength)
