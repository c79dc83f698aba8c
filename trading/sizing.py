"""Sizing, one model for backtest and live: how much an entry buys, within the venue's size rules.

Four ways to size (``Sizing``): a fixed quantity, a fixed notional, a fraction of equity, and a
risk per trade (the fraction of equity lost if the price moves ``stop`` against the entry). Every
one rounds down to whole or fractional units on the venue's step, and an entry never spends more
cash than is held once its commission is paid. ``entry_sizer`` is the one rule: the live risk step
runs it in Decimal (``size_entry``, ``order_for_target``), the backtester in float on every trade.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Context, Decimal
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trading.errors import InvalidInput
from trading.models import Market, Side, Target
from trading.portfolio import Position

MAX_QTY = Decimal("1e12")  # base units, as a strategy's ``size`` allows
MAX_NOTIONAL = Decimal("1e15")  # quote currency, as a strategy's capital allows
# Float noise when flooring to a step (in steps: 29.999999999999996 units buy 30) and when comparing
# with a venue minimum (relative). Decimal arithmetic on the venue's decimals is exact: it gets none.
FLOAT_SLACK = 1e-9
FLOAT_TOLERANCE = 1e-12
_ZERO = Decimal(0)
_FLOOR, _CEILING = Context(rounding=ROUND_FLOOR), Context(rounding=ROUND_CEILING)

Units = Literal["whole", "fractional"]
N = TypeVar("N", Decimal, float)


def _stated(schema: dict[str, Any]) -> None:
    """State the length and form of a decimal's string branch in its JSON schema."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            branch.update(maxLength=40, pattern=r"^[0-9]{0,20}(\.[0-9]{1,18})?$")


def decimal_field(**bounds: Any) -> Any:
    """A pydantic field of an exact decimal, its string form's length stated in the JSON schema."""
    return Field(allow_inf_nan=False, max_digits=38, decimal_places=18, json_schema_extra=_stated, **bounds)


class _Sizing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # whole: round down to whole units too (a step of at least 1); fractional: the venue's step.
    units: Units = "fractional"


class FixedQty(_Sizing):
    """Buy ``qty`` units (what a strategy's ``size`` parameter means)."""

    mode: Literal["fixed_qty"] = "fixed_qty"
    qty: Decimal = decimal_field(gt=0, le=MAX_QTY)


class FixedNotional(_Sizing):
    """Buy ``notional`` worth (quote currency) at the entry price."""

    mode: Literal["fixed_notional"] = "fixed_notional"
    notional: Decimal = decimal_field(gt=0, le=MAX_NOTIONAL)


class EquityFraction(_Sizing):
    """Buy ``fraction`` of the equity's worth at the entry price."""

    mode: Literal["equity_fraction"] = "equity_fraction"
    fraction: Decimal = decimal_field(gt=0, le=1)


class RiskPerTrade(_Sizing):
    """Lose ``risk`` of the equity if the price moves ``stop`` (a fraction of it) against the entry:
    ``risk x equity / (stop x price)`` units."""

    mode: Literal["risk_per_trade"] = "risk_per_trade"
    risk: Decimal = decimal_field(gt=0, lt=1)
    stop: Decimal = decimal_field(gt=0, lt=1)


Sizing = Annotated[FixedQty | FixedNotional | EquityFraction | RiskPerTrade, Field(discriminator="mode")]
SIZINGS = (FixedQty, FixedNotional, EquityFraction, RiskPerTrade)
# The field of each sizing that an agent's size suggestion scales.
_AMOUNT = {FixedQty: "qty", FixedNotional: "notional", EquityFraction: "fraction", RiskPerTrade: "risk"}
_QTY, _NOTIONAL, _EQUITY, _RISK = range(4)


def default_sizing(units: Units = "fractional") -> EquityFraction:
    """Sizing when nobody gives one: all the equity, less the entry's commission."""
    return EquityFraction(fraction=Decimal(1), units=units)


def describe(sizing: Sizing) -> str:
    """The sizing in words, e.g. "a fixed quantity of 10 (whole units)"."""
    if isinstance(sizing, FixedQty):
        text = f"a fixed quantity of {_show(sizing.qty)}"
    elif isinstance(sizing, FixedNotional):
        text = f"a fixed notional of {_show(sizing.notional)}"
    elif isinstance(sizing, EquityFraction):
        text = f"{_show(sizing.fraction)} x equity"
    else:
        text = f"a risk of {_show(sizing.risk)} x equity at a stop {_show(sizing.stop)} away"
    return text + (" (whole units)" if sizing.units == "whole" else "")


def _show(x: Decimal | float) -> str:
    if isinstance(x, Decimal):
        return format(x.normalize(), "f") if x.is_finite() else str(x)
    return format(x, ".10g")


def _afford_exact(cash: Decimal, price: Decimal, k: Decimal) -> Decimal:
    """Units ``cash`` pays for at ``price`` with commission (rounded down: never a hair over)."""
    return _FLOOR.divide(cash, _CEILING.multiply(price, k))


