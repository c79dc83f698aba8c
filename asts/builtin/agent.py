"""``agent``: the analysis graph's strategy (technical and news analysts, optionally an LLM).

Its live decisions come from the graph in ``agents/``; its signal function is the technical
analyst alone, on the same trailing window the graph reads (what the agent decides with no
news and no model), so its backtest and look-ahead checks run on exactly that rule.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from asts.analyst import AnalysisContext, NewsItem
from asts.bars import Bars
from asts.signal import Signal
from asts.strategy import MAX_SIZE, Int, Num, Params, Strategy
from trading.analysts import AnalystView, NewsReport, combine, gate_confidence, technical_report
from trading.models import Target
from trading.rules import TARGET_CODES

# The fewest bars the technical analyst reads (it reads 4 x slow when that is more).
MIN_WINDOW = 120


class AgentParams(Params):
    """What the analysts read, how the decision is taken, and the size."""

    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE, description="Units held at full size.")
    fast: Int = Field(default=10, ge=2, le=1_000, description="Bars in the fast SMA (trend).")
    slow: Int = Field(default=30, ge=3, le=1_000, description="Bars in the slow SMA; more than fast.")
    rsi_period: Int = Field(default=14, ge=2, le=1_000, description="Bars in the RSI (momentum).")
    news_lookback_h: Num = Field(default=72.0, gt=0, le=24 * 365 * 20, description="Hours of news read.")
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
        description="Custom analysts to run (registered names, see asts.analyst) and their weights (0..1).",
        max_length=16,
    )
    technical_weight: Num | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Weight of the technical analyst (default: what the news weight leaves); 0 leaves "
        "the decision to the news and custom analysts.",
    )

    @model_validator(mode="after")
    def _slow_above_fast(self) -> AgentParams:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        for name, w in self.analysts.items():
            if not 0 <= w <= 1:
                raise ValueError(f"analyst {name!r}: weight must be within 0..1, got {w:g}")
        if self.analysts:
            from asts.registry import current  # the registry loads this module: import it late

            for name in self.analysts:
                if name not in current().analysts:
                    known = ", ".join(sorted(current().analysts)) or "none loaded"
                    raise ValueError(f"unknown analyst {name!r} in analysts; known analysts: {known}")
        return self


def run_analysts(
    p: AgentParams, bars: Bars, as_of: datetime, news: tuple[NewsItem, ...]
) -> list[dict[str, Any]]:
    """Each custom analyst's report on this window (or its error), as the decision record lists them."""
    from asts.registry import current

    ctx = AnalysisContext(symbol=bars.symbol, as_of=as_of, bars=bars, news=news)
    out = []
    for name, weight in sorted(p.analysts.items()):
        started = time.perf_counter()
        record: dict[str, Any] = {"name": name, "weight": weight, "version": "", "error": ""}
        try:
            a = current().analyst(name)
            record["version"] = a.version
            report = a.run(ctx)
            record.update(score=report.score, confidence=report.confidence, rationale=report.rationale)
        except Exception as e:
            record.update(score=0.0, confidence=0.0, rationale="", error=f"{type(e).__name__}: {e}"[:500])
        record["ms"] = round((time.perf_counter() - started) * 1000, 3)
        out.append(record)
    return out


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
        """The analysts' rule (technical and custom analysts, no news, no model) on each bar's
        trailing window, threshold and confidence gate applied: the live decision without news."""
        n, w = len(bars), window_of(p)
        codes = np.full(n, TARGET_CODES[Target.HOLD], dtype=np.int8)
        strength = np.zeros(n)
        close, volume = bars.close, bars.volume
        no_news = NewsReport((), 0.0, "no news")
        for t in range(w - 1, n):
            lo = t - w + 1
            tech = technical_report(
                close[lo : t + 1], volume[lo : t + 1], fast=p.fast, slow=p.slow, rsi_period=p.rsi_period
            )
            others = run_analysts(p, bars.window(lo, t + 1), bars.time(t), ()) if p.analysts else []
            views = [
                AnalystView(r["name"], r["score"], r["confidence"], r["weight"])
                for r in others
                if not r["error"]
            ]
            v = gate_confidence(
                combine(
                    tech,
                    no_news,
                    news_weight=0.0,
                    threshold=p.threshold,
                    others=views,
                    technical_weight=p.technical_weight,
                ),
                p.min_confidence,
            )
            codes[t] = TARGET_CODES[v.target]
            strength[t] = v.confidence if v.call != "hold" else 0.0
        return Signal(codes, strength)
