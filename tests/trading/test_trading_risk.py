"""Each risk rule approving and rejecting, reduce-only exemptions, limits parsing."""

from decimal import Decimal as D
from typing import Any

import pytest

from trading.errors import InvalidInput
from trading.models import Side
from trading.risk import (
    RULES,
    OrderIntent,
    RiskContext,
    RiskLimits,
    RiskVerdict,
    check_order,
    reduces_only,
    rule_max_concentration,
    rule_max_daily_loss,
    rule_max_drawdown,
    rule_max_gross_exposure,
    rule_max_leverage,
    rule_max_order_notional,
    rule_max_position,
    rule_not_halted,
    rule_symbol_allowed,
)


def make_intent(
    side: Side = Side.BUY, qty: str = "1", price: str = "100", symbol: str = "BTC/USDT"
) -> OrderIntent:
    return OrderIntent(symbol=symbol, side=side, qty=D(qty), price=D(price))


def make_ctx(**overrides: Any) -> RiskContext:
    fields: dict[str, Any] = {
        "position_qty": D("0"),
        "daily_pnl": D("0"),
        "equity": D("1000"),
        "peak_equity": D("1000"),
    }
    fields.update(overrides)
    return RiskContext(**fields)


def test_no_limits_approves() -> None:
    assert check_order(make_intent(), make_ctx(), RiskLimits()) == RiskVerdict.approve()


def test_halted_rejects_everything_even_reducing() -> None:
    ctx = make_ctx(position_qty=D("2"), halted=True)
    assert rule_not_halted(make_intent(), make_ctx(), RiskLimits()) is None
    verdict = check_order(make_intent(Side.SELL, "1"), ctx, RiskLimits())
    assert not verdict.approved and "halted" in verdict.reasons[0]


def test_symbol_allow_list() -> None:
    limits = RiskLimits(allowed_symbols=frozenset({"BTC/USDT", "ETH/USDT"}))
    assert rule_symbol_allowed(make_intent(), make_ctx(), limits) is None
    reason = rule_symbol_allowed(make_intent(symbol="DOGE/USDT"), make_ctx(), limits)
    assert reason == "symbol DOGE/USDT is not allowed (allowed: BTC/USDT, ETH/USDT)"


def test_max_order_notional_applies_to_reducing_orders_too() -> None:
    limits = RiskLimits(max_order_notional=D("150"))
    assert rule_max_order_notional(make_intent(qty="1.5"), make_ctx(), limits) is None
    reason = rule_max_order_notional(make_intent(qty="2"), make_ctx(), limits)
    assert reason == "order notional 200 exceeds the limit of 150"
    reducing = make_intent(Side.SELL, "2")
    assert rule_max_order_notional(reducing, make_ctx(position_qty=D("5")), limits) is not None


def test_max_position_on_resulting_absolute_position() -> None:
    limits = RiskLimits(max_position_qty=D("2"))
    assert rule_max_position(make_intent(qty="1"), make_ctx(position_qty=D("1")), limits) is None
    reason = rule_max_position(make_intent(qty="1.5"), make_ctx(position_qty=D("1")), limits)
    assert reason == "resulting position 2.5 would exceed the limit of 2"
    short = rule_max_position(make_intent(Side.SELL, "3"), make_ctx(), limits)
    assert short is not None and "3" in short


def test_max_position_allows_reducing_an_oversized_position() -> None:
    limits = RiskLimits(max_position_qty=D("2"))
    assert rule_max_position(make_intent(Side.SELL, "1"), make_ctx(position_qty=D("5")), limits) is None


def test_max_daily_loss() -> None:
    limits = RiskLimits(max_daily_loss=D("50"))
    assert rule_max_daily_loss(make_intent(), make_ctx(daily_pnl=D("-49.99")), limits) is None
    reason = rule_max_daily_loss(make_intent(), make_ctx(daily_pnl=D("-50")), limits)
    assert reason is not None and "daily loss 50" in reason and "limit of 50" in reason


def test_max_drawdown() -> None:
    limits = RiskLimits(max_drawdown=D("0.2"))
    assert rule_max_drawdown(make_intent(), make_ctx(equity=D("801")), limits) is None
    reason = rule_max_drawdown(make_intent(), make_ctx(equity=D("800")), limits)
    assert reason is not None and "20.00%" in reason and "1000" in reason