def entry_sizer(
    sizing: Sizing,
    *,
    number: type[N],
    commission: N,
    step: N | None = None,
    min_qty: N,
    min_notional: N,
) -> Callable[[N, N, N, N], tuple[N, str]]:
    """The quantity one entry buys, as ``size(equity, cash, price, held) -> (qty, reason)``.

    ``number`` is Decimal (live) or float (the backtester, once per run); the venue's ``step``
    (None: any quantity), ``min_qty`` and ``min_notional`` and the ``commission`` rate are in that
    type. ``held`` is what is already held toward the sizing's quantity (live tops a fixed quantity
    up). The quantity is rounded down to the step and never costs more than ``cash`` with its
    commission; 0 means no order, and ``reason`` then says why when something was wanted.
    """
    exact = number is Decimal
    one: N = number(1)
    zero: N = number(0)
    if not zero <= commission < one:
        raise InvalidInput(f"commission must be a fraction in [0, 1), got {commission}")
    k = one + commission
    whole = sizing.units == "whole"
    unit = (one if step is None or step < one else step) if whole else step
    if unit is not None and unit <= 0:
        raise InvalidInput(f"step must be positive, got {unit}")
    slack = zero if exact else number(FLOAT_SLACK)
    near = one if exact else one - number(FLOAT_TOLERANCE)
    low_qty, low_notional = min_qty * near, min_notional * near
    afford_exact = cast(Callable[[N, N, N], N], _afford_exact)
    b = one  # the risk's stop
    if isinstance(sizing, FixedQty):
        kind, a = _QTY, number(sizing.qty)
    elif isinstance(sizing, FixedNotional):
        kind, a = _NOTIONAL, number(sizing.notional)
    elif isinstance(sizing, EquityFraction):
        kind, a = _EQUITY, number(sizing.fraction)
    else:
        kind, a, b = _RISK, number(sizing.risk), number(sizing.stop)

    def size(equity: N, cash: N, price: N, held: N) -> tuple[N, str]:
        if not price > 0:
            raise InvalidInput(f"price must be positive, got {price}")
        # One division last, so a whole number of units in decimals is exactly that in Decimal.
        if kind == _EQUITY:
            want = a * equity / price - held
        elif kind == _QTY:
            want = a - held
        elif kind == _NOTIONAL:
            want = a / price - held
        else:
            want = a * equity / (b * price) - held
        if want <= 0:
            return zero, ("no equity" if kind >= _EQUITY and equity <= 0 else "")
        if cash <= 0:
            return zero, "no cash"
        afford = afford_exact(cash, price, k) if exact else cash / (price * k)
        capped = afford < want
        qty = afford if capped else want
        if unit is not None:
            qty = math.floor(qty / unit + slack) * unit
        if qty <= 0:
            if capped:
                return zero, f"the cash held ({_show(cash)}) buys less than one step ({_show(unit or one)})"
            return zero, f"sized {_show(want)}, under one step ({_show(unit or one)})"
        if qty < low_qty:
            held_cash = " with the cash held" if capped else ""
            return zero, f"under the venue minimum {_show(min_qty)} (sized {_show(qty)}{held_cash})"
        if qty * price < low_notional:
            return zero, (
                f"under the venue minimum notional {_show(min_notional)} "
                f"(sized {_show(qty)} at {_show(price)}: {_show(qty * price)})"
            )
        return qty, ""

    return size


@dataclass(frozen=True, slots=True)
class Sized:
    """What to trade: ``qty`` on ``side`` (0: no order), and, when something was wanted that cannot
    be traded, why not."""

    qty: Decimal
    reason: str = ""
    side: Side = Side.BUY


_NO_ORDER = Sized(_ZERO)


def size_entry(
    sizing: Sizing,
    *,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    commission: Decimal = _ZERO,
    step: Decimal | None = None,
    min_qty: Decimal = _ZERO,
    min_notional: Decimal = _ZERO,
    held: Decimal = _ZERO,
) -> Sized:
    """The quantity one entry buys at ``price`` (``entry_sizer`` in Decimal)."""
    size = entry_sizer(
        sizing, number=Decimal, commission=commission, step=step, min_qty=min_qty, min_notional=min_notional
    )
    qty, reason = size(equity, cash, price, held)
    return Sized(qty, reason)


def round_step(x: Decimal, step: Decimal) -> Decimal:
    """Round ``x`` down (toward zero) to a whole number of ``step``."""
    if step <= 0:
        raise InvalidInput(f"step must be positive, got {step}")
    return (x / step).to_integral_value(rounding=ROUND_DOWN) * step


def scaled(sizing: Sizing, fraction: float) -> Sizing:
    """The sizing with its amount (quantity, notional, fraction or risk) times ``fraction``."""
    name = _AMOUNT[type(sizing)]
    return sizing.model_copy(update={name: getattr(sizing, name) * Decimal(str(fraction))})


