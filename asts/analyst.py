"""Custom analysts for the agent strategy: a function from the analysis context to a report.

    from asts import AnalysisContext, Report, analyst

    @analyst("volume_surge")
    def volume_surge(ctx: AnalysisContext) -> Report:
        '''Buy pressure when the last bars trade far above their usual volume.'''
        ...
        return Report(score=0.4, confidence=0.7, rationale="volume x3 of normal on up bars")

The agent strategy's ``analysts`` parameter names which analysts run and their weights; each
sees the closed bars of the decision's window and the news published by then, nothing later.
A failing analyst is recorded with its error and the others decide without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from asts.bars import Bars
from trading.analysts import NewsRef as NewsItem

__all__ = ["AnalysisContext", "NewsItem", "Report", "analyst"]

ANALYST_MARK = "__asts_analyst__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AnalysisContext:
    """What an analyst may read: the symbol, the decision time, its closed bars, the news by then."""

    symbol: str
    as_of: datetime
    bars: Bars
    news: tuple[NewsItem, ...] = ()


class Report(BaseModel):
    """An analyst's view: a score from -1 (sell) to 1 (buy), how sure it is (0..1), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float = Field(ge=-1, le=1, allow_inf_nan=False)
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    rationale: str = Field(max_length=2_000)


def analyst(name: str, *, description: str = "") -> Callable[[F], F]:
    """Register a function as the analyst ``name`` (found when its file or package is loaded)."""

    def mark(fn: F) -> F:
        setattr(fn, ANALYST_MARK, {"name": name, "description": description})
        return fn

    return mark
