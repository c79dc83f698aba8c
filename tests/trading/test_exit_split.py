"""Which exits a venue holds and which ASTS holds, and when an exit ASTS holds fires."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trading.errors import InvalidInput
from trading.exits import ExitOrder, Exits, exit_orders, held_fires, split_by_venue, stands_down
from trading.models import Market, OrderType, Side, Target

MARKET = Market(symbol="X/USD", base="X", quote="USD", min_qty=D(1), qty_step=D(1), price_step=D("0.01"))
ALL = Exits(stop_loss=D("0.1"), take_profit=D("0.2"), trailing=D("0.03"))
ORDERS = exit_orders(ALL, position_qty=D(10), entry_price=D(100), market=MARKET)
EVERY = frozenset(OrderType)


def kinds(orders: list[ExitOrder]) -> list[str]:
    return [o.kind for o in orders]


def test_a_venue_whose_groups_take_any_mix_holds_every_exit() -> None:
    venue, ours = split_by_venue(ORDERS, order_types=EVERY, trail_fraction=True, oco_legs=3)
    assert kinds(venue) == ["stop_loss", "take_profit", "trailing"] and ours == []


def test_a_venue_of_pairs_holds_the_target_and_the_stop_loss_and_asts_the_trailing_stop() -> None:
    venue, ours = split_by_venue(ORDERS, order_types=EVERY, trail_fraction=True, oco_legs=2)
    assert kinds(venue) == ["take_profit", "stop_loss"] and kinds(ours) == ["trailing"]


def test_two_stops_cannot_pair_so_the_venue_holds_the_stop_loss_alone() -> None:
    orders = exit_orders(
        Exits(stop_loss=D("0.1"), trailing=D("0.03")), position_qty=D(10), entry_price=D(100), market=MARKET
    )
    venue, ours = split_by_venue(orders, order_types=EVERY, trail_fraction=True, oco_legs=2)
    assert kinds(venue) == ["stop_loss"] and kinds(ours) == ["trailing"]


def test_a_venue_without_stops_or_groups_holds_one_limit_and_asts_the_rest() -> None:
    basic = frozenset({OrderType.MARKET, OrderType.LIMIT})
    venue, ours = split_by_venue(ORDERS, order_types=basic, trail_fraction=False, oco_legs=0)
    assert kinds(venue) == ["take_profit"] and kinds(ours) == ["stop_loss", "trailing"]


def test_a_venue_without_fraction_trails_leaves_the_trailing_stop_to_asts() -> None:
    venue, ours = split_by_venue(ORDERS, order_types=EVERY, trail_fraction=False, oco_legs=3)
    assert kinds(venue) == ["stop_loss", "take_profit"] and kinds(ours) == ["trailing"]


def exit_of(kind: str, side: Side = Side.SELL, **kw: D) -> ExitOrder:
    return ExitOrder(kind, OrderType.MARKET, side, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order", "last", "fires"),
    [
        (exit_of("stop_loss", stop_price=D(90)), D("90.01"), False),
        (exit_of("stop_loss", stop_price=D(90)), D(90), True),  # at the level fires
        (exit_of("stop_loss", Side.BUY, stop_price=D(110)), D(110), True),  # a short's stop is above
        (exit_of("take_profit", price=D(120)), D("119.99"), False),
        (exit_of("take_profit", price=D(120)), D(121), True),
        (exit_of("take_profit", Side.BUY, price=D(80)), D(80), True),
    ],
)
def test_stop_loss_and_take_profit_fire_at_their_levels(order: ExitOrder, last: D, fires: bool) -> None:
    assert held_fires(order, last=last, best=None) == (fires, None)


def test_a_trailing_stop_follows_the_best_price_and_fires_a_fraction_back() -> None:
    trail = exit_of("trailing", trail_fraction=D("0.03"))
    assert held_fires(trail, last=D(100), best=None) == (False, D(100))
    assert held_fires(trail, last=D(110), best=D(100)) == (False, D(110))  # a new best
    assert held_fires(trail, last=D("106.71"), best=D(110)) == (False, D(110))
    assert held_fires(trail, last=D("106.70"), best=D(110)) == (True, D(110))  # 3 % back
    short = exit_of("trailing", Side.BUY, trail_fraction=D("0.03"))
    assert held_fires(short, last=D(103), best=D(100)) == (True, D(100))
    assert held_fires(short, last=D(95), best=D(100)) == (False, D(95))


def test_an_exit_without_its_level_is_refused() -> None:
    for kind in ("stop_loss", "take_profit", "trailing"):
        with pytest.raises(InvalidInput):
            held_fires(exit_of(kind), last=D(100), best=None)


def test_after_an_exit_a_strategy_enters_that_way_again_only_once_its_signal_has_left_it() -> None:
    assert stands_down("long", Target.LONG) == (True, "long")
    assert stands_down("long", Target.HOLD) == (True, "long")  # a held signal keeps it
    assert stands_down("long", Target.FLAT) == (False, "")  # left long: lifted
    assert stands_down("", Target.LONG) == (False, "")  # nothing closed by an exit: no rule
