"""Protective exits: a strategy's stop-loss, take-profit and trailing stop, as venue orders.

One rule for live and backtest: levels are fractions of the position's average entry price
(a long's stop-loss ``stop_loss`` below it, its take-profit ``take_profit`` above it, its trailing
stop ``trailing`` below the best price since the exits were placed; a short's the other way
round). Live, each level is rounded to the venue's price step away from the entry (a stop never
tighter than asked, a target never nearer) and the exits are placed together as one OCO group
of reduce-only orders for the whole position: a stop order, a limit order and a trailing stop,
whose trigger and fill rules are ``trading.triggers``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from trading.errors import InvalidInput
from trading.models import Market, OrderType, Side, Target
from trading.sizing import decimal_field
from trading.triggers import marketable, trail_level, would_trigger_now

ExitKind = Literal["stop_loss", "take_profit", "trailing"]
EXIT_KINDS: tuple[ExitKind, ...] = ("stop_loss", "take_profit", "trailing")
# One letter per kind in an exit's client order id.
KIND_TAG: dict[ExitKind, str] = {"stop_loss": "s", "take_profit": "t", "trailing": "r"}


def _fraction(**bounds: Any) -> Any:
    return decimal_field(default=None, **bounds)


class Exits(BaseModel):
    """Which protective exits a strategy attaches to every position it opens (fractions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_loss: Decimal | None = _fraction(gt=0, lt=1)
    take_profit: Decimal | None = _fraction(gt=0, le=100)
    trailing: Decimal | None = _fraction(gt=0, lt=1)

    @model_validator(mode="after")
    def _some(self) -> Exits:
        if self.stop_loss is None and self.take_profit is None and self.trailing is None:
            raise ValueError("exits need at least one of stop_loss, take_profit and trailing")
        return self

    def kinds(self) -> list[ExitKind]:
        """The kinds set, in a fixed order."""
        return [k for k in EXIT_KINDS if getattr(self, k) is not None]


@dataclass(frozen=True, slots=True)
class ExitOrder:
    """One exit as the order to place: its kind, type and levels (the side closes the position)."""

    kind: ExitKind
    type: OrderType
    side: Side
    price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_fraction: Decimal | None = None


def exit_orders(
    exits: Exits, *, position_qty: Decimal, entry_price: Decimal, market: Market
) -> list[ExitOrder]:
    """The exit orders that protect a position of ``position_qty`` (negative: short) entered at
    ``entry_price``, with levels on ``market``'s price step."""
    if position_qty == 0:
        raise InvalidInput("a flat position has nothing to protect")
    if entry_price <= 0:
        raise InvalidInput(f"entry price must be positive, got {entry_price}")
    long = position_qty > 0
    side = Side.SELL if long else Side.BUY
    sign = 1 if long else -1
    step = market.price_step
    out: list[ExitOrder] = []
    if exits.stop_loss is not None:
        raw = entry_price * (1 - sign * exits.stop_loss)
        out.append(ExitOrder("stop_loss", OrderType.STOP, side, stop_price=_on_step(raw, step, down=long)))
    if exits.take_profit is not None:
        raw = entry_price * (1 + sign * exits.take_profit)
        out.append(ExitOrder("take_profit", OrderType.LIMIT, side, price=_on_step(raw, step, down=not long)))
    if exits.trailing is not None:
        out.append(ExitOrder("trailing", OrderType.TRAILING_STOP, side, trail_fraction=exits.trailing))
    return out


def _on_step(value: Decimal, step: Decimal, *, down: bool) -> Decimal:
    rounded = (value / step).to_integral_value(rounding=ROUND_FLOOR if down else ROUND_CEILING) * step
    if rounded <= 0:
        raise InvalidInput(f"an exit level of {value} rounds to {rounded} on the price step {step}")
    return rounded


def split_by_venue(
    orders: list[ExitOrder], *, order_types: frozenset[OrderType], trail_fraction: bool, oco_legs: int
) -> tuple[list[ExitOrder], list[ExitOrder]]:
    """(the exits the venue holds, the exits ASTS holds) for a venue taking ``order_types``,
    trailing stops by a fraction if ``trail_fraction``, and one-cancels-the-other groups of
    ``oco_legs`` orders (0: none; 2: one limit and one stop, as an order list; more: any mix).

    A venue holds what it can group: everything when its groups take any mix; a pair of the
    take-profit and the first stop (the stop-loss before the trailing stop) when it takes pairs;
    else one order, the first it can take (the stop-loss first). ASTS holds the rest.
    """
    takes = [
        o
        for o in orders
        if o.type in order_types and (o.type is not OrderType.TRAILING_STOP or trail_fraction)
    ]
    if oco_legs >= 3:
        venue = takes
    elif oco_legs == 2:
        limits = [o for o in takes if o.type is OrderType.LIMIT]
        stops = [o for o in takes if o.type is not OrderType.LIMIT]
        venue = limits[:1] + stops[:1] if limits else stops[:1]
    else:
        venue = takes[:1]
    return venue, [o for o in orders if o not in venue]


def held_fires(order: ExitOrder, *, last: Decimal, best: Decimal | None) -> tuple[bool, Decimal | None]:
    """Whether an exit ASTS holds fires at the price ``last``, and a trailing stop's best price
    with ``last`` seen, by ``trading.triggers``' rules at one price: a stop-loss fires once the
    price is at or through its level, a take-profit once its limit would execute, a trailing stop
    once the price is through its level from the best price since it was set (the best includes
    ``last``)."""
    if order.kind == "trailing":
        if order.trail_fraction is None:
            raise InvalidInput("a trailing exit needs its trail fraction")
        best = last if best is None else (max(best, last) if order.side is Side.SELL else min(best, last))
        level = trail_level(order.side, best, fraction=order.trail_fraction)
        return would_trigger_now(order.side, level, last), best
    if order.kind == "stop_loss":
        if order.stop_price is None:
            raise InvalidInput("a stop-loss exit needs its stop price")
        return would_trigger_now(order.side, order.stop_price, last), best
    if order.price is None:
        raise InvalidInput("a take-profit exit needs its price")
    return marketable(order.side, order.price, last), best


def stands_down(stood_down: str, target: Target) -> tuple[bool, str]:
    """The backtest's rule after a protective exit closed a position that was ``stood_down``
    (``"long"``, ``"short"``): the strategy enters that way again only once its signal has left
    it (a held signal keeps it). Returns (whether this target's entry is refused, what is kept)."""
    if not stood_down or target is Target.HOLD:
        return bool(stood_down), stood_down
    way = {Target.LONG: "long", Target.SHORT: "short"}.get(target, "")
    if way == stood_down:
        return True, stood_down
    return False, ""
