"""The analysts' rules, pure: what may be seen at a time, the technical and news reports, and
the decision the agent takes from them when no language model answers.

No look-ahead: a bar is visible at ``as_of`` only once it has closed (its open time plus the
series' bar interval is at or before ``as_of``); a news item only once it was published. Every
accessor the agents use goes through :func:`closed_bars` or :func:`published_news`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from trading.errors import InvalidInput
from trading.indicators import FloatArray, rsi, sma, to_floats
from trading.models import Candle, Target

Call = Literal["buy", "sell", "hold"]

# A relative SMA gap of this size (2%) or more is a full-strength trend.
FULL_TREND_GAP = 0.02
# Weights of trend and momentum in the technical score.
TREND_WEIGHT = 0.6
MOMENTUM_WEIGHT = 0.4
# Recent volatility this many times the longer-run figure halves the technical confidence.
VOL_SPIKE = 2.0


def bar_interval(candles: Sequence[Candle]) -> timedelta | None:
    """The series' bar interval: the smallest positive gap between consecutive bars (None if unknown)."""
    gaps = [b.ts - a.ts for a, b in itertools.pairwise(candles) if b.ts > a.ts]
    return min(gaps) if gaps else None


def closed_bars(
    candles: Sequence[Candle], as_of: datetime, interval: timedelta | None = None
) -> list[Candle]:
    """The bars that had closed at ``as_of``, oldest first (a bar closes one interval after it opens)."""
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be timezone-aware")
    step = interval if interval is not None else (bar_interval(candles) or timedelta(0))
    return [c for c in candles if c.ts + step <= as_of]


@dataclass(frozen=True)
class NewsRef:
    """A news item as the agents see it: id, when, what, and its sentiment score (-1..1)."""

    id: int
    published_at: datetime
    title: str
    sentiment: float
    source: str = ""


def published_news(items: Sequence[NewsRef], as_of: datetime, lookback: timedelta | None) -> list[NewsRef]:
    """Items published at or before ``as_of`` (and within ``lookback`` of it), newest first."""
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be timezone-aware")
    floor = as_of - lookback if lookback is not None else None
    seen = [n for n in items if n.published_at <= as_of and (floor is None or n.published_at >= floor)]
    return sorted(seen, key=lambda n: (n.published_at, n.id), reverse=True)


def _clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


@dataclass(frozen=True)
class TechnicalReport:
    """Trend, momentum, volatility and volume read off the closed bars, and their combined score."""

    bars: int
    score: float  # -1 (sell) .. 1 (buy)
    confidence: float  # 0..1
    indicators: dict[str, float]
    summary: str
    warming_up: bool = False


def technical_report(
    closes: Sequence[float] | FloatArray,
    volumes: Sequence[float] | FloatArray | None = None,
    *,
    fast: int,
    slow: int,
    rsi_period: int,
) -> TechnicalReport:
    """Score the latest bar: trend (SMA gap), momentum (move over ``slow`` bars in volatility units
    and RSI), volatility (recent against longer-run) and volume (recent against longer-run)."""
    x = np.asarray(closes, dtype=np.float64)
    need = max(slow, rsi_period + 1) + 1
    if x.size < need:
        return TechnicalReport(x.size, 0.0, 0.0, {}, f"warming up: have {x.size} of {need} bars", True)
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise InvalidInput("closes must be positive finite prices")
    f, s = float(sma(x, fast)[-1]), float(sma(x, slow)[-1])
    gap = (f - s) / s
    trend = _clip(gap / FULL_TREND_GAP)
    rets = np.diff(np.log(x))
    vol_long = float(np.std(rets[-slow:]))
    vol_short = float(np.std(rets[-fast:])) if fast > 1 else vol_long
    move = float(np.log(x[-1] / x[-1 - slow]))
    z = move / (vol_long * math.sqrt(slow)) if vol_long > 0 else 0.0
    r = float(rsi(x, rsi_period)[-1])
    momentum = _clip(0.5 * _clip(z / 2.0) + 0.5 * (r - 50.0) / 50.0)
    score = _clip(TREND_WEIGHT * trend + MOMENTUM_WEIGHT * momentum)
    vol_ratio = vol_short / vol_long if vol_long > 0 else 1.0
    calm = 1.0 if vol_ratio <= 1.0 else max(0.5, 1.0 - 0.5 * (vol_ratio - 1.0) / (VOL_SPIKE - 1.0))
    indicators = {
        "fast_sma": f,
        "slow_sma": s,
        "trend": round(trend, 6),
        "rsi": round(r, 6),
        "move_z": round(z, 6),
        "momentum": round(momentum, 6),
        "volatility": round(vol_long, 8),
        "vol_ratio": round(vol_ratio, 6),
    }
    confirm = 1.0
    if volumes is not None:
        v = np.asarray(volumes, dtype=np.float64)
        base = float(np.mean(v[-slow:])) if v.size >= slow else 0.0
        ratio = float(np.mean(v[-fast:])) / base if base > 0 else 1.0
        indicators["volume_ratio"] = round(ratio, 6)
        confirm = 1.0 if ratio >= 1.0 else 0.75 + 0.25 * ratio  # thin volume: less conviction
    confidence = round(_clip(abs(score) * calm * confirm, 0.0, 1.0), 6)
    summary = (
        f"trend {trend:+.2f} (fast SMA {f:.6g} vs slow {s:.6g}), momentum {momentum:+.2f} "
        f"(RSI {r:.1f}, move {z:+.2f} sd), volatility x{vol_ratio:.2f} of normal"
        + (f", volume x{indicators['volume_ratio']:.2f} of normal" if "volume_ratio" in indicators else "")
    )
    return TechnicalReport(int(x.size), round(score, 6), confidence, indicators, summary)


