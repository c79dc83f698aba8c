"""ScanPulse: rank a symbol universe by momentum, volatility and volume."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from trading.errors import InvalidInput
from trading.models import Candle

MOMENTUM_LOOKBACK = 20


@dataclass(frozen=True, slots=True)
class ScanScore:
    """How one symbol looks right now; ``rank`` 1 is the strongest momentum."""

    symbol: str
    last: Decimal
    momentum: float  # return over the lookback, as a fraction
    volatility: float  # standard deviation of log returns over the lookback
    volume: Decimal  # volume of the last bar
    rank: int


def score(symbol: str, candles: Sequence[Candle], lookback: int = MOMENTUM_LOOKBACK) -> ScanScore:
    """Momentum, volatility and volume of one symbol from its recent candles (rank unset)."""
    if not candles:
        raise InvalidInput(f"no candles for {symbol}")
    closes = [float(c.close) for c in candles[-(lookback + 1) :]]
    momentum = closes[-1] / closes[0] - 1 if len(closes) > 1 and closes[0] > 0 else 0.0
    rets = [math.log(b / a) for a, b in pairwise(closes) if a > 0 and b > 0]
    if len(rets) > 1:
        mean = sum(rets) / len(rets)
        volatility = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    else:
        volatility = 0.0
    return ScanScore(symbol, candles[-1].close, momentum, volatility, candles[-1].volume, 0)


def rank(universe: Mapping[str, Sequence[Candle]], lookback: int = MOMENTUM_LOOKBACK) -> list[ScanScore]:
    """Score every symbol and rank by momentum (ties broken by lower volatility, then symbol)."""
    scores = [score(sym, candles, lookback) for sym, candles in universe.items()]
    scores.sort(key=lambda s: (-s.momentum, s.volatility, s.symbol))
    return [
        ScanScore(s.symbol, s.last, s.momentum, s.volatility, s.volume, i + 1) for i, s in enumerate(scores)
    ]
