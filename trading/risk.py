"""Pre-trade risk: limits, the facts a check needs, and one small named function per rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.errors import InvalidInput
from trading.models import Side
from trading.portfolio import drawdown

_MONEY_FIELDS = (
    "max_position_qty",
    "max_order_notional",
    "max_daily_loss",
    "max_drawdown",
    "max_gross_exposure",
    "max_leverage",
    "max_concentration",
)
_FIELDS = ("allowed_symbols", *_MONEY_FIELDS)
# The limits that judge the strategy's whole book, not only the order: they need its exposures.
EXPOSURE_FIELDS = ("max_gross_exposure", "max_leverage", "max_concentration")


@dataclass(frozen=True)
class RiskLimits:
    """Per-strategy limits; None means no limit. ``max_drawdown`` is a fraction of peak equity.

    Exposure is a position's absolute notional (a short counts as much as a long). The gross
    exposure is the sum over the strategy's symbols; leverage is the gross exposure over equity;
    a symbol's concentration is its exposure over equity. These three refuse an order that adds
    exposure beyond them; an order that shrinks a position always passes.
    """

    allowed_symbols: frozenset[str] | None = None
    max_position_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_daily_loss: Decimal | None = None  # a positive amount of quote currency
    max_drawdown: Decimal | None = None
    max_gross_exposure: Decimal | None = None  # an amount of quote currency
    max_leverage: Decimal | None = None  # gross exposure over equity: 1 is fully invested, unlevered
    max_concentration: Decimal | None = None  # one symbol's exposure over equity, at most 1

    def __post_init__(self) -> None:
        for name in _MONEY_FIELDS:
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise InvalidInput(f"{name} must be a positive number, got {value}")
        if self.max_drawdown is not None and self.max_drawdown >= 1:
            raise InvalidInput(f"max_drawdown is a fraction and must be below 1, got {self.max_drawdown}")
        if self.max_concentration is not None and self.max_concentration > 1:
            raise InvalidInput(
                "max_concentration is a fraction of equity and must be at most 1, "
                f"got {self.max_concentration}"
            )
        if self.allowed_symbols is not None:
            if not self.allowed_symbols:
                raise InvalidInput("allowed_symbols must not be empty (leave it out to allow every symbol)")
            if not all(isinstance(s, str) and s for s in self.allowed_symbols):
                raise InvalidInput("allowed_symbols must be non-empty strings")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> RiskLimits:
        """Parse and validate limits from JSON-like data; missing or null keys mean no limit."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"risk limits must be an object, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown risk limit(s): {', '.join(map(str, unknown))}")
        kwargs: dict[str, Any] = {name: _decimal(name, raw.get(name)) for name in _MONEY_FIELDS}
        kwargs["allowed_symbols"] = _symbols(raw.get("allowed_symbols"))
        return cls(**kwargs)

    @property
    def judges_exposure(self) -> bool:
        """True when a limit on the whole book is set (the check then needs every exposure)."""
        return any(getattr(self, name) is not None for name in EXPOSURE_FIELDS)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-friendly form (Decimals as strings, symbols sorted) that ``from_mapping`` reads back."""
        out: dict[str, Any] = {
            "allowed_symbols": None if self.allowed_symbols is None else sorted(self.allowed_symbols)
        }
        for name in _MONEY_FIELDS:
            value = getattr(self, name)
            out[name] = None if value is None else str(value)
        return out


def _decimal(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number, got {value!r}") from None


def _symbols(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(f"allowed_symbols must be a list of symbols, got {value!r}")
    if not all(isinstance(s, str) for s in value):
        raise InvalidInput("allowed_symbols must be a list of strings")
    return frozenset(value)


@dataclass(frozen=True)
class OrderIntent:
    """An order a strategy wants to place; ``price`` is the reference price for notional checks."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise InvalidInput(f"order quantity must be positive, got {self.qty}")
        if self.price <= 0:
            raise InvalidInput(f"reference price must be positive, got {self.price}")

    @property
    def notional(self) -> Decimal:
        """Quantity times reference price."""
        return self.qty * self.price


@dataclass(frozen=True)
class RiskContext:
    """The strategy's state the rules judge against."""

    position_qty: Decimal
    daily_pnl: Decimal
    equity: Decimal
    peak_equity: Decimal
    halted: bool = False
    # Absolute notional of each symbol the strategy holds, at current prices (the order's own
    # symbol is judged at the order's reference price instead).
    exposures: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskVerdict:
    """Approved, or rejected with every reason that failed."""

    approved: bool
    reasons: tuple[str, ...] = ()
    # The names of the rules that failed (``RULES``), in the order of ``reasons``.
    rules: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def approve(cls) -> RiskVerdict:
        """An approval."""
        return cls(True, ())

    @classmethod
    def reject(cls, *reasons: str) -> RiskVerdict:
        """A rejection with at least one reason."""
        if not reasons:
            raise InvalidInput("a rejection needs at least one reason")
        return cls(False, tuple(reasons))


def resulting_qty(intent: OrderIntent, ctx: RiskContext) -> Decimal:
    """Signed position after the order fills completely."""
    return ctx.position_qty + intent.side.sign * intent.qty


def reduces_only(intent: OrderIntent, ctx: RiskContext) -> bool:
    """True when the order shrinks the position toward zero without crossing to the other side."""
    after = resulting_qty(intent, ctx)
    return abs(after) < abs(ctx.position_qty) and after * ctx.position_qty >= 0


