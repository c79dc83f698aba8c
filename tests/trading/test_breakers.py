"""Each breaker at and just below its limit, arming, limits parsing, closed-trade results, aggregation."""

from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest

from trading.breakers import (
    BreakerLimits,
    BreakerReading,
    BreakerStats,
    aggregate,
    closed_trade_results,
    consecutive_losses,
    evaluate,
    tripped,
)
from trading.errors import InvalidInput


def make_stats(**overrides: Any) -> BreakerStats:
    fields: dict[str, Any] = {"daily_pnl": D("0"), "equity": D("10000"), "peak_equity": D("10000")}
    fields.update(overrides)
    return BreakerStats(**fields)


def only(limits: BreakerLimits, stats: BreakerStats) -> BreakerReading:
    (reading,) = evaluate(limits, stats)
    return reading


# --- limits -----------------------------------------------------------------------------------------


def test_defaults_are_all_off_and_halt() -> None:
    limits = BreakerLimits()
    assert not limits.enabled
    assert limits.action == "halt"
    assert (limits.min_orders, limits.min_calls) == (5, 20)
    assert evaluate(limits, make_stats(daily_pnl=D("-1e9"))) == []
    assert BreakerLimits.from_mapping(None) == limits


@pytest.mark.parametrize(
    "field, value",
    [
        ("daily_loss", "100"),
        ("max_drawdown", "0.1"),
        ("max_consecutive_losses", 3),
        ("max_rejection_rate", 0.5),
        ("max_error_rate", 0.5),
        ("max_gross_exposure", "10000"),
        ("max_leverage", "2"),
    ],
)
def test_any_limit_enables(field: str, value: Any) -> None:
    assert BreakerLimits.from_mapping({field: value}).enabled


def test_min_samples_alone_do_not_enable() -> None:
    assert not BreakerLimits.from_mapping({"min_orders": 1, "min_calls": 1, "action": "reduce"}).enabled


@pytest.mark.parametrize(
    "data, field",
    [
        ({"dialy_loss": "100"}, "dialy_loss"),
        ({"daily_loss": "-5"}, "daily_loss"),
        ({"daily_loss": "0"}, "daily_loss"),
        ({"daily_loss": "NaN"}, "daily_loss"),
        ({"max_drawdown": "1"}, "max_drawdown"),
        ({"max_drawdown": 1.5}, "max_drawdown"),
        ({"max_drawdown": 0}, "max_drawdown"),
        ({"max_consecutive_losses": 0}, "max_consecutive_losses"),
        ({"max_consecutive_losses": True}, "max_consecutive_losses"),
        ({"max_rejection_rate": 1.01}, "max_rejection_rate"),
        ({"max_error_rate": 0}, "max_error_rate"),
        ({"max_error_rate": "nan"}, "max_error_rate"),
        ({"min_orders": 0}, "min_orders"),
        ({"action": "panic"}, "action"),
    ],
)
def test_from_mapping_rejects_bad_input_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        BreakerLimits.from_mapping(data)


def test_from_mapping_rejects_non_object() -> None:
    with pytest.raises(InvalidInput, match="object"):
        BreakerLimits.from_mapping(["daily_loss"])  # type: ignore[arg-type]


def test_to_mapping_round_trips_and_omits_unset() -> None:
    limits = BreakerLimits.from_mapping(
        {"daily_loss": "5000.50", "max_drawdown": 0.1, "max_error_rate": 0.25, "action": "reduce"}
    )
    data = limits.to_mapping()
    assert data == {
        "daily_loss": "5000.50",
        "max_drawdown": "0.1",
        "max_error_rate": 0.25,
        "min_orders": 5,
        "min_calls": 20,
        "action": "reduce",
    }
    assert BreakerLimits.from_mapping(data) == limits
    assert BreakerLimits.from_mapping(BreakerLimits().to_mapping()) == BreakerLimits()


# --- each breaker at and just below its limit ---------------------------------------------------------


def test_daily_loss_trips_at_the_limit_not_below() -> None:
    limits = BreakerLimits(daily_loss=D("5000"))
    below = only(limits, make_stats(daily_pnl=D("-4999.99")))
    assert not below.tripped and below.headroom == D("0.01") and below.value == D("4999.99")
    at = only(limits, make_stats(daily_pnl=D("-5000")))
    assert at.tripped and at.headroom == 0
    over = only(limits, make_stats(daily_pnl=D("-5230.10")))
    assert over.tripped and over.headroom == D("-230.10")
    assert over.describe() == "daily loss 5230.10 reached the limit 5000"


def test_daily_gain_counts_as_zero_loss() -> None:
    reading = only(BreakerLimits(daily_loss=D("100")), make_stats(daily_pnl=D("250")))
    assert reading.value == 0 and reading.headroom == D("100") and not reading.tripped
    assert reading.describe() == "daily loss 0 is within the limit 100"


