"""What the analysis graph reads and spends: as-of data views, the model, the budget, the call log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from agents.llm import CallLog, LlmCall, LlmClient
from asts.registry import StrategyType
from trading.analysts import NewsRef, bar_interval, closed_bars, published_news
from trading.models import Candle


class AsOfData:
    """The data of one symbol, readable only as of a time: nothing after it is ever returned.

    The loader already asked its sources for data up to ``as_of``; every read here filters
    again, so a source that returns too much (a venue's bar still forming, an item planted in
    the future) cannot leak into a decision.
    """

    def __init__(self, *, candles: Sequence[Candle], news: Sequence[NewsRef] = ()) -> None:
        self._candles = sorted(candles, key=lambda c: c.ts)
        self._interval = bar_interval(self._candles)
        self._news = list(news)

    @property
    def interval(self) -> timedelta | None:
        """The bar interval of the series (None with fewer than two bars)."""
        return self._interval

    def bars(self, as_of: datetime, limit: int) -> list[Candle]:
        """The last ``limit`` bars closed at ``as_of``, oldest first."""
        return closed_bars(self._candles, as_of, self._interval)[-limit:]

    def news(self, as_of: datetime, lookback: timedelta | None, limit: int = 20) -> list[NewsRef]:
        """Items published by ``as_of`` within ``lookback``, newest first."""
        return published_news(self._news, as_of, lookback)[:limit]


class BudgetSpent(Exception):
    """The strategy's LLM budget for the day is spent: no further call may be made."""


@dataclass
class Budget:
    """Tokens and cost left today (None: unlimited); shared by every decision of one step.

    A limited budget lets one call at a time through (:meth:`turn`): symbols analysed at
    once would otherwise all pass the check before any of them had spent anything.
    """

    tokens_left: int | None = None
    cost_left: Decimal | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def limited(self) -> bool:
        """Whether there is an allowance at all."""
        return self.tokens_left is not None or self.cost_left is not None

    def turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Hold this while checking and spending: one call at a time when the budget is limited."""
        return self._lock if self.limited else contextlib.nullcontext()

    @property
    def spent(self) -> bool:
        """True once either allowance is used up."""
        return (self.tokens_left is not None and self.tokens_left <= 0) or (
            self.cost_left is not None and self.cost_left <= 0
        )

    def charge(self, calls: Sequence[LlmCall]) -> None:
        """Take these calls' tokens and cost off what is left."""
        for c in calls:
            if self.tokens_left is not None:
                self.tokens_left -= c.tokens_in + c.tokens_out
            if self.cost_left is not None:
                self.cost_left -= c.cost


@dataclass
class AgentContext:
    """Runtime context of one graph run (not part of its state: not serialised, not hashed)."""

    data: AsOfData
    llm: LlmClient | None = None
    budget: Budget = field(default_factory=Budget)
    log: CallLog = field(default_factory=CallLog)
    # On the last attempt an unreachable model is not retried: the decision holds instead.
    final_attempt: bool = True
    # With the budget spent: hold (the strategy is about to halt) instead of the analysts' call.
    hold_when_spent: bool = False
    # time.monotonic() after which no model call may start (the step's own timeout is near).
    deadline: float | None = None
    # The strategy type deciding, at the code version its strategy runs (None: the loaded one).
    strategy: StrategyType | None = None
    # The other symbols' bars of the strategy's cycle (what ``bars.peer`` reads), as of the same time.
    peers: dict[str, list[Candle]] = field(default_factory=dict)