def adds_exposure(intent: OrderIntent, ctx: RiskContext) -> bool:
    """True when the order leaves the symbol's position larger in absolute size than it was."""
    return abs(resulting_qty(intent, ctx)) > abs(ctx.position_qty)


def symbol_exposure_after(intent: OrderIntent, ctx: RiskContext) -> Decimal:
    """The order's symbol's exposure once it fills, at the order's reference price."""
    return abs(resulting_qty(intent, ctx)) * intent.price


def gross_exposure_after(intent: OrderIntent, ctx: RiskContext) -> Decimal:
    """The strategy's gross exposure once the order fills."""
    others = sum((v for sym, v in ctx.exposures.items() if sym != intent.symbol), Decimal(0))
    return others + symbol_exposure_after(intent, ctx)


def _amount(x: Decimal) -> str:
    return format(x.quantize(Decimal("0.01")), "f")


def _times(x: Decimal) -> str:
    return format(x.quantize(Decimal("0.001")).normalize(), "f") + "x"


Rule = Callable[[OrderIntent, RiskContext, RiskLimits], str | None]


def rule_not_halted(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """Nothing trades while the strategy is halted."""
    return "trading is halted for this strategy; no orders are accepted" if ctx.halted else None


def rule_symbol_allowed(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """The symbol must be on the allow-list when there is one."""
    allowed = limits.allowed_symbols
    if allowed is None or intent.symbol in allowed:
        return None
    return f"symbol {intent.symbol} is not allowed (allowed: {', '.join(sorted(allowed))})"


def rule_max_order_notional(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """The order's notional must not exceed the limit (applies to reducing orders too)."""
    cap = limits.max_order_notional
    if cap is None or intent.notional <= cap:
        return None
    return f"order notional {intent.notional} exceeds the limit of {cap}"


def rule_max_position(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """The resulting absolute position must not exceed the limit, unless the order only reduces it."""
    cap = limits.max_position_qty
    after = abs(resulting_qty(intent, ctx))
    if cap is None or after <= cap or reduces_only(intent, ctx):
        return None
    return f"resulting position {after} would exceed the limit of {cap}"


def rule_max_daily_loss(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """After the daily loss limit is hit, only reducing orders pass."""
    cap = limits.max_daily_loss
    if cap is None or ctx.daily_pnl > -cap or reduces_only(intent, ctx):
        return None
    return f"daily loss {-ctx.daily_pnl} has reached the limit of {cap}; only reducing orders are allowed"


def rule_max_drawdown(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """After the drawdown limit is hit, only reducing orders pass."""
    cap = limits.max_drawdown
    dd = drawdown(ctx.equity, ctx.peak_equity)
    if cap is None or dd < cap or reduces_only(intent, ctx):
        return None
    return (
        f"drawdown {dd:.2%} from peak equity {ctx.peak_equity} has reached the limit of {cap:.2%}; "
        "only reducing orders are allowed"
    )


def rule_max_gross_exposure(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """An order that adds exposure must leave the gross exposure within the limit."""
    cap = limits.max_gross_exposure
    if cap is None or not adds_exposure(intent, ctx):  # set, and judging only what adds
        return None
    gross = gross_exposure_after(intent, ctx)
    if gross <= cap:
        return None
    return f"gross exposure {_amount(gross)} after this order would exceed the limit of {cap}"


def rule_max_leverage(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """An order that adds exposure must leave gross exposure over equity within the limit (with
    no positive equity, no leverage is)."""
    cap = limits.max_leverage
    if cap is None or not adds_exposure(intent, ctx):  # set, and judging only what adds
        return None
    if ctx.equity <= 0:
        return f"equity {_amount(ctx.equity)} is not positive: no leverage is within the limit of {cap}x"
    leverage = gross_exposure_after(intent, ctx) / ctx.equity
    if leverage <= cap:
        return None
    return f"leverage {_times(leverage)} after this order would exceed the limit of {cap}x"


def rule_max_concentration(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> str | None:
    """An order that adds exposure must leave its symbol's share of equity within the limit (with
    no positive equity, no position is)."""
    cap = limits.max_concentration
    if cap is None or not adds_exposure(intent, ctx):  # set, and judging only what adds
        return None
    if ctx.equity <= 0:
        return f"equity {_amount(ctx.equity)} is not positive: no position is within the concentration limit"
    share = symbol_exposure_after(intent, ctx) / ctx.equity
    if share <= cap:
        return None
    return f"{intent.symbol} would be {share:.2%} of equity, over the concentration limit of {cap:.2%}"


RULES: tuple[tuple[str, Rule], ...] = (
    ("not_halted", rule_not_halted),
    ("symbol_allowed", rule_symbol_allowed),
    ("max_order_notional", rule_max_order_notional),
    ("max_position", rule_max_position),
    ("max_daily_loss", rule_max_daily_loss),
    ("max_drawdown", rule_max_drawdown),
    ("max_gross_exposure", rule_max_gross_exposure),
    ("max_leverage", rule_max_leverage),
    ("max_concentration", rule_max_concentration),
)


def check_order(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> RiskVerdict:
    """Run every rule and approve only if none fails; a rejection lists all failing reasons."""
    failed = [(name, r) for name, rule in RULES if (r := rule(intent, ctx, limits)) is not None]
    if not failed:
        return RiskVerdict.approve()
    return replace(RiskVerdict.reject(*(r for _, r in failed)), rules=tuple(name for name, _ in failed))