def test_drawdown_trips_at_the_limit_not_below() -> None:
    limits = BreakerLimits(max_drawdown=D("0.1"))
    below = only(limits, make_stats(equity=D("9001"), peak_equity=D("10000")))
    assert not below.tripped and below.headroom == D("0.0001")
    at = only(limits, make_stats(equity=D("9000"), peak_equity=D("10000")))
    assert at.name == "max_drawdown" and at.tripped and at.headroom == 0
    over = only(limits, make_stats(equity=D("8800"), peak_equity=D("10000")))
    assert over.tripped and over.headroom < 0
    assert over.describe() == "drawdown 12.0% from peak reached the limit 10.0%"


def test_drawdown_is_not_armed_without_a_positive_peak() -> None:
    reading = only(BreakerLimits(max_drawdown=D("0.1")), make_stats(equity=D("-5"), peak_equity=D("0")))
    assert not reading.armed and not reading.tripped
    assert "not armed" in reading.describe()


def test_consecutive_losses_trip_at_the_limit_not_below() -> None:
    limits = BreakerLimits(max_consecutive_losses=5)
    below = only(limits, make_stats(consecutive_losses=4))
    assert not below.tripped and below.headroom == 1
    at = only(limits, make_stats(consecutive_losses=5))
    assert at.tripped and at.headroom == 0
    assert at.describe() == "5 consecutive losing trades reached the limit 5"


def test_rejection_rate_trips_at_the_limit_not_below() -> None:
    limits = BreakerLimits(max_rejection_rate=0.5)
    below = only(limits, make_stats(orders=10, rejections=4))
    assert not below.tripped and below.headroom == D("0.1")
    at = only(limits, make_stats(orders=10, rejections=5))
    assert at.tripped and at.headroom == 0
    over = only(limits, make_stats(orders=10, rejections=6))
    assert over.tripped and over.headroom == D("-0.1")
    assert over.describe() == "rejection rate 60% over 10 orders reached the limit 50%"


def test_rejection_rate_waits_for_min_orders() -> None:
    limits = BreakerLimits(max_rejection_rate=0.5, min_orders=5)
    early = only(limits, make_stats(orders=4, rejections=4))
    assert not early.armed and not early.tripped
    assert early.headroom == D("-0.5")  # the rate is still reported, it just cannot trip yet
    assert early.describe() == "rejection rate not armed yet: 4 of the 5 orders needed"
    armed = only(limits, make_stats(orders=5, rejections=3))
    assert armed.armed and armed.tripped


def test_rate_with_no_orders_is_zero() -> None:
    reading = only(BreakerLimits(max_rejection_rate=0.5, min_orders=1), make_stats())
    assert reading.value == 0 and not reading.armed


def test_error_rate_trips_at_the_limit_not_below() -> None:
    limits = BreakerLimits(max_error_rate=0.25, min_calls=20)
    below = only(limits, make_stats(calls=40, errors=9))
    assert not below.tripped and below.headroom == D("0.025")
    at = only(limits, make_stats(calls=40, errors=10))
    assert at.tripped and at.headroom == 0
    assert at.describe() == "exchange error rate 25% over 40 exchange calls reached the limit 25%"
    early = only(limits, make_stats(calls=19, errors=19))
    assert not early.armed and not early.tripped


def test_float_limits_compare_as_their_decimal_text() -> None:
    reading = only(BreakerLimits(max_error_rate=0.1, min_calls=10), make_stats(calls=10, errors=1))
    assert reading.limit == D("0.1") and reading.tripped


def test_readings_come_in_order_and_tripped_filters() -> None:
    limits = BreakerLimits(
        daily_loss=D("100"),
        max_drawdown=D("0.5"),
        max_consecutive_losses=3,
        max_rejection_rate=0.5,
        max_error_rate=0.5,
    )
    stats = make_stats(daily_pnl=D("-100"), consecutive_losses=3, orders=1, rejections=1)
    readings = evaluate(limits, stats)
    assert [r.name for r in readings] == [
        "daily_loss",
        "max_drawdown",
        "consecutive_losses",
        "rejection_rate",
        "error_rate",
    ]
    assert [r.name for r in tripped(readings)] == ["daily_loss", "consecutive_losses"]


