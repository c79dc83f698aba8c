"""The trigger and fill rules of resting orders (trading.triggers), bar by bar."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from trading.errors import InvalidInput
from trading.models import OrderType, Side
from trading.triggers import Resting, current_level, first_event, trail_level, would_trigger_now

D = Decimal


@dataclass(frozen=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal


def bars(*rows: tuple[str, str, str]) -> list[Bar]:
    return [Bar(D(o), D(h), D(lo)) for o, h, lo in rows]


CALM = bars(("100", "101", "99"), ("100", "102", "99"))
DROP = bars(("100", "101", "99"), ("99", "100", "96"))
GAP = bars(("100", "101", "99"), ("90", "92", "89"), ("91", "96", "90"))


def test_a_sell_stop_fills_at_its_price_when_the_range_reaches_it() -> None:
    stop = Resting(OrderType.STOP, Side.SELL, stop_price=D(97))
    assert first_event(stop, CALM) is None
    hit = first_event(stop, DROP)
    assert hit is not None and (hit.index, hit.kind, hit.price, hit.stop_price) == (1, "filled", D(97), D(97))


def test_a_gap_through_a_stop_fills_at_the_worse_open() -> None:
    sell = first_event(Resting(OrderType.STOP, Side.SELL, stop_price=D(95)), GAP)
    assert sell is not None and (sell.index, sell.price) == (1, D(90))
    buy = first_event(Resting(OrderType.STOP, Side.BUY, stop_price=D(95)), bars(("100", "110", "99")))
    assert buy is not None and buy.price == D(100)  # opened above the buy stop: the open is worse


def test_a_limit_fills_at_its_price_never_better_even_on_a_gap() -> None:
    buy = first_event(Resting(OrderType.LIMIT, Side.BUY, price=D(95)), GAP)
    assert buy is not None and (buy.index, buy.price) == (1, D(95))  # opened at 90, fills at 95
    assert first_event(Resting(OrderType.LIMIT, Side.SELL, price=D(103)), CALM) is None


def test_a_stop_limit_fills_at_the_trigger_when_its_limit_is_marketable_there() -> None:
    order = Resting(OrderType.STOP_LIMIT, Side.SELL, price=D(96), stop_price=D(97))
    hit = first_event(order, DROP)
    assert hit is not None and (hit.kind, hit.price) == ("filled", D(97))


def test_a_stop_limit_gapped_past_its_limit_rests_as_a_limit_from_the_next_bar() -> None:
    order = Resting(OrderType.STOP_LIMIT, Side.SELL, price=D(94), stop_price=D(95))
    hit = first_event(order, GAP)
    assert hit is not None and (hit.index, hit.kind, hit.price) == (1, "triggered", D(90))
    then = first_event(Resting(OrderType.STOP_LIMIT, Side.SELL, price=D(94), triggered=True), GAP[2:])
    assert then is not None and (then.kind, then.price) == ("filled", D(94))


def test_a_trailing_stop_checks_each_bar_against_the_level_before_it() -> None:
    rally = bars(("100", "102", "99"), ("101", "106", "100"), ("105", "105", "101"))
    order = Resting(OrderType.TRAILING_STOP, Side.SELL, trail_amount=D(3), reference=D(100))
    # bar 0: level 97, best -> 102; bar 1: level 99 (its own high of 106 does not count yet),
    # best -> 106; bar 2: level 103, low 101 -> fills at 103
    hit = first_event(order, rally)
    assert hit is not None and (hit.index, hit.price, hit.stop_price) == (2, D(103), D(103))
    assert current_level(order, rally[:2]) == D(103)
    assert current_level(Resting(OrderType.STOP, Side.SELL, stop_price=D(5)), rally) == D(5)


def test_a_fractional_trail_rounds_away_from_the_market() -> None:
    assert trail_level(Side.SELL, D("100.07"), fraction=D("0.05"), step=D("0.01")) == D("95.06")
    assert trail_level(Side.BUY, D("100.07"), fraction=D("0.05"), step=D("0.01")) == D("105.08")
    assert trail_level(Side.BUY, D(100), amount=D(2)) == D(102)
    with pytest.raises(InvalidInput):
        trail_level(Side.SELL, D(100), amount=D(1), fraction=D("0.1"))


def test_a_buy_trailing_stop_follows_the_lowest_price() -> None:
    fall = bars(("100", "101", "95"), ("95", "99", "94"))
    order = Resting(OrderType.TRAILING_STOP, Side.BUY, trail_amount=D(4), reference=D(100))
    hit = first_event(order, fall)  # bar 0: level 104; bar 1: level 99, high 99 -> fills
    assert hit is not None and (hit.index, hit.price) == (1, D(99))


def test_a_stop_already_through_would_trigger_now() -> None:
    assert would_trigger_now(Side.SELL, D(100), D(100))
    assert not would_trigger_now(Side.SELL, D(99), D(100))
    assert would_trigger_now(Side.BUY, D(100), D(101))


def test_a_market_order_does_not_rest() -> None:
    with pytest.raises(InvalidInput):
        first_event(Resting(OrderType.MARKET, Side.BUY), CALM)
