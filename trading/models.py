"""Value objects shared by every layer: identifiers, enums, markets, candles, orders seen at a venue."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from trading.errors import InvalidInput

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Side(StrEnum):
    """Order side."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """Order type; the trigger and fill rules of each are in ``trading.triggers``."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"  # a market order once the stop price trades
    STOP_LIMIT = "stop_limit"  # a limit order once the stop price trades
    TRAILING_STOP = "trailing_stop"  # a stop whose price follows the best price by a trail

    @property
    def has_trigger(self) -> bool:
        """True for the types that wait for a stop price to trade before they act."""
        return self in _TRIGGERED_TYPES

    @property
    def has_limit(self) -> bool:
        """True for the types that carry a limit price."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)


_TRIGGERED_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})


class TimeInForce(StrEnum):
    """How long an order may rest: until cancelled, fill-what-you-can-now, all-or-nothing now, or
    until the end of the UTC day it was placed in."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"


class OrderStatus(StrEnum):
    """Lifecycle state of an order; see ``trading.orders.TRANSITIONS``."""

    NEW = "new"  # known to us, not yet acknowledged by the venue
    OPEN = "open"  # resting at the venue
    TRIGGERED = "triggered"  # a stop-limit whose stop traded: now resting as a limit order
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True when no further transition is possible."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class Target(StrEnum):
    """What a strategy wants its position to be.

    A strategy's signal says LONG, FLAT or HOLD; SHORT is what FLAT means to a ``long_short``
    strategy (:func:`wanted`), as in the backtester.
    """

    LONG = "long"
    FLAT = "flat"
    HOLD = "hold"  # keep whatever is held now
    SHORT = "short"


Direction = Literal["long", "long_short"]


def wanted(target: Target, direction: Direction) -> Target:
    """The position a signal's ``target`` asks for: FLAT is short for a ``long_short`` strategy."""
    return Target.SHORT if target is Target.FLAT and direction == "long_short" else target


