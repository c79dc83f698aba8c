"""Circuit breakers: limits that halt a strategy (or make it reduce-only) once losses or faults pile up.

Pure and deterministic (stdlib, ``Decimal`` and pydantic only) so workflow code can import it:
the caller gathers a ``BreakerStats`` snapshot, ``evaluate`` turns it into one ``BreakerReading``
per enabled breaker, and ``tripped`` picks the ones that fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from trading.errors import InvalidInput
from trading.models import Side
from trading.portfolio import Position, drawdown

_ZERO = Decimal(0)

_LIMIT_FIELDS = (
    "daily_loss",
    "max_drawdown",
    "max_consecutive_losses",
    "max_rejection_rate",
    "max_error_rate",
    "max_gross_exposure",
    "max_leverage",
)


def _not_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


_Count = Annotated[int, Field(ge=1), BeforeValidator(_not_bool)]
_Rate = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), BeforeValidator(_not_bool)]


class BreakerLimits(BaseModel):
    """Breaker limits of one strategy (or of the whole account); None switches that breaker off.

    ``daily_loss`` is an amount of quote currency, ``max_drawdown`` a fraction of peak equity and
    the two rates are fractions of the day's orders / exchange calls, judged only once the day has
    at least ``min_orders`` orders / ``min_calls`` calls. ``max_gross_exposure`` is an amount of
    quote currency (the sum of the positions' absolute notionals) and ``max_leverage`` that sum over
    equity; set globally they judge the whole account. ``action`` is what a trip does (``reduce``
    suits the exposure limits: exits and reducing orders go on, nothing adds exposure).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_loss: Annotated[Decimal, Field(gt=0)] | None = None
    max_drawdown: Annotated[Decimal, Field(gt=0, lt=1)] | None = None
    max_consecutive_losses: _Count | None = None
    max_rejection_rate: _Rate | None = None
    min_orders: _Count = 5
    max_error_rate: _Rate | None = None
    min_calls: _Count = 20
    max_gross_exposure: Annotated[Decimal, Field(gt=0)] | None = None
    max_leverage: Annotated[Decimal, Field(gt=0)] | None = None
    action: Literal["halt", "reduce"] = "halt"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> BreakerLimits:
        """Parse limits from JSON-like data; ``InvalidInput`` names every field at fault."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidInput(f"breaker limits must be an object, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as e:
            raise InvalidInput(f"invalid breaker limits: {_describe(e)}") from None

    def to_mapping(self) -> dict[str, Any]:
        """JSON-friendly form (Decimals as strings, unset limits left out) that ``from_mapping`` reads."""
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def enabled(self) -> bool:
        """True when at least one breaker is switched on."""
        return any(getattr(self, name) is not None for name in _LIMIT_FIELDS)


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown breaker limit {where!r}")
            continue
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


@dataclass(frozen=True)
class BreakerStats:
    """What the breakers judge: PnL and equity now, the losing streak, and today's order/call counts."""

    daily_pnl: Decimal
    equity: Decimal
    peak_equity: Decimal
    consecutive_losses: int = 0
    orders: int = 0  # submitted today
    rejections: int = 0  # of those, rejected by the venue
    calls: int = 0  # exchange calls today
    errors: int = 0  # of those, failed
    exposure: Decimal = _ZERO  # gross: the positions' absolute notionals

    def __post_init__(self) -> None:
        for name in ("consecutive_losses", "orders", "rejections", "calls", "errors"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} must not be negative, got {getattr(self, name)}")
        if self.rejections > self.orders:
            raise InvalidInput(f"rejections ({self.rejections}) cannot exceed orders ({self.orders})")
        if self.errors > self.calls:
            raise InvalidInput(f"errors ({self.errors}) cannot exceed calls ({self.calls})")
        if self.exposure < 0:
            raise InvalidInput(f"exposure is gross and cannot be negative, got {self.exposure}")


@dataclass(frozen=True)
class BreakerReading:
    """One breaker's value against its limit.

    ``headroom`` is ``limit - value`` in the breaker's own unit (zero or negative once tripped).
    ``armed`` is False while a rate breaker lacks its minimum sample (it cannot trip then) and for
    drawdown while peak equity is not positive. ``sample`` / ``min_sample`` are the orders or calls
    a rate is measured over and the minimum needed; None for the other breakers.
    """

    name: str
    value: Decimal
    limit: Decimal
    headroom: Decimal
    tripped: bool
    armed: bool = True
    sample: int | None = None
    min_sample: int | None = None

    def describe(self) -> str:
        """One-line human reason, e.g. ``daily loss 5230.10 reached the limit 5000``."""
        if self.name == "daily_loss":
            what, value, limit = "daily loss", _num(self.value), _num(self.limit)
        elif self.name == "max_drawdown":
            what, value, limit = "drawdown", f"{self.value:.1%} from peak", f"{self.limit:.1%}"
        elif self.name == "gross_exposure":
            what, value, limit = "gross exposure", _num(self.value), _num(self.limit)
        elif self.name == "leverage":
            if not self.armed:
                return "leverage not armed: equity is not positive"
            what, value, limit = (
                "leverage",
                f"{_num(self.value.quantize(Decimal('0.001')))}x",
                f"{_num(self.limit)}x",
            )
        elif self.name == "consecutive_losses":
            what, value, limit = "consecutive losing trades", _num(self.value), _num(self.limit)
            return f"{value} {what} {self._verdict(limit)}"
        else:
            what = "rejection rate" if self.name == "rejection_rate" else "exchange error rate"
            unit = "orders" if self.name == "rejection_rate" else "exchange calls"
            if not self.armed:
                return f"{what} not armed yet: {self.sample} of the {self.min_sample} {unit} needed"
            value, limit = f"{_pct(self.value)} over {self.sample} {unit}", _pct(self.limit)
        if not self.armed:
            return f"{what} not armed: peak equity is not positive"
        return f"{what} {value} {self._verdict(limit)}"

    def _verdict(self, limit: str) -> str:
        return f"reached the limit {limit}" if self.tripped else f"is within the limit {limit}"


def _num(x: Decimal) -> str:
    return format(x, "f")


def _pct(x: Decimal) -> str:
    """A fraction as a percentage with at most one decimal and no trailing zero: 60%, 33.3%."""
    text = format(x * 100, ".1f").rstrip("0").rstrip(".")
    return f"{text}%"


def _reading(name: str, value: Decimal, limit: Decimal, armed: bool = True, **sample: int) -> BreakerReading:
    return BreakerReading(
        name=name,
        value=value,
        limit=limit,
        headroom=limit - value,
        tripped=armed and value >= limit,
        armed=armed,
        **sample,
    )


def _rate(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else _ZERO


def evaluate(limits: BreakerLimits, stats: BreakerStats) -> list[BreakerReading]:
    """One reading per enabled breaker: daily loss, drawdown, losing streak, rejection and error rate."""
    out = []
    if limits.daily_loss is not None:
        out.append(_reading("daily_loss", max(_ZERO, -stats.daily_pnl), limits.daily_loss))
    if limits.max_drawdown is not None:
        dd = drawdown(stats.equity, stats.peak_equity)
        out.append(_reading("max_drawdown", dd, limits.max_drawdown, armed=stats.peak_equity > 0))
    if limits.max_consecutive_losses is not None:
        out.append(
            _reading(
                "consecutive_losses",
                Decimal(stats.consecutive_losses),
                Decimal(limits.max_consecutive_losses),
            )
        )
    if limits.max_rejection_rate is not None:
        out.append(
            _reading(
                "rejection_rate",
                _rate(stats.rejections, stats.orders),
                Decimal(str(limits.max_rejection_rate)),
                armed=stats.orders >= limits.min_orders,
                sample=stats.orders,
                min_sample=limits.min_orders,
            )
        )
    if limits.max_error_rate is not None:
        out.append(
            _reading(
                "error_rate",
                _rate(stats.errors, stats.calls),
                Decimal(str(limits.max_error_rate)),
                armed=stats.calls >= limits.min_calls,
                sample=stats.calls,
                min_sample=limits.min_calls,
            )
        )
    if limits.max_gross_exposure is not None:
        out.append(_reading("gross_exposure", stats.exposure, limits.max_gross_exposure))
    if limits.max_leverage is not None:
        armed = stats.equity > 0
        leverage = stats.exposure / stats.equity if armed else _ZERO
        out.append(_reading("leverage", leverage, limits.max_leverage, armed=armed))
    return out


def tripped(readings: Iterable[BreakerReading]) -> list[BreakerReading]:
    """The readings whose breaker fired, in the order given."""
    return [r for r in readings if r.tripped]


def closed_trade_results(
    fills: Iterable[tuple[str, Decimal, Decimal, Decimal]]
    | Iterable[tuple[str, str, Decimal, Decimal, Decimal]],
) -> list[Decimal]:
    """Net result of each fill that reduces or closes a position, for fills in time order.

    Fills are ``(side, qty, price, fee)`` for one symbol, or ``(symbol, side, qty, price, fee)``
    for several (each symbol's position is followed on its own, the results stay in fill
    order). Side is ``"buy"`` or ``"sell"``; a position may be long or short and uses
    ``Position``'s average-price cost basis. Each result is the PnL that fill realised less
    that fill's whole fee (entry fees are not charged to the exit, and a fill that crosses
    through zero is charged its whole fee although part of it opens the new position).
    """
    positions: dict[str, Position] = {}
    results = []
    for fill in fills:
        symbol, raw_side, qty, price, fee = fill if len(fill) == 5 else ("", *fill)  # type: ignore[misc]
        try:
            side = Side(raw_side)
        except ValueError:
            raise InvalidInput(f"fill side must be 'buy' or 'sell', got {raw_side!r}") from None
        position = positions.setdefault(str(symbol), Position(symbol=str(symbol)))
        reducing = position.qty != 0 and (position.qty > 0) != (side is Side.BUY)
        realised = position.apply_fill(side, qty, price, fee)
        if reducing:
            results.append(realised - fee)
    return results


def consecutive_losses(results: Sequence[Decimal]) -> int:
    """Number of trailing results below zero; a zero or positive result ends the streak."""
    count = 0
    for result in reversed(results):
        if result >= 0:
            break
        count += 1
    return count


def aggregate(stats: Iterable[BreakerStats]) -> BreakerStats:
    """The account-wide view across strategies: sums, with the longest losing streak.

    ``peak_equity`` is the sum of each strategy's own peak. The strategies did not all peak at the
    same moment, so this is at least the true combined peak and the drawdown measured from it is
    never smaller than the real one: the drawdown breaker may trip early, never late. An empty
    input gives all-zero stats.
    """
    items = list(stats)
    return BreakerStats(
        daily_pnl=sum((s.daily_pnl for s in items), _ZERO),
        equity=sum((s.equity for s in items), _ZERO),
        peak_equity=sum((s.peak_equity for s in items), _ZERO),
        consecutive_losses=max((s.consecutive_losses for s in items), default=0),
        orders=sum(s.orders for s in items),
        rejections=sum(s.rejections for s in items),
        calls=sum(s.calls for s in items),
        errors=sum(s.errors for s in items),
        exposure=sum((s.exposure for s in items), _ZERO),
    )
