"""The analysts' pure rules: what is visible at a time, the reports, and the decision without a model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.analysts import (
    NewsRef,
    NewsReport,
    TechnicalReport,
    Verdict,
    bar_interval,
    closed_bars,
    combine,
    gate_confidence,
    news_report,
    published_news,
    technical_report,
)
from trading.errors import InvalidInput
from trading.models import Candle, Target

T0 = datetime(2020, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def bars(n: int, gap: timedelta = H) -> list[Candle]:
    return [Candle(T0 + i * gap, *(Decimal(100 + i),) * 4, Decimal(1)) for i in range(n)]


def test_a_bar_is_visible_only_once_it_has_closed() -> None:
    b = bars(5)
    assert bar_interval(b) == H and bar_interval(b[:1]) is None
    assert closed_bars(b, T0 + 3 * H) == b[:3]  # bar 3 opens at 3h and is still forming
    assert closed_bars(b, T0 + 3 * H - timedelta(seconds=1)) == b[:2]
    assert closed_bars(b, T0) == []
    with pytest.raises(InvalidInput):
        closed_bars(b, datetime(2020, 1, 2))


def test_news_is_visible_once_published_and_within_the_lookback() -> None:
    items = [NewsRef(i, T0 + i * H, f"n{i}", 0.0) for i in range(5)]
    seen = published_news(items, T0 + 3 * H, None)
    assert [n.id for n in seen] == [3, 2, 1, 0]
    assert [n.id for n in published_news(items, T0 + 3 * H, 2 * H)] == [3, 2, 1]


def test_technical_report_reads_direction_and_bounds_its_scores() -> None:
    up = technical_report([100 + i for i in range(60)], [1.0] * 60, fast=5, slow=20, rsi_period=10)
    down = technical_report([200 - i for i in range(60)], None, fast=5, slow=20, rsi_period=10)
    assert up.score > 0.5 and down.score < -0.5
    assert 0 <= up.confidence <= 1 and up.indicators["volume_ratio"] == 1.0
    assert "volume_ratio" not in down.indicators
    short = technical_report([100.0] * 10, fast=5, slow=20, rsi_period=10)
    assert short.warming_up and short.score == 0.0
    with pytest.raises(InvalidInput):
        technical_report([100.0] * 59 + [-1.0], fast=5, slow=20, rsi_period=10)


def test_news_report_weights_recent_items_more() -> None:
    old = NewsRef(1, T0, "old bad", -1.0)
    new = NewsRef(2, T0 + 48 * H, "new good", 1.0)
    r = news_report([old, new], as_of=T0 + 48 * H, half_life=timedelta(hours=24))
    assert r.score == pytest.approx((1.0 - 0.25) / 1.25)
    assert news_report([], as_of=T0, half_life=H).summary == "no news"


def tech(score: float, warming: bool = False) -> TechnicalReport:
    return TechnicalReport(100, score, abs(score), {}, "t", warming)


def test_combine_and_the_confidence_gate() -> None:
    quiet = NewsReport((), 0.0, "no news")
    buy = combine(tech(0.6), quiet, news_weight=0.5, threshold=0.25)
    assert (
        buy.call == "buy" and buy.target is Target.LONG and buy.size == 1.0 and buy.evidence == ("technical",)
    )
    sell = combine(tech(-0.6), quiet, news_weight=0.5, threshold=0.25)
    assert sell.call == "sell" and sell.target is Target.FLAT and sell.size == 0.0
    held = combine(tech(0.1), quiet, news_weight=0.5, threshold=0.25)
    assert held.call == "hold" and held.target is Target.HOLD
    # Bad news outweighs a mild uptrend when it is weighted in.
    bad = NewsReport((NewsRef(7, T0, "bad", -1.0),), -1.0, "1 item")
    mixed = combine(tech(0.3), bad, news_weight=0.5, threshold=0.25)
    assert mixed.call == "sell" and "news:7" in mixed.evidence
    assert combine(tech(0.9, warming=True), quiet, news_weight=0.0, threshold=0.25).call == "hold"
    assert gate_confidence(Verdict("buy", 0.4, 1.0, "x"), 0.5).call == "hold"
    assert gate_confidence(Verdict("buy", 0.6, 1.0, "x"), 0.5).call == "buy"
    with pytest.raises(InvalidInput):
        Verdict("buy", 1.5, 0.0, "x")