def candles_report(candles: Sequence[Candle], *, fast: int, slow: int, rsi_period: int) -> TechnicalReport:
    """:func:`technical_report` over candles (closes and volumes)."""
    return technical_report(
        to_floats([c.close for c in candles]),
        to_floats([c.volume for c in candles]),
        fast=fast,
        slow=slow,
        rsi_period=rsi_period,
    )


@dataclass(frozen=True)
class NewsReport:
    """The news seen for one symbol and their recency-weighted sentiment."""

    items: tuple[NewsRef, ...]
    score: float  # -1..1, 0 with no news
    summary: str


def news_report(items: Sequence[NewsRef], *, as_of: datetime, half_life: timedelta) -> NewsReport:
    """Weight each item's sentiment by its age (halving every ``half_life``) and average."""
    seen = published_news(items, as_of, None)
    if not seen:
        return NewsReport((), 0.0, "no news")
    h = half_life.total_seconds()
    weights = [0.5 ** ((as_of - n.published_at).total_seconds() / h) if h > 0 else 1.0 for n in seen]
    total = sum(weights)
    score = sum(w * n.sentiment for w, n in zip(weights, seen, strict=True)) / total if total > 0 else 0.0
    pos = sum(1 for n in seen if n.sentiment > 0.05)
    neg = sum(1 for n in seen if n.sentiment < -0.05)
    summary = f"{len(seen)} item(s): {pos} positive, {neg} negative; weighted sentiment {score:+.2f}"
    return NewsReport(tuple(seen), round(_clip(score), 6), summary)


@dataclass(frozen=True)
class Verdict:
    """A proposal: buy, sell or hold, how sure (0..1), how much of the strategy's size (0..1), why."""

    call: Call
    confidence: float
    size: float
    rationale: str
    evidence: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0 and 0.0 <= self.size <= 1.0):
            raise InvalidInput("confidence and size must be within 0..1")

    @property
    def target(self) -> Target:
        """The position this proposal asks for (spot: sell means flat)."""
        return {"buy": Target.LONG, "sell": Target.FLAT, "hold": Target.HOLD}[self.call]


@dataclass(frozen=True)
class AnalystView:
    """A custom analyst's report as the decision weighs it."""

    name: str
    score: float  # -1..1
    confidence: float  # 0..1
    weight: float  # 0..1


def combine(
    tech: TechnicalReport,
    news: NewsReport,
    *,
    news_weight: float,
    threshold: float,
    others: Sequence[AnalystView] = (),
    technical_weight: float | None = None,
) -> Verdict:
    """The analysts' own decision: a weighted score against a threshold (news counts only if seen).

    Weights: technical ``technical_weight`` (default: what news leaves, ``1 - news_weight`` when
    there is news, else 1), news ``news_weight``,
    each custom analyst its own; the score is their weighted mean. With nothing left to weigh
    (every weight zero, or every analyst failed), the decision is a hold.
    """
    if tech.warming_up:
        return Verdict("hold", 1.0, 0.0, f"technical analyst {tech.summary}")
    w = news_weight if news.items else 0.0
    wt = (1.0 - w) if technical_weight is None else technical_weight
    parts = [(wt, tech.score, "technical", "technical")]
    if w:
        parts.append((w, news.score, "news", ""))
    parts += [(o.weight, o.score, o.name, f"analyst:{o.name}") for o in others]
    parts = [p for p in parts if p[0] > 0]
    total = sum(p[0] for p in parts)
    if total <= 0:
        return Verdict("hold", 1.0, 0.0, "no analyst left to decide: holding")
    score = sum(weight * value for weight, value, _, _ in parts) / total
    evidence = tuple(e for _, _, _, e in parts if e)
    if w:
        evidence += tuple(f"news:{n.id}" for n in news.items[:5])
    if not others and technical_weight is None:
        why = f"technical {tech.score:+.2f}" + (f", news {news.score:+.2f} (weight {w:g})" if w else "")
    else:
        why = ", ".join(f"{label} {value:+.2f} (weight {weight:g})" for weight, value, label, _ in parts)
    if abs(score) < threshold:
        conf = round(_clip(1.0 - abs(score) / threshold * 0.5, 0.0, 1.0), 4)
        return Verdict("hold", conf, 0.0, f"score {score:+.2f} within ±{threshold:g}: {why}", evidence)
    call: Call = "buy" if score > 0 else "sell"
    conf = round(_clip(0.5 + 0.5 * abs(score), 0.0, 1.0), 4)
    size = round(_clip(abs(score) / (2 * threshold), 0.0, 1.0), 4) if call == "buy" else 0.0
    return Verdict(call, conf, size, f"score {score:+.2f} beyond ±{threshold:g}: {why}", evidence)


def gate_confidence(v: Verdict, min_confidence: float) -> Verdict:
    """Below ``min_confidence`` a buy or sell becomes a hold (agents propose only when sure enough)."""
    if v.call == "hold" or v.confidence >= min_confidence:
        return v
    why = f"{v.call} at confidence {v.confidence:.2f} is below {min_confidence:g}; holding. {v.rationale}"
    return Verdict("hold", v.confidence, 0.0, why, v.evidence)