@pytest.mark.parametrize(
    "overrides", [{"orders": -1}, {"orders": 1, "rejections": 2}, {"calls": 1, "errors": 2}]
)
def test_stats_reject_impossible_counts(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        make_stats(**overrides)


# --- closed trades ----------------------------------------------------------------------------------


def test_long_round_trip_with_a_loss() -> None:
    fills = [("buy", D("2"), D("100"), D("0.2")), ("sell", D("2"), D("95"), D("0.19"))]
    assert closed_trade_results(fills) == [D("-10.19")]


def test_long_round_trip_with_a_gain() -> None:
    fills = [("buy", D("1"), D("100"), D("0.1")), ("sell", D("1"), D("110"), D("0.11"))]
    assert closed_trade_results(fills) == [D("9.89")]


def test_adding_uses_the_average_price() -> None:
    fills = [
        ("buy", D("1"), D("100"), D("0")),
        ("buy", D("1"), D("120"), D("0")),
        ("sell", D("2"), D("115"), D("0")),
    ]
    assert closed_trade_results(fills) == [D("10")]


def test_partial_closes_each_give_a_result() -> None:
    fills = [
        ("buy", D("3"), D("100"), D("0")),
        ("sell", D("1"), D("90"), D("1")),
        ("sell", D("1"), D("105"), D("1")),
        ("sell", D("1"), D("100"), D("0.5")),
    ]
    assert closed_trade_results(fills) == [D("-11"), D("4"), D("-0.5")]


def test_short_round_trip() -> None:
    fills = [
        ("sell", D("2"), D("100"), D("0")),
        ("buy", D("1"), D("90"), D("0")),
        ("buy", D("1"), D("104"), D("0")),
    ]
    assert closed_trade_results(fills) == [D("10"), D("-4")]


def test_crossing_through_zero_closes_then_opens() -> None:
    fills = [
        ("buy", D("1"), D("100"), D("0")),
        ("sell", D("3"), D("90"), D("0.3")),  # closes the long at a loss, opens 2 short at 90
        ("buy", D("2"), D("80"), D("0")),
    ]
    assert closed_trade_results(fills) == [D("-10.3"), D("20")]


def test_opening_fills_give_no_result() -> None:
    assert closed_trade_results([("buy", D("1"), D("100"), D("1"))]) == []
    assert closed_trade_results([]) == []


def test_bad_fill_side_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="side"):
        closed_trade_results([("hold", D("1"), D("100"), D("0"))])


def test_consecutive_losses_count_the_trailing_streak() -> None:
    assert consecutive_losses([]) == 0
    assert consecutive_losses([D("-1"), D("-2")]) == 2
    assert consecutive_losses([D("-1"), D("-2"), D("3"), D("-1")]) == 1
    assert consecutive_losses([D("-1"), D("-2"), D("3")]) == 0
    assert consecutive_losses([D("-1"), D("0")]) == 0  # break-even resets the streak


# --- aggregation ------------------------------------------------------------------------------------


def test_aggregate_sums_and_takes_the_longest_streak() -> None:
    a = make_stats(daily_pnl=D("-30"), equity=D("900"), peak_equity=D("1000"), consecutive_losses=2, orders=4)
    b = make_stats(
        daily_pnl=D("10"),
        equity=D("2100"),
        peak_equity=D("2200"),
        consecutive_losses=5,
        orders=6,
        rejections=3,
        calls=20,
        errors=1,
    )
    a, b = replace(a, exposure=D("400")), replace(b, exposure=D("1600"))
    assert aggregate([a, b]) == BreakerStats(
        exposure=D("2000"),
        daily_pnl=D("-20"),
        equity=D("3000"),
        peak_equity=D("3200"),
        consecutive_losses=5,
        orders=10,
        rejections=3,
        calls=20,
        errors=1,
    )


def test_aggregate_of_nothing_is_zero() -> None:
    assert aggregate([]) == BreakerStats(daily_pnl=D("0"), equity=D("0"), peak_equity=D("0"))


def test_closed_trade_results_follow_each_symbol_apart_in_fill_order() -> None:
    fills = [
        ("A", "buy", D("1"), D("100"), D("0")),
        ("B", "buy", D("1"), D("50"), D("0")),
        ("A", "sell", D("1"), D("90"), D("0")),
        ("B", "sell", D("1"), D("55"), D("0")),
    ]
    assert closed_trade_results(fills) == [D("-10"), D("5")]
    assert consecutive_losses(closed_trade_results(fills)) == 0


# --- exposure and leverage -------------------------------------------------------------------------


def test_gross_exposure_trips_at_the_limit_not_below() -> None:
    limits = BreakerLimits(max_gross_exposure=D("5000"), action="reduce")
    below = only(limits, make_stats(exposure=D("4999.99")))
    assert not below.tripped and below.headroom == D("0.01")
    at = only(limits, make_stats(exposure=D("5000")))
    assert at.tripped and at.describe() == "gross exposure 5000 reached the limit 5000"


def test_leverage_is_exposure_over_equity_and_needs_positive_equity() -> None:
    limits = BreakerLimits(max_leverage=D("2"))
    reading = only(limits, make_stats(equity=D("1000"), exposure=D("1500")))
    assert reading.value == D("1.5") and not reading.tripped
    assert reading.describe() == "leverage 1.500x is within the limit 2x"
    assert only(limits, make_stats(equity=D("1000"), exposure=D("2000"))).tripped
    broke = only(limits, make_stats(equity=D("0"), exposure=D("2000")))
    assert not broke.armed and not broke.tripped
    assert broke.describe() == "leverage not armed: equity is not positive"


def test_account_leverage_is_the_summed_exposure_over_the_summed_equity() -> None:
    # each strategy alone is at 1.5x; the account is at (1500 + 500) / (1000 + 1000) = 1x
    book = aggregate(
        [make_stats(equity=D("1000"), exposure=D("1500")), make_stats(equity=D("1000"), exposure=D("500"))]
    )
    reading = only(BreakerLimits(max_leverage=D("1.2")), book)
    assert reading.value == D("1") and not reading.tripped


def test_exposure_is_gross_and_never_negative() -> None:
    with pytest.raises(InvalidInput, match="exposure"):
        make_stats(exposure=D("-1"))
