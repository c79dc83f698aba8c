"""Value objects shared by every layer: identifiers, enums, markets, candles, orders seen at a venue."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

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


class OrderType(StrEnum):
    """Order type."""

    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """Lifecycle state of an order; see ``trading.orders.TRANSITIONS``."""

    NEW = "new"  # known to us, not yet acknowledged by the venue
    OPEN = "open"  # resting at the venue
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
    """What a strategy wants its position to be."""

    LONG = "long"
    FLAT = "flat"
    HOLD = "hold"  # keep whatever is held now


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
        readable = f"{strategy_id}-c{cycle}-l{leg}"
        if len(readable) <= 36:
            return cls(readable)
        digest = hashlib.sha256(strategy_id.encode()).hexdigest()[:12]
        return cls(f"h{digest}-c{cycle}-l{leg}")

    @classmethod
    def for_flatten(cls, strategy_id: str, halt_id: str, leg: int) -> ClientOrderId:
        """The one id of the order that flattens leg ``leg`` of a strategy for halt ``halt_id``."""
        if leg < 0:
            raise InvalidInput("leg must be non-negative")
        tag = hashlib.sha256(halt_id.encode()).hexdigest()[:8]
        readable = f"{strategy_id}-x{tag}-l{leg}"
        if len(readable) <= 36:
            return cls(readable)
        digest = hashlib.sha256(strategy_id.encode()).hexdigest()[:12]
        return cls(f"h{digest}-x{tag}-l{leg}")

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


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What we ask a venue to do."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None  # limit price; None for market orders
    # The price the order was sized at (a market order's minimum value is checked against it).
    ref_price: Decimal | None = None
    # When this request was first allowed to go out; venues that expire requests (a receive
    # window) refuse it after that window, so a lost request cannot be executed later.
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise InvalidInput(f"order quantity must be positive, got {self.qty}")
        if self.type is OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise InvalidInput("a limit order needs a positive price")


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
