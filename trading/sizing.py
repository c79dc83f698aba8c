"""Turn a strategy's target into one order that reaches it, within the venue's size rules."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from trading.errors import InvalidInput
from trading.models import Market, Side, Target


def round_step(x: Decimal, step: Decimal) -> Decimal:
    """Round ``x`` down (toward zero) to a whole number of ``step``."""
    if step <= 0:
        raise InvalidInput(f"step must be positive, got {step}")
    return (x / step).to_integral_value(rounding=ROUND_DOWN) * step


def order_for_target(
    target: Target, position_qty: Decimal, size: Decimal, market: Market, fraction: float | None = None
) -> tuple[Side, Decimal] | None:
    """Side and quantity that move ``position_qty`` to the target, or None when nothing tradable is needed.

    LONG wants ``size`` held, FLAT wants nothing held, HOLD never trades. The quantity is
    rounded down to the market's step; a result under ``market.min_qty`` is no order.
    ``min_notional`` needs a price and is left to the venue/risk checks. ``fraction`` (0..1),
    an agent's size suggestion, scales what LONG wants; a long signal never trims a position.
    """
    if size <= 0:
        raise InvalidInput(f"size must be positive, got {size}")
    if target is Target.HOLD:
        return None
    wanted = size if target is Target.LONG else Decimal(0)
    if target is Target.LONG and fraction is not None:
        if not 0.0 <= fraction <= 1.0:
            raise InvalidInput(f"size fraction must be within 0..1, got {fraction}")
        wanted = size * Decimal(str(fraction))
        if wanted <= position_qty:
            return None
    delta = wanted - position_qty
    if delta == 0:
        return None
    qty = round_step(abs(delta), market.qty_step)
    if qty <= 0 or qty < market.min_qty:
        return None
    return (Side.BUY if delta > 0 else Side.SELL), qty
