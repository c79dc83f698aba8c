"""ScanPulse's pure ranking: ticker metrics, filters, percentile scores, ties, weights, refinement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from trading import scanner
from trading.models import Candle, Market, Ticker
from trading.scanner import ScanCriteria, ScanWeights

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_ticker(
    symbol: str,
    *,
    last: str = "100",
    open: str | None = "100",
    high: str | None = "101",
    low: str | None = "99",
    bid: str | None = None,
    ask: str | None = None,
    quote_volume: str = "1000000",
) -> Ticker:
    """A ticker with a 1 bp spread around ``last`` unless bid and ask are given."""
    p = Decimal(last)
    return Ticker(
        symbol=symbol,
        ts=T0,
        last=p,
        bid=Decimal(bid) if bid is not None else p * Decimal("0.99995"),
        ask=Decimal(ask) if ask is not None else p * Decimal("1.00005"),
        open=Decimal(open) if open is not None else None,
        high=Decimal(high) if high is not None else None,
        low=Decimal(low) if low is not None else None,
        quote_volume=Decimal(quote_volume),
    )


def make_candles(closes: list[float]) -> list[Candle]:
    return [
        Candle(
            T0 + timedelta(days=i),
            Decimal(str(c)),
            Decimal(str(c)),
            Decimal(str(c)),
            Decimal(str(c)),
            Decimal(1),
        )
        for i, c in enumerate(closes)
    ]


def market(symbol: str) -> Market:
    base, quote = symbol.split("/")
    return Market(symbol, base, quote, Decimal("0.001"), Decimal("0.001"), Decimal("0.01"))


def only(**weights: float) -> ScanCriteria:
    """Criteria scoring only the given metrics."""
    zero = {"momentum": 0.0, "volatility": 0.0, "volume": 0.0, "spread": 0.0}
    return ScanCriteria(weights=ScanWeights(**(zero | weights)))


def ranked_symbols(report: scanner.ScanReport) -> list[str]:
    return [r.symbol for r in report.ranked]


def test_metrics_are_24h_change_range_volume_and_spread() -> None:
    m = scanner.metrics_of(
        make_ticker("A/USD", last="110", open="100", high="120", low="99", bid="109.9", ask="110.1")
    )
    assert m.momentum == pytest.approx(0.10)
    assert m.volatility == pytest.approx(21 / 110)
    assert m.spread_bps == pytest.approx(0.2 / 110 * 10_000)
    assert m.quote_volume == Decimal("1000000")
    unknown = scanner.metrics_of(make_ticker("B/USD", open=None, high=None, low=None, bid="0", ask="0"))
    assert unknown.momentum is None and unknown.volatility is None and unknown.spread_bps is None


def test_percentiles_are_mid_ranks_with_shared_ties_and_neutral_unknowns() -> None:
    assert scanner.percentiles([3.0, 1.0, 2.0]) == pytest.approx([5 / 6, 1 / 6, 3 / 6])
    assert scanner.percentiles([1.0, 1.0, 2.0, None]) == pytest.approx([1 / 3, 1 / 3, 5 / 6, 0.5])
    assert scanner.percentiles([7.0]) == [0.5]
    assert scanner.percentiles([]) == []


def test_momentum_only_ranks_by_24h_change() -> None:
    tickers = {
        "A/USD": make_ticker("A/USD", last="105"),
        "B/USD": make_ticker("B/USD", last="120"),
        "C/USD": make_ticker("C/USD", last="90"),
    }
    report = scanner.rank_tickers(tickers, only(momentum=1))
    assert ranked_symbols(report) == ["B/USD", "A/USD", "C/USD"]
    assert [r.rank for r in report.ranked] == [1, 2, 3]
    assert report.ranked[0].momentum == pytest.approx(0.2)
    # A negative weight turns the metric round: the biggest losers first.
    assert ranked_symbols(scanner.rank_tickers(tickers, only(momentum=-1))) == ["C/USD", "A/USD", "B/USD"]


def test_composite_is_the_weighted_sum_of_percentiles_with_spread_inverted() -> None:
    tickers = {  # A: best momentum, worst spread; B: worst momentum, tightest spread
        "A/USD": make_ticker("A/USD", last="110", bid="109", ask="111"),
        "B/USD": make_ticker("B/USD", last="100", bid="99.99", ask="100.01"),
    }
    report = scanner.rank_tickers(tickers, only(momentum=1, spread=3))
    assert ranked_symbols(report) == ["B/USD", "A/USD"]
    scores = {r.symbol: r.score for r in report.ranked}
    assert scores["B/USD"] == pytest.approx(1 * 0.25 + 3 * (1 - 0.25))
    assert scores["A/USD"] == pytest.approx(1 * 0.75 + 3 * (1 - 0.75))
    assert ranked_symbols(scanner.rank_tickers(tickers, only(momentum=3, spread=1))) == ["A/USD", "B/USD"]


def test_volume_and_volatility_weights() -> None:
    tickers = {
        "A/USD": make_ticker("A/USD", quote_volume="10", high="130", low="80"),
        "B/USD": make_ticker("B/USD", quote_volume="1000000000", high="100.5", low="99.5"),
    }
    assert ranked_symbols(scanner.rank_tickers(tickers, only(volume=1))) == ["B/USD", "A/USD"]
    assert ranked_symbols(scanner.rank_tickers(tickers, only(volatility=1))) == ["A/USD", "B/USD"]


def test_filters_report_each_dropped_symbol_with_its_reason() -> None:
    tickers = {
        "OK/USD": make_ticker("OK/USD"),
        "THIN/USD": make_ticker("THIN/USD", quote_volume="10"),
        "WIDE/USD": make_ticker("WIDE/USD", bid="95", ask="105"),
        "DEAD/USD": make_ticker("DEAD/USD", last="0", bid="0", ask="0"),
        "NOBOOK/USD": make_ticker("NOBOOK/USD", bid="0", ask="0"),
    }
    criteria = ScanCriteria(min_quote_volume=Decimal(1000), max_spread_bps=50)
    report = scanner.rank_tickers(tickers, criteria)
    assert ranked_symbols(report) == ["OK/USD"]
    reasons = {f.symbol: f.reason for f in report.filtered}
    assert reasons == {
        "THIN/USD": "low_volume",
        "WIDE/USD": "wide_spread",
        "DEAD/USD": "no_price",
        "NOBOOK/USD": "no_bid_ask",
    }
    wide = next(f for f in report.filtered if f.symbol == "WIDE/USD")
    assert "1000.00 bps above 50" in wide.detail
    # Without a spread limit a symbol without a book is ranked (its spread counts as neutral).
    assert "NOBOOK/USD" in ranked_symbols(scanner.rank_tickers(tickers, ScanCriteria()))


def test_equal_scores_are_ordered_by_symbol_whatever_the_input_order() -> None:
    names = ["D/USD", "B/USD", "A/USD", "C/USD"]
    tickers = {n: make_ticker(n) for n in names}
    report = scanner.rank_tickers(tickers, ScanCriteria())
    assert ranked_symbols(report) == sorted(names)
    assert len({r.score for r in report.ranked}) == 1
    backwards = scanner.rank_tickers(dict(reversed(list(tickers.items()))), ScanCriteria())
    assert backwards == report


def test_an_empty_universe_ranks_nothing() -> None:
    report = scanner.rank_tickers({}, ScanCriteria())
    assert report.ranked == [] and report.filtered == []
    assert scanner.pick(report, 5, held=["X/USD"]) == ["X/USD"]
    symbols, dropped = scanner.universe_of([], ScanCriteria(quote="USD"))
    assert symbols == [] and dropped == []


def test_universe_is_every_listed_symbol_of_the_quote_or_the_explicit_list() -> None:
    markets = [market(s) for s in ("BTC/USDT", "ETH/USDT", "ETH/BTC", "SOL/USDT")]
    symbols, dropped = scanner.universe_of(markets, ScanCriteria(quote="usdt"))
    assert symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT"] and dropped == []
    assert scanner.universe_of(markets, ScanCriteria())[0] == sorted(m.symbol for m in markets)
    symbols, dropped = scanner.universe_of(
        markets, ScanCriteria(quote="USDT", symbols=["SOL/USDT", "ETH/BTC", "NOPE/USDT"])
    )
    assert symbols == ["SOL/USDT"]
    assert {(f.symbol, f.reason) for f in dropped} == {("ETH/BTC", "other_quote"), ("NOPE/USDT", "unlisted")}


def test_refinement_reranks_the_head_from_bars_and_keeps_the_rest_behind() -> None:
    tickers = {  # by tickers: A > B > C > D
        "A/USD": make_ticker("A/USD", last="130"),
        "B/USD": make_ticker("B/USD", last="120"),
        "C/USD": make_ticker("C/USD", last="110"),
        "D/USD": make_ticker("D/USD", last="105"),
    }
    criteria = only(momentum=1).model_copy(update={"refine": 3, "lookback": 5})
    first = scanner.rank_tickers(tickers, criteria)
    assert ranked_symbols(first) == ["A/USD", "B/USD", "C/USD", "D/USD"]
    bars = {  # over the bars C rose most, A fell
        "A/USD": make_candles([100, 99, 98, 97, 96, 95]),
        "C/USD": make_candles([100, 105, 110, 115, 120, 125]),
    }
    refined = scanner.refine(first, bars, criteria, {"B/USD": "the venue refused"})
    assert ranked_symbols(refined) == ["C/USD", "A/USD", "D/USD"]
    assert [r.rank for r in refined.ranked] == [1, 2, 3]
    assert refined.ranked[0].refined and refined.ranked[0].bar_momentum == pytest.approx(0.25)
    assert not refined.ranked[2].refined and refined.ranked[2].score == first.ranked[3].score
    assert [(f.symbol, f.reason, f.detail) for f in refined.filtered] == [
        ("B/USD", "no_bars", "the venue refused")
    ]
    assert scanner.refine(first, {}, criteria.model_copy(update={"refine": 0})) == first


def test_pick_takes_the_top_n_then_every_held_symbol() -> None:
    tickers = {n: make_ticker(n, last=str(100 + i)) for i, n in enumerate(["A/USD", "B/USD", "C/USD"])}
    report = scanner.rank_tickers(tickers, only(momentum=1))
    assert scanner.pick(report, 2) == ["C/USD", "B/USD"]
    assert scanner.pick(report, 2, held=["Z/USD", "A/USD", "C/USD"]) == ["C/USD", "B/USD", "A/USD", "Z/USD"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"top": 0}, "greater than or equal to 1"),
        ({"min_quote_volume": "-1"}, "greater than or equal to 0"),
        ({"max_spread_bps": -5}, "greater than or equal to 0"),
        ({"symbols": []}, "at least 1 item"),
        ({"symbols": ["A/USD", "A/USD"]}, "must not repeat"),
        ({"weights": {"momentum": 0, "volatility": 0, "volume": 0, "spread": 0}}, "at least one weight"),
        ({"weights": {"momentum": True}}, "not true/false"),
        ({"quote": "US D"}, "should match pattern"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_criteria_are_refused_with_the_reason(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScanCriteria.model_validate(raw)


def test_legacy_rank_by_candles_still_works() -> None:
    ranked = scanner.rank({"A/USD": make_candles([1, 2, 3]), "B/USD": make_candles([3, 2, 1])})
    assert [(s.symbol, s.rank) for s in ranked] == [("A/USD", 1), ("B/USD", 2)]
