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
from trading.models import Market, OrderType, Side
from trading.sizing import decimal_field

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
