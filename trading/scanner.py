"""ScanPulse: rank a symbol universe by momentum, volatility, volume and spread.

Two rankings, both pure: ``rank`` orders a few symbols by momentum over their candles (a
strategy's fixed symbols), ``rank_tickers`` scores a whole universe from one batch of tickers
against each other, with filters, and ``refine`` re-scores its head from bars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from trading.errors import InvalidInput
from trading.models import Candle, Market, Ticker
from trading.timeframes import PATTERN as TIMEFRAME_PATTERN
from trading.timeframes import parse_timeframe

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


# --- Universe scan: rank many symbols from one batch of tickers ------------------------------
#
# Each metric is turned into a cross-sectional *percentile rank* among the symbols that pass the
# filters: p = (r - 0.5) / n, where r is the symbol's 1-based rank by that metric, ascending,
# averaged over ties (so tied values get the same p, and one symbol alone gets 0.5). A symbol
# whose metric is unknown gets the neutral 0.5. The composite score is
#
#     score = w_momentum * p(momentum) + w_volatility * p(volatility)
#           + w_volume * p(quote volume) + w_spread * (1 - p(spread))
#
# so a higher score is better, a tighter spread scores higher, and a negative weight turns a
# metric round (a negative momentum weight favours the biggest losers). Percentile ranks rather
# than z-scores: 24-hour returns and volumes of a crypto universe are heavy-tailed, and one
# symbol up 900% would squash every other z-score to about zero; ranks are bounded, ignore
# outliers' size and need no log transform of volumes. Equal scores are ordered by symbol.

FilterReason = Literal[
    "unlisted", "other_quote", "no_price", "low_volume", "no_bid_ask", "wide_spread", "no_bars"
]

_SCORE_DIGITS = 9  # scores are rounded so float noise cannot break a tie differently
_BPS = 10_000


def _finite(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


# The constraints come before the validator, so the JSON schema states them (minimum, maximum).
_Weight = Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False), BeforeValidator(_finite)]
_Symbols = Annotated[list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=5000)]
# The pattern is stated for the schema; the validator checks it with a reason naming the usual ones.
_Timeframe = Annotated[str, Field(max_length=8, json_schema_extra={"pattern": TIMEFRAME_PATTERN})]


class ScanWeights(BaseModel):
    """Weight of each metric's percentile rank in the composite score (signed; not all zero)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    momentum: _Weight = 1.0
    volatility: _Weight = 0.5
    volume: _Weight = 0.5
    spread: _Weight = 0.5

    @model_validator(mode="after")
    def _some_weight(self) -> ScanWeights:
        if not any((self.momentum, self.volatility, self.volume, self.spread)):
            raise ValueError("at least one weight must be non-zero")
        return self