@pytest.mark.parametrize(
    ("position", "side", "qty", "expected"),
    [
        ("2", Side.SELL, "1", True),
        ("2", Side.SELL, "2", True),
        ("2", Side.SELL, "3", False),  # crosses to short
        ("2", Side.BUY, "1", False),
        ("-2", Side.BUY, "1", True),
        ("0", Side.SELL, "1", False),
    ],
)
def test_reduces_only(position: str, side: Side, qty: str, expected: bool) -> None:
    assert reduces_only(make_intent(side, qty), make_ctx(position_qty=D(position))) is expected


def test_losing_strategy_may_still_get_flat() -> None:
    limits = RiskLimits(max_daily_loss=D("50"), max_drawdown=D("0.1"), max_position_qty=D("1"))
    ctx = make_ctx(position_qty=D("3"), daily_pnl=D("-80"), equity=D("700"))
    assert check_order(make_intent(Side.SELL, "3"), ctx, limits).approved
    adding = check_order(make_intent(Side.BUY, "1"), ctx, limits)
    assert not adding.approved and len(adding.reasons) == 3


def test_all_failing_reasons_are_collected() -> None:
    limits = RiskLimits(
        allowed_symbols=frozenset({"ETH/USDT"}),
        max_order_notional=D("10"),
        max_position_qty=D("0.5"),
        max_daily_loss=D("1"),
        max_drawdown=D("0.01"),
        max_gross_exposure=D("50"),
        max_leverage=D("0.05"),
        max_concentration=D("0.05"),
    )
    ctx = make_ctx(halted=True, daily_pnl=D("-5"), equity=D("900"))
    verdict = check_order(make_intent(), ctx, limits)
    assert not verdict.approved
    assert len(verdict.reasons) == len(RULES) == 9


def test_verdict_constructors() -> None:
    assert RiskVerdict.approve() == RiskVerdict(True, ())
    assert RiskVerdict.reject("a", "b") == RiskVerdict(False, ("a", "b"))
    with pytest.raises(InvalidInput):
        RiskVerdict.reject()


def test_intent_validates() -> None:
    with pytest.raises(InvalidInput):
        make_intent(qty="0")
    with pytest.raises(InvalidInput):
        make_intent(price="-1")


def test_limits_round_trip_through_mapping() -> None:
    limits = RiskLimits(
        allowed_symbols=frozenset({"ETH/USDT", "BTC/USDT"}),
        max_position_qty=D("0.5"),
        max_order_notional=D("1000"),
        max_daily_loss=D("25.5"),
        max_drawdown=D("0.15"),
    )
    raw = limits.to_mapping()
    assert raw == {
        "allowed_symbols": ["BTC/USDT", "ETH/USDT"],
        "max_position_qty": "0.5",
        "max_order_notional": "1000",
        "max_daily_loss": "25.5",
        "max_drawdown": "0.15",
        "max_gross_exposure": None,
        "max_leverage": None,
        "max_concentration": None,
    }
    assert RiskLimits.from_mapping(raw) == limits
    assert RiskLimits.from_mapping(RiskLimits().to_mapping()) == RiskLimits()