def order_for_target(
    target: Target,
    position_qty: Decimal,
    sizing: Sizing,
    market: Market,
    *,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    commission: Decimal = _ZERO,
    fraction: float | None = None,
) -> Sized:
    """The order that moves ``position_qty`` toward the target (qty 0: none).

    HOLD never trades; FLAT sells what is held (buys back a short). LONG (SHORT) enters with
    ``size_entry``, buying (selling); a fixed quantity is then topped up or trimmed to its
    quantity, while a position sized from money is sized once, when it opens, as the backtester
    does. A position held the other way is closed by the same order, which then enters as from
    flat with the cash the close leaves (the backtester's reversal: exit, then enter, at one
    price). ``fraction`` (0..1), an agent's size suggestion, scales the sizing's amount, and a
    signal with one never trims. Exits under the venue's minimum are no order, without a reason
    (dust).
    """
    if fraction is not None and not 0.0 <= fraction <= 1.0:
        raise InvalidInput(f"size fraction must be within 0..1, got {fraction}")
    held = position_qty
    if target is Target.HOLD:
        return _NO_ORDER
    if target is Target.FLAT:
        return _reduce(abs(held), Side.SELL if held > 0 else Side.BUY, market)
    side = Side.SELL if target is Target.SHORT else Side.BUY
    own = held * side.sign  # held the wanted way (negative: the other way)
    if fraction is not None:
        sizing = scaled(sizing, fraction)
    if own < 0:
        close = _reduce(-own, side, market)
        left = cash + held * price - commission * abs(held) * price
        entry = _entry_on(market, sizing, equity=equity, cash=left, price=price, commission=commission)
        return Sized(close.qty + entry.qty, entry.reason, side=side)
    if isinstance(sizing, FixedQty):
        if sizing.qty < own:
            return _NO_ORDER if fraction is not None else _reduce(own - sizing.qty, side.opposite, market)
    elif own > 0:
        return _NO_ORDER
    entry = _entry_on(market, sizing, equity=equity, cash=cash, price=price, commission=commission, held=own)
    return Sized(entry.qty, entry.reason, side=side)


def _entry_on(
    market: Market,
    sizing: Sizing,
    *,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    commission: Decimal,
    held: Decimal = _ZERO,
) -> Sized:
    """``size_entry`` within the market's quantity step and minimums."""
    return size_entry(
        sizing,
        equity=equity,
        cash=cash,
        price=price,
        commission=commission,
        step=market.qty_step,
        min_qty=market.min_qty,
        min_notional=market.min_notional,
        held=held,
    )


def _reduce(qty: Decimal, side: Side, market: Market) -> Sized:
    q = round_step(qty, market.qty_step)
    return Sized(q, side=side) if q > 0 and q >= market.min_qty else _NO_ORDER


def check_tradable(
    sizing: Sizing, market: Market, *, price: Decimal, capital: Decimal, commission: Decimal = _ZERO
) -> None:
    """Refuse (``InvalidInput`` with the reason) a sizing whose first entry on ``market``, with the
    strategy's capital at ``price``, would be no order: it would run without ever trading."""
    got = _entry_on(market, sizing, equity=capital, cash=capital, price=price, commission=commission)
    if got.qty <= 0:
        raise InvalidInput(
            f"{market.symbol}: {describe(sizing)} cannot be traded at {_show(price)} "
            f"with a capital of {_show(capital)}: {got.reason}"
        )


def free_cash(capital: Decimal, positions: Iterable[Position]) -> Decimal:
    """A strategy's cash: its capital, plus realised PnL, less fees and what its positions cost."""
    return capital + sum((p.realised_pnl - p.fees - p.qty * p.avg_price for p in positions), _ZERO)


def strategy_sizing(
    size: Decimal | None, configured: Sizing | None = None, units: Units = "fractional"
) -> Sizing:
    """A strategy's own sizing: its config's, else ``FixedQty(size)`` when its parameters have a
    ``size`` (today's way, so ``params.size`` keeps its meaning), else the default."""
    if configured is not None:
        return configured
    return default_sizing(units) if size is None else FixedQty(qty=size, units=units)


def equity_fraction(fraction: float, units: Units = "fractional") -> EquityFraction:
    """The sizing of a float ``fraction`` of equity (the backtester's setting); ``InvalidInput``
    when it is out of bounds or finer than the sizing's 18 decimal places."""
    try:
        return EquityFraction(fraction=Decimal(repr(float(fraction))), units=units)
    except ValidationError as e:
        raise InvalidInput(f"fraction {fraction!r}: {e.errors()[0]['msg']}") from None


def choose_sizing(
    named_size: Decimal | None,
    *,
    given: Sizing | None = None,
    fraction: float | None = None,
    units: Units = "fractional",
) -> Sizing:
    """A backtest's sizing: the request's ``given`` sizing, else its ``fraction`` of equity, else
    the strategy's own fixed size when the request's parameters name a ``size`` (``named_size``),
    else the default."""
    if given is not None:
        return given
    if fraction is not None:
        return equity_fraction(fraction, units)
    if named_size is not None:
        return strategy_sizing(named_size, units=units)
    return default_sizing(units)
