"""When a resting emulator order acts on the bars walked: ``trading.triggers``' rules in Binance's terms.

Binance's conditional order types are asked of the domain's one rule set this way:

- ``STOP_LOSS`` / ``STOP_LOSS_LIMIT`` trigger like a stop of the order's own side (a sell when
  the price falls to ``stopPrice``, a buy when it rises to it).
- ``TAKE_PROFIT`` / ``TAKE_PROFIT_LIMIT`` trigger the other way (a sell when the price rises to
  ``stopPrice``): that is a stop of the opposite side, and is asked as one, so a bar that opens
  beyond the level reaches it at the open.
- ``trailingDelta`` (bips) makes a trailing stop of ``delta / 10000`` of the best price since
  tracking began: at placement, or, with a ``stopPrice``, at the first price that reaches it
  (which seeds the best price; tracking moves from the next bar on).
- A ``*_LIMIT`` order whose limit is marketable at its trigger price fills there; otherwise it
  starts working as a limit order (``isWorking``) and rests from the next bar on.
- ``LIMIT``, ``LIMIT_MAKER`` and working stop-limits fill at their limit price when a bar reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from trading.models import OrderType, Side
from trading.triggers import BarLike, Resting, first_event, marketable, met_first

if TYPE_CHECKING:
    from exchanges.emulator.engine import Order

BOOK_TYPES = frozenset({"LIMIT", "LIMIT_MAKER"})
LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
CONDITIONAL_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
_BIPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Step:
    """What an order does on bar ``index`` of the bars walked."""

    index: int
    # fill: it executes; work: a stop-limit now rests as a limit; track: a trailing stop starts tracking
    kind: Literal["fill", "work", "track"]
    price: Decimal  # the fill price before slippage, or the price that triggered
    taker: bool  # a trigger's fill trades as a market order (it slips); a resting limit's does not
    rank: int  # on one bar: triggers (0) before limit fills (1)
    meets: Decimal = Decimal(0)  # of triggers on one bar, the one the price meets first acts first


def side_of(order: Order) -> Side:
    """The domain side of a Binance side."""
    return Side.BUY if order.side == "BUY" else Side.SELL


def trigger_side(order: Order) -> Side:
    """The side of the stop whose trigger rule a conditional order follows (see the module doc)."""
    side = side_of(order)
    if order.type.startswith("TAKE_PROFIT"):
        return side.opposite
    return side


def bips_fraction(delta: int) -> Decimal:
    """A trailingDelta in bips as a fraction of the price."""
    return Decimal(delta) / _BIPS


def next_step(order: Order, bars: Sequence[BarLike], price_step: Decimal) -> Step | None:
    """The first thing ``order`` does on ``bars`` (the bars after it was last matched), or None."""
    side = side_of(order)
    if order.type in BOOK_TYPES or order.working:
        hit = first_event(Resting(OrderType.LIMIT, side, price=order.price), bars)
        return None if hit is None else Step(hit.index, "fill", hit.price, taker=False, rank=1)
    if order.trailing_delta is not None and order.trail_best is None:
        # armed: tracking starts once stopPrice is reached, at the price that reached it
        armed = Resting(OrderType.STOP, trigger_side(order), stop_price=order.stop_price)
        hit = first_event(armed, bars)
        return None if hit is None else Step(hit.index, "track", hit.price, taker=False, rank=0)
    if order.trailing_delta is not None:
        resting = Resting(
            OrderType.TRAILING_STOP,
            side,
            trail_fraction=bips_fraction(order.trailing_delta),
            reference=order.trail_best,
            price_step=price_step,
        )
    else:
        resting = Resting(OrderType.STOP, trigger_side(order), stop_price=order.stop_price)
    hit = first_event(resting, bars)
    if hit is None:
        return None
    meets = met_first(resting.side, hit.stop_price)
    if order.type in LIMIT_TYPES and not marketable(side, order.price, hit.price):
        return Step(hit.index, "work", hit.price, taker=False, rank=0, meets=meets)
    return Step(hit.index, "fill", hit.price, taker=True, rank=0, meets=meets)