def test_from_mapping_accepts_numbers_and_none() -> None:
    assert RiskLimits.from_mapping(None) == RiskLimits()
    assert RiskLimits.from_mapping({"max_daily_loss": 50, "max_drawdown": 0.1}) == RiskLimits(
        max_daily_loss=D("50"), max_drawdown=D("0.1")
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"max_daily_loss": -5}, "max_daily_loss"),
        ({"max_order_notional": 0}, "max_order_notional"),
        ({"max_position_qty": "lots"}, "max_position_qty"),
        ({"max_position_qty": True}, "max_position_qty"),
        ({"max_position_qty": "NaN"}, "max_position_qty"),
        ({"max_drawdown": 1}, "max_drawdown"),
        ({"allowed_symbols": "BTC/USDT"}, "allowed_symbols"),
        ({"allowed_symbols": ["BTC/USDT", 3]}, "allowed_symbols"),
        ({"allowed_symbols": []}, "allowed_symbols"),
        ({"max_loss": 5}, "max_loss"),
        ({"max_leverage": 0}, "max_leverage"),
        ({"max_gross_exposure": "-1"}, "max_gross_exposure"),
        ({"max_concentration": "1.01"}, "max_concentration"),
        ({"max_concentration": "Infinity"}, "max_concentration"),
    ],
)
def test_from_mapping_rejects_with_reason(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        RiskLimits.from_mapping(raw)


# --- exposure: gross, leverage, concentration -----------------------------------------------------
# The book: 300 of ETH held (3 at 100), equity 1000.
BOOK = {"ETH/USDT": D("300")}


def test_gross_exposure_counts_every_symbol_and_the_order_at_its_price() -> None:
    limits = RiskLimits(max_gross_exposure=D("500"))
    ctx = make_ctx(exposures=BOOK)
    assert rule_max_gross_exposure(make_intent(qty="2"), ctx, limits) is None  # 300 + 200: at the limit
    reason = rule_max_gross_exposure(make_intent(qty="2.01"), ctx, limits)
    assert reason == "gross exposure 501.00 after this order would exceed the limit of 500"


def test_a_short_counts_as_much_exposure_as_a_long() -> None:
    limits = RiskLimits(max_gross_exposure=D("500"))
    ctx = make_ctx(exposures=BOOK)
    assert rule_max_gross_exposure(make_intent(Side.SELL, "2.5"), ctx, limits) is not None


def test_the_orders_own_symbol_is_judged_at_the_orders_price_not_its_old_mark() -> None:
    limits = RiskLimits(max_gross_exposure=D("500"))
    ctx = make_ctx(position_qty=D("3"), exposures={"BTC/USDT": D("3")})  # an old, low mark
    # 4 BTC at 100 is 400, whatever the book said the 3 held were worth
    assert rule_max_gross_exposure(make_intent(qty="1"), ctx, limits) is None
    assert rule_max_gross_exposure(make_intent(qty="2.5"), ctx, limits) is not None


def test_shrinking_or_crossing_to_a_smaller_position_always_passes_the_exposure_limits() -> None:
    limits = RiskLimits(max_gross_exposure=D("1"), max_leverage=D("0.001"), max_concentration=D("0.001"))
    ctx = make_ctx(position_qty=D("5"), exposures={"BTC/USDT": D("500"), **BOOK})
    assert check_order(make_intent(Side.SELL, "5"), ctx, limits).approved  # to flat
    assert check_order(make_intent(Side.SELL, "9"), ctx, limits).approved  # long 5 to short 4
    crossed_bigger = check_order(make_intent(Side.SELL, "11"), ctx, limits)  # long 5 to short 6
    assert not crossed_bigger.approved and len(crossed_bigger.reasons) == 3


def test_leverage_is_gross_exposure_over_equity() -> None:
    limits = RiskLimits(max_leverage=D("1.5"))
    ctx = make_ctx(exposures=BOOK)  # 300 over 1000
    assert rule_max_leverage(make_intent(qty="12"), ctx, limits) is None  # 1500 over 1000
    reason = rule_max_leverage(make_intent(qty="12.5"), ctx, limits)
    assert reason == "leverage 1.55x after this order would exceed the limit of 1.5x"


def test_no_leverage_is_allowed_on_equity_that_is_not_positive() -> None:
    limits = RiskLimits(max_leverage=D("10"), max_concentration=D("1"))
    ctx = make_ctx(equity=D("-5"))
    verdict = check_order(make_intent(qty="0.01"), ctx, limits)
    assert verdict.reasons == (
        "equity -5.00 is not positive: no leverage is within the limit of 10x",
        "equity -5.00 is not positive: no position is within the concentration limit",
    )


def test_concentration_is_one_symbols_exposure_over_equity() -> None:
    limits = RiskLimits(max_concentration=D("0.25"))
    ctx = make_ctx(exposures=BOOK)  # ETH at 30% does not matter to a BTC order
    assert rule_max_concentration(make_intent(qty="2.5"), ctx, limits) is None
    reason = rule_max_concentration(make_intent(qty="2.6"), ctx, limits)
    assert reason == "BTC/USDT would be 26.00% of equity, over the concentration limit of 25.00%"


def test_only_the_book_limits_need_the_exposures() -> None:
    assert not RiskLimits(max_position_qty=D("1"), max_drawdown=D("0.1")).judges_exposure
    for name in ("max_gross_exposure", "max_leverage", "max_concentration"):
        assert RiskLimits.from_mapping({name: "0.5"}).judges_exposure