@dataclass(frozen=True, slots=True)
class StrategyId:
    """Identifier of a strategy (short, URL- and workflow-id-safe)."""

    value: str

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.value):
            raise InvalidInput(f"invalid strategy id {self.value!r}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ClientOrderId:
    """Our id for an order, sent to the venue; deterministic from strategy, cycle and leg."""

    value: str

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.value) or len(self.value) > 36:
            raise InvalidInput(f"invalid client order id {self.value!r}")

    @classmethod
    def derive(cls, strategy_id: str, cycle: int, leg: int) -> ClientOrderId:
        """The one id for leg ``leg`` of cycle ``cycle`` of a strategy.

        Readable when it fits the 36 characters most venues accept; otherwise the
        strategy part is replaced by a stable hash, so the id stays unique.
        """
        if cycle < 0 or leg < 0:
            raise InvalidInput("cycle and leg must be non-negative")
        return cls._named(strategy_id, f"-c{cycle}-l{leg}")

    @classmethod
    def for_flatten(cls, strategy_id: str, halt_id: str, leg: int) -> ClientOrderId:
        """The one id of the order that flattens leg ``leg`` of a strategy for halt ``halt_id``."""
        if leg < 0:
            raise InvalidInput("leg must be non-negative")
        tag = hashlib.sha256(halt_id.encode()).hexdigest()[:8]
        return cls._named(strategy_id, f"-x{tag}-l{leg}")

    @classmethod
    def for_exit(cls, strategy_id: str, cycle: int, leg: int, tag: str = "") -> ClientOrderId:
        """The one id of exit ``tag`` (one letter per kind; "" names their OCO group) placed in
        cycle ``cycle`` for leg ``leg`` of a strategy."""
        if cycle < 0 or leg < 0:
            raise InvalidInput("cycle and leg must be non-negative")
        return cls._named(strategy_id, f"-c{cycle}-e{leg}{tag}")

    @classmethod
    def _named(cls, strategy_id: str, tail: str) -> ClientOrderId:
        """``strategy_id`` + ``tail`` when it fits the 36 characters most venues accept; otherwise
        the strategy part is replaced by a stable hash, so the id stays unique."""
        readable = strategy_id + tail
        if len(readable) <= 36:
            return cls(readable)
        digest = hashlib.sha256(strategy_id.encode()).hexdigest()[:12]
        return cls(f"h{digest}{tail}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Market:
    """A tradable symbol at a venue, with the venue's size rules."""

    symbol: str
    base: str
    quote: str
    min_qty: Decimal
    qty_step: Decimal
    price_step: Decimal
    min_notional: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar; ``ts`` is the bar's open time in UTC."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Ticker:
    """Latest price of a symbol, with the last 24 hours' range and volume where the venue gives them."""

    symbol: str
    ts: datetime
    last: Decimal
    bid: Decimal
    ask: Decimal
    open: Decimal | None = None  # price 24 hours ago
    high: Decimal | None = None
    low: Decimal | None = None
    base_volume: Decimal = Decimal(0)  # traded in the last 24 hours, in the base asset
    quote_volume: Decimal = Decimal(0)  # the same in the quote asset


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime
    fill_id: str = ""


class OrderShape(Protocol):
    """The fields of an order whose combination ``check_order_shape`` rules on."""

    @property
    def type(self) -> OrderType: ...

    @property
    def qty(self) -> Decimal: ...

    @property
    def price(self) -> Decimal | None: ...

    @property
    def stop_price(self) -> Decimal | None: ...

    @property
    def trail_amount(self) -> Decimal | None: ...

    @property
    def trail_fraction(self) -> Decimal | None: ...

    @property
    def tif(self) -> TimeInForce: ...


def check_order_shape(order: OrderShape) -> None:
    """Raise InvalidInput unless the fields fit the order type (the one rule for every layer).

    limit and stop_limit need a positive limit price, the others none; stop and stop_limit
    need a positive stop price; trailing_stop needs exactly one of a positive trail amount or
    a trail fraction in (0, 1); IOC and FOK apply to market and limit orders only.
    """
    type_, qty, price, stop_price = order.type, order.qty, order.price, order.stop_price
    trail_amount, trail_fraction, tif = order.trail_amount, order.trail_fraction, order.tif
    if qty <= 0:
        raise InvalidInput(f"order quantity must be positive, got {qty}")
    if type_.has_limit:
        if price is None or price <= 0:
            raise InvalidInput(f"a {type_.value} order needs a positive limit price")
    elif price is not None:
        raise InvalidInput(f"a {type_.value} order takes no limit price")
    if type_ in (OrderType.STOP, OrderType.STOP_LIMIT):
        if stop_price is None or stop_price <= 0:
            raise InvalidInput(f"a {type_.value} order needs a positive stop price")
    elif stop_price is not None:
        raise InvalidInput(f"a {type_.value} order takes no stop price")
    if type_ is OrderType.TRAILING_STOP:
        if (trail_amount is None) == (trail_fraction is None):
            raise InvalidInput("a trailing_stop order needs exactly one of trail_amount and trail_fraction")
        if trail_amount is not None and trail_amount <= 0:
            raise InvalidInput(f"trail_amount must be positive, got {trail_amount}")
        if trail_fraction is not None and not 0 < trail_fraction < 1:
            raise InvalidInput(f"trail_fraction must be in (0, 1), got {trail_fraction}")
    elif trail_amount is not None or trail_fraction is not None:
        raise InvalidInput(f"a {type_.value} order takes no trail")
    if tif in (TimeInForce.IOC, TimeInForce.FOK) and type_ not in (OrderType.MARKET, OrderType.LIMIT):
        raise InvalidInput(f"time in force {tif.value} applies to market and limit orders, not {type_.value}")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What we ask a venue to do."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None  # limit price; None for market, stop and trailing_stop orders
    # The price the order was sized at (a market order's minimum value is checked against it).
    ref_price: Decimal | None = None
    # When this request was first allowed to go out; venues that expire requests (a receive
    # window) refuse it after that window, so a lost request cannot be executed later.
    sent_at: datetime | None = None
    stop_price: Decimal | None = None  # stop and stop_limit: the trigger price
    trail_amount: Decimal | None = None  # trailing_stop: trail by this much quote currency ...
    trail_fraction: Decimal | None = None  # ... or by this fraction of the best price
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False  # may only shrink the position; never opens or flips one
    # Orders sharing a group are one-cancels-the-other: when one fills the others are cancelled.
    oco_group: str | None = None

    def __post_init__(self) -> None:
        check_order_shape(self)


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the venue reports it."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    avg_price: Decimal | None
    fee: Decimal
    created_at: datetime
    updated_at: datetime
    reason: str = ""
    fills: tuple[Fill, ...] = field(default_factory=tuple)
    stop_price: Decimal | None = None  # for a trailing stop: where its trigger stands now
    trail_amount: Decimal | None = None
    trail_fraction: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    oco_group: str | None = None
    triggered_at: datetime | None = None  # when a stop's trigger traded