class ScanCriteria(BaseModel):
    """Which symbols a scan looks at, which it drops, how it ranks them and how many it keeps.

    The universe is ``symbols`` when given, else every symbol the venue lists; ``quote`` keeps
    only those quoted in that currency. ``refine`` re-ranks the first K of the ticker ranking by
    momentum and volatility over ``lookback`` bars of ``timeframe`` (0: tickers only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    quote: Annotated[str, Field(max_length=20, pattern=r"^[A-Za-z0-9]{1,20}$")] | None = None
    symbols: _Symbols | None = None
    min_quote_volume: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(0)
    max_spread_bps: Annotated[float, Field(ge=0, allow_inf_nan=False), BeforeValidator(_finite)] | None = None
    top: Annotated[int, Field(ge=1, le=1000), BeforeValidator(_finite)] = 10
    weights: ScanWeights = Field(default_factory=ScanWeights)
    refine: Annotated[int, Field(ge=0, le=200), BeforeValidator(_finite)] = 0
    lookback: Annotated[int, Field(ge=2, le=1000), BeforeValidator(_finite)] = MOMENTUM_LOOKBACK
    timeframe: _Timeframe | None = None

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str | None) -> str | None:
        """A known timeframe ("1h"), or a reason naming the usual ones."""
        if v is None:
            return None
        try:
            return parse_timeframe(v).text
        except InvalidInput as e:
            raise ValueError(str(e)) from None

    @field_validator("quote")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v is not None else None

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out = [s.strip() for s in v]
        if any(not s for s in out):
            raise ValueError("symbols must not be blank")
        if len(set(out)) != len(out):
            raise ValueError("symbols must not repeat")
        return out


@dataclass(frozen=True, slots=True)
class TickerMetrics:
    """What the scan reads from one ticker; None where the venue did not say."""

    symbol: str
    last: Decimal
    momentum: float | None  # last / open(24h ago) - 1
    volatility: float | None  # (high - low) / last over 24 hours
    quote_volume: Decimal
    spread_bps: float | None  # (ask - bid) / mid, in basis points


@dataclass(frozen=True, slots=True)
class Ranked:
    """One symbol of a ranking; ``bar_*`` are set when the refinement re-scored it from bars."""

    rank: int
    symbol: str
    score: float
    last: Decimal
    momentum: float | None
    volatility: float | None
    quote_volume: Decimal
    spread_bps: float | None
    bar_momentum: float | None = None
    bar_volatility: float | None = None

    @property
    def refined(self) -> bool:
        """True when momentum and volatility in the score came from bars."""
        return self.bar_momentum is not None


@dataclass(frozen=True, slots=True)
class Filtered:
    """A symbol the scan dropped, and why."""

    symbol: str
    reason: FilterReason
    detail: str


@dataclass(frozen=True, slots=True)
class ScanReport:
    """A ranking (best first) and the symbols left out of it."""

    ranked: list[Ranked]
    filtered: list[Filtered]

    def top(self, n: int) -> list[Ranked]:
        """The best ``n``."""
        return self.ranked[:n]


def metrics_of(t: Ticker) -> TickerMetrics:
    """Momentum, volatility proxy, quote volume and spread of one ticker."""
    last = t.last
    momentum = float(last / t.open - 1) if t.open is not None and t.open > 0 and last > 0 else None
    volatility = (
        float((t.high - t.low) / last) if t.high is not None and t.low is not None and last > 0 else None
    )
    spread = None
    if t.bid > 0 and t.ask >= t.bid:
        spread = float((t.ask - t.bid) / ((t.ask + t.bid) / 2) * _BPS)
    return TickerMetrics(t.symbol, last, momentum, volatility, t.quote_volume, spread)


def universe_of(markets: Sequence[Market], criteria: ScanCriteria) -> tuple[list[str], list[Filtered]]:
    """The symbols a scan covers (sorted), and the explicitly asked ones it cannot (unlisted, other quote)."""
    listed = {m.symbol: m for m in markets}
    if criteria.symbols is None:
        return sorted(s for s, m in listed.items() if criteria.quote in (None, m.quote)), []
    keep: list[str] = []
    dropped: list[Filtered] = []
    for sym in criteria.symbols:
        m = listed.get(sym)
        if m is None:
            dropped.append(Filtered(sym, "unlisted", "the venue does not list it"))
        elif criteria.quote is not None and m.quote != criteria.quote:
            dropped.append(Filtered(sym, "other_quote", f"quoted in {m.quote}, not {criteria.quote}"))
        else:
            keep.append(sym)
    return sorted(keep), dropped


def screen(m: TickerMetrics, criteria: ScanCriteria) -> Filtered | None:
    """Why a symbol fails the filters (no price, volume below the minimum, spread too wide), or None."""
    if m.last <= 0:
        return Filtered(m.symbol, "no_price", "no last price")
    if m.quote_volume < criteria.min_quote_volume:
        return Filtered(
            m.symbol, "low_volume", f"24h quote volume {m.quote_volume} below {criteria.min_quote_volume}"
        )
    if criteria.max_spread_bps is not None:
        if m.spread_bps is None:
            return Filtered(m.symbol, "no_bid_ask", "no bid and ask to measure the spread")
        if m.spread_bps > criteria.max_spread_bps:
            return Filtered(
                m.symbol, "wide_spread", f"spread {m.spread_bps:.2f} bps above {criteria.max_spread_bps:g}"
            )
    return None


def percentiles(values: Sequence[float | None]) -> list[float]:
    """Mid-rank percentile of each value among the known ones, in (0, 1); ties share one; None is 0.5."""
    known = sorted((v, i) for i, v in enumerate(values) if v is not None)
    out = [0.5] * len(values)
    n = len(known)
    start = 0
    while start < n:
        end = start
        while end + 1 < n and known[end + 1][0] == known[start][0]:
            end += 1
        mid_rank = (start + end) / 2 + 1  # average 1-based rank of the tie group
        for _, i in known[start : end + 1]:
            out[i] = (mid_rank - 0.5) / n
        start = end + 1
    return out


def composite(
    momentum: Sequence[float | None],
    volatility: Sequence[float | None],
    volume: Sequence[float | None],
    spread: Sequence[float | None],
    weights: ScanWeights,
) -> list[float]:
    """The weighted sum of percentile ranks per symbol (spread inverted: tighter is better)."""
    pm, pv, pq, ps = (percentiles(x) for x in (momentum, volatility, volume, spread))
    return [
        round(
            weights.momentum * pm[i]
            + weights.volatility * pv[i]
            + weights.volume * pq[i]
            + weights.spread * (1 - ps[i]),
            _SCORE_DIGITS,
        )
        for i in range(len(pm))
    ]


def _ordered(rows: list[Ranked], first_rank: int = 1) -> list[Ranked]:
    rows = sorted(rows, key=lambda r: (-r.score, r.symbol))
    return [replace(r, rank=first_rank + i) for i, r in enumerate(rows)]


def rank_tickers(tickers: Mapping[str, Ticker], criteria: ScanCriteria) -> ScanReport:
    """Screen every ticker, score the survivors against each other and rank them, best first."""
    kept: list[TickerMetrics] = []
    filtered: list[Filtered] = []
    for sym in sorted(tickers):
        m = metrics_of(tickers[sym])
        why = screen(m, criteria)
        if why is None:
            kept.append(m)
        else:
            filtered.append(why)
    scores = composite(
        [m.momentum for m in kept],
        [m.volatility for m in kept],
        [float(m.quote_volume) for m in kept],
        [m.spread_bps for m in kept],
        criteria.weights,
    )
    rows = [
        Ranked(0, m.symbol, s, m.last, m.momentum, m.volatility, m.quote_volume, m.spread_bps)
        for m, s in zip(kept, scores, strict=True)
    ]
    return ScanReport(_ordered(rows), filtered)


def refine(
    report: ScanReport,
    bars: Mapping[str, Sequence[Candle]],
    criteria: ScanCriteria,
    missing: Mapping[str, str] | None = None,
) -> ScanReport:
    """Re-rank the first ``criteria.refine`` symbols with momentum and volatility from their bars.

    Their volume and spread stay the tickers'; they are scored against each other only, and stay
    ahead of the rest, whose order and scores are the tickers'. A candidate without bars is
    dropped, with the reason from ``missing`` when there is one.
    """
    k = criteria.refine
    if k == 0:
        return report
    head, tail = report.ranked[:k], report.ranked[k:]
    rescored: list[tuple[Ranked, ScanScore]] = []
    filtered = list(report.filtered)
    for r in head:
        candles = bars.get(r.symbol)
        if not candles:
            why = (missing or {}).get(r.symbol, "no bars to refine with")
            filtered.append(Filtered(r.symbol, "no_bars", why))
            continue
        rescored.append((r, score(r.symbol, candles, criteria.lookback)))
    scores = composite(
        [s.momentum for _, s in rescored],
        [s.volatility for _, s in rescored],
        [float(r.quote_volume) for r, _ in rescored],
        [r.spread_bps for r, _ in rescored],
        criteria.weights,
    )
    refined = [
        replace(r, score=sc, bar_momentum=s.momentum, bar_volatility=s.volatility)
        for (r, s), sc in zip(rescored, scores, strict=True)
    ]
    ranked = _ordered(refined)
    rest = [replace(r, rank=len(ranked) + i + 1) for i, r in enumerate(tail)]
    return ScanReport(ranked + rest, filtered)


def pick(report: ScanReport, top: int, held: Iterable[str] = ()) -> list[str]:
    """The best ``top`` symbols, then every held one not among them (sorted): what a cycle analyses."""
    chosen = [r.symbol for r in report.top(top)]
    return chosen + sorted(set(held) - set(chosen))
