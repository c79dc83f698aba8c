"""When a resting order acts on a bar, and at what price: the one rule set for the paper venue,
the Binance emulator, workflow-held exits and the backtester.

A bar's range comes after its open: a level the bar opened beyond is reached at the open, any
other level inside ``[low, high]`` is reached at the level itself. From that:

- limit: a buy rests until a bar's low reaches its price, a sell until a bar's high does; it
  fills at its limit price, never better, even when the bar opened beyond it.
- stop: a sell triggers when a bar's low reaches the stop, a buy when a bar's high does; it
  then fills as a market order at the stop, or at the open when the bar opened beyond the stop
  (the worse of the two for the trader). A venue adds its slippage on top.
- stop_limit: triggers like a stop; if the limit is marketable at the trigger price (a sell's
  trigger price at or above its limit, a buy's at or below) it fills there, otherwise it rests
  as a limit order (state ``triggered``) from the next bar on.
- trailing_stop: a stop whose level is the best price seen since placement (highest for a sell,
  lowest for a buy; the reference price at placement to begin with) less (a sell) or plus (a
  buy) the trail, an amount or a fraction of the best price. Each bar is checked against the
  level as it stood before the bar; the bar's extreme then moves the best price, so a bar's
  own high never tightens the stop that bar is checked against.
- A stop whose trigger would fire at once (a sell stop at or above the current price, a buy
  stop at or below it) is refused at placement: it would be a market order in disguise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol

from trading.errors import InvalidInput
from trading.models import OrderType, Side


class BarLike(Protocol):
    """The parts of a bar the trigger rules read."""

    @property
    def open(self) -> Decimal: ...

    @property
    def high(self) -> Decimal: ...

    @property
    def low(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class Resting:
    """A resting order's parameters, as the trigger rules see them."""

    type: OrderType
    side: Side
    price: Decimal | None = None  # limit price (limit, stop_limit)
    stop_price: Decimal | None = None  # stop, stop_limit
    trail_amount: Decimal | None = None  # trailing_stop: one of these two
    trail_fraction: Decimal | None = None
    reference: Decimal | None = None  # trailing_stop: the price at placement
    price_step: Decimal | None = None  # where the venue has one: a trailing level is rounded to it
    triggered: bool = False  # a stop_limit already resting as a limit


@dataclass(frozen=True, slots=True)
class Event:
    """What a resting order did on bar ``index`` of the bars walked."""

    index: int
    kind: Literal["filled", "triggered"]
    price: Decimal  # the fill price (before slippage) or, when triggered, the trigger price
    stop_price: Decimal | None = None  # the level that triggered (a trailing stop's is computed)


def met_first(side: Side, level: Decimal | None) -> Decimal:
    """The order in which stops triggered on one bar act: the one the price meets first first. A
    bar reaches a higher sell stop before a lower one (at its open, when it opened below both) and
    a lower buy stop before a higher one, as the backtester assumes (the nearer stop fills)."""
    if level is None:
        return Decimal(0)
    return -level if side is Side.SELL else level


def touches_limit(side: Side, limit: Decimal, bar: BarLike) -> bool:
    """True when a limit order of ``side`` at ``limit`` is reached within the bar."""
    return bar.low <= limit if side is Side.BUY else bar.high >= limit


def touches_stop(side: Side, stop: Decimal, bar: BarLike) -> bool:
    """True when a stop of ``side`` at ``stop`` triggers within the bar."""
    return bar.high >= stop if side is Side.BUY else bar.low <= stop


def stop_fill(side: Side, stop: Decimal, bar: BarLike) -> Decimal:
    """A triggered stop's fill price: the stop, or the open when the bar opened beyond it."""
    return max(stop, bar.open) if side is Side.BUY else min(stop, bar.open)


def marketable(side: Side, limit: Decimal, price: Decimal) -> bool:
    """True when a limit order of ``side`` at ``limit`` would execute at once at ``price``."""
    return price <= limit if side is Side.BUY else price >= limit


def would_trigger_now(side: Side, stop: Decimal, last: Decimal) -> bool:
    """True when a stop of ``side`` at ``stop`` is already through at price ``last``."""
    return last >= stop if side is Side.BUY else last <= stop


def trail_level(
    side: Side,
    best: Decimal,
    *,
    amount: Decimal | None = None,
    fraction: Decimal | None = None,
    step: Decimal | None = None,
) -> Decimal:
    """A trailing stop's level for best price ``best``; rounded to ``step`` away from the market."""
    if (amount is None) == (fraction is None):
        raise InvalidInput("a trailing stop needs exactly one of a trail amount and a trail fraction")
    gap = amount if amount is not None else best * fraction  # type: ignore[operator]
    level = best + gap if side is Side.BUY else best - gap
    if step is not None and step > 0:
        rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        level = (level / step).to_integral_value(rounding=rounding) * step
    return level


def improve(side: Side, best: Decimal, bar: BarLike) -> Decimal:
    """The best price after a bar: the highest high for a sell's trail, the lowest low for a buy's."""
    return min(best, bar.low) if side is Side.BUY else max(best, bar.high)


def current_level(order: Resting, bars: Iterable[BarLike]) -> Decimal | None:
    """Where a trailing stop's level stands after ``bars`` (its stop price for other types)."""
    if order.type is not OrderType.TRAILING_STOP:
        return order.stop_price
    best = _reference(order)
    for bar in bars:
        best = improve(order.side, best, bar)
    return _trail(order, best)


def first_event(order: Resting, bars: Iterable[BarLike]) -> Event | None:
    """The first bar on which a resting order fills or (a stop_limit) triggers, or None."""
    if order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.triggered):
        limit = _need(order.price, "limit price")
        for i, bar in enumerate(bars):
            if touches_limit(order.side, limit, bar):
                return Event(i, "filled", limit)
        return None
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
        stop = _need(order.stop_price, "stop price")
        for i, bar in enumerate(bars):
            if touches_stop(order.side, stop, bar):
                return _on_trigger(order, i, stop, stop_fill(order.side, stop, bar))
        return None
    if order.type is OrderType.TRAILING_STOP:
        best = _reference(order)
        for i, bar in enumerate(bars):
            level = _trail(order, best)
            if touches_stop(order.side, level, bar):
                return Event(i, "filled", stop_fill(order.side, level, bar), level)
            best = improve(order.side, best, bar)
        return None
    raise InvalidInput(f"a {order.type.value} order does not rest")


def _on_trigger(order: Resting, i: int, stop: Decimal, at: Decimal) -> Event:
    if order.type is OrderType.STOP:
        return Event(i, "filled", at, stop)
    limit = _need(order.price, "limit price")
    if marketable(order.side, limit, at):
        return Event(i, "filled", at, stop)
    return Event(i, "triggered", at, stop)


def _reference(order: Resting) -> Decimal:
    return _need(order.reference, "reference price")


def _trail(order: Resting, best: Decimal) -> Decimal:
    return trail_level(
        order.side,
        best,
        amount=order.trail_amount,
        fraction=order.trail_fraction,
        step=order.price_step,
    )


def _need(value: Decimal | None, what: str) -> Decimal:
    if value is None:
        raise InvalidInput(f"the order has no {what}")
    return value
