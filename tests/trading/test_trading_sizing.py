"""Target -> order sizing with step rounding and minimum quantity."""

from decimal import Decimal as D

import pytest

from trading.errors import InvalidInput
from trading.models import Market, Side, Target
from trading.sizing import order_for_target, round_step


def make_market(**overrides: object) -> Market:
    fields: dict[str, object] = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "min_qty": D("0.01"),
        "qty_step": D("0.001"),
        "price_step": D("0.01"),
    }
    fields.update(overrides)
    return Market(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "position", "size", "expected"),
    [
        (Target.LONG, "0", "0.12345", (Side.BUY, D("0.123"))),
        (Target.LONG, "0.05", "0.2", (Side.BUY, D("0.15"))),
        (Target.LONG, "0.3", "0.1", (Side.SELL, D("0.2"))),
        (Target.LONG, "-0.1", "0.1", (Side.BUY, D("0.2"))),
        (Target.FLAT, "0.5", "1", (Side.SELL, D("0.5"))),
        (Target.FLAT, "-0.3", "1", (Side.BUY, D("0.3"))),
        (Target.LONG, "0.09", "0.1", (Side.BUY, D("0.01"))),  # exactly min_qty
    ],
)
def test_orders_that_reach_the_target(
    target: Target, position: str, size: str, expected: tuple[Side, D]
) -> None:
    assert order_for_target(target, D(position), D(size), make_market()) == expected


@pytest.mark.parametrize(
    ("target", "position", "size"),
    [
        (Target.HOLD, "0", "1"),
        (Target.HOLD, "5", "1"),
        (Target.LONG, "1", "1"),
        (Target.FLAT, "0", "1"),
        (Target.LONG, "0.095", "0.1"),  # 0.005 to buy is under min_qty 0.01
        (Target.FLAT, "0.0009", "1"),  # rounds down to 0
    ],
)
def test_no_order_when_nothing_tradable_is_needed(target: Target, position: str, size: str) -> None:
    assert order_for_target(target, D(position), D(size), make_market()) is None


def test_size_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        order_for_target(Target.LONG, D("0"), D("0"), make_market())


@pytest.mark.parametrize(
    ("x", "step", "expected"),
    [("1.2345", "0.01", "1.23"), ("1.7", "0.5", "1.5"), ("3", "1", "3"), ("0.0099", "0.01", "0")],
)
def test_round_step_rounds_down(x: str, step: str, expected: str) -> None:
    assert round_step(D(x), D(step)) == D(expected)


def test_round_step_needs_positive_step() -> None:
    with pytest.raises(InvalidInput):
        round_step(D("1"), D("0"))


def test_a_size_suggestion_scales_a_long_and_never_trims_one() -> None:
    m = Market("X/USD", "X", "USD", min_qty=D("0.1"), qty_step=D("0.1"), price_step=D("0.01"))
    assert order_for_target(Target.LONG, D(0), D(10), m, fraction=0.25) == (Side.BUY, D("2.5"))
    assert order_for_target(Target.LONG, D(3), D(10), m, fraction=0.25) is None
    assert order_for_target(Target.LONG, D(3), D(10), m, fraction=0.5) == (Side.BUY, D("2.0"))
    assert order_for_target(Target.FLAT, D(3), D(10), m, fraction=0.5) == (Side.SELL, D("3.0"))
    with pytest.raises(InvalidInput):
        order_for_target(Target.LONG, D(0), D(10), m, fraction=1.5)
