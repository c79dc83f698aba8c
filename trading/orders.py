"""The order lifecycle: an explicit table of legal status moves and the ``Order`` that obeys it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.errors import IllegalTransition, InvalidInput
from trading.models import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueOrder,
    check_order_shape,
)

_S = OrderStatus

TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (_S.NEW, _S.OPEN),
        (_S.NEW, _S.PARTIALLY_FILLED),
        (_S.NEW, _S.FILLED),
        (_S.NEW, _S.REJECTED),
        (_S.NEW, _S.CANCELLED),
        (_S.OPEN, _S.PARTIALLY_FILLED),
        (_S.OPEN, _S.FILLED),
        (_S.OPEN, _S.CANCELLED),
        (_S.OPEN, _S.EXPIRED),
        (_S.PARTIALLY_FILLED, _S.PARTIALLY_FILLED),
        (_S.PARTIALLY_FILLED, _S.FILLED),
        (_S.PARTIALLY_FILLED, _S.CANCELLED),
        (_S.PARTIALLY_FILLED, _S.EXPIRED),
        # a stop-limit whose stop traded rests as a limit order (a stop or trailing stop that
        # triggers fills at once, so it goes straight to FILLED)
        (_S.NEW, _S.TRIGGERED),
        (_S.OPEN, _S.TRIGGERED),
        (_S.TRIGGERED, _S.PARTIALLY_FILLED),
        (_S.TRIGGERED, _S.FILLED),
        (_S.TRIGGERED, _S.CANCELLED),
        (_S.TRIGGERED, _S.EXPIRED),
    }
)


def check_transition(frm: OrderStatus, to: OrderStatus) -> None:
    """Raise ``IllegalTransition`` unless ``frm -> to`` is in the table or a no-op (same state)."""
    if frm == to or (frm, to) in TRANSITIONS:
        return
    raise IllegalTransition(f"illegal order transition {frm.name} -> {to.name}")


@dataclass
class Order:
    """Our record of one order and where it is in its lifecycle."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None = None
    status: OrderStatus = OrderStatus.NEW
    filled_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    venue_order_id: str = ""
    reason: str = ""
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_fraction: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        check_order_shape(self)

    def transition(self, to: OrderStatus, reason: str = "") -> None:
        """Move to ``to`` if the table allows it; keep ``reason`` when one is given."""
        check_transition(self.status, to)
        self.status = to
        if reason:
            self.reason = reason

    def apply_venue(self, v: VenueOrder) -> None:
        """Take the venue's view of this order: its status (through the table) and its fill figures."""
        if v.client_order_id != self.client_order_id:
            raise InvalidInput(
                f"venue order {v.client_order_id!r} does not belong to order {self.client_order_id!r}"
            )
        self.transition(v.status, v.reason)
        self.filled_qty = v.filled_qty
        self.avg_price = v.avg_price
        self.fee = v.fee
        if v.venue_order_id:
            self.venue_order_id = v.venue_order_id

    @property
    def remaining_qty(self) -> Decimal:
        """Quantity not yet filled (never negative)."""
        return max(self.qty - self.filled_qty, Decimal(0))

    @property
    def notional(self) -> Decimal | None:
        """``qty`` times the average fill price, else the limit price; None when neither is known."""
        ref = self.avg_price if self.avg_price is not None else self.price
        return None if ref is None else self.qty * ref

    def to_request(self) -> OrderRequest:
        """The request to send to the venue for this order."""
        return OrderRequest(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            qty=self.qty,
            price=self.price,
            stop_price=self.stop_price,
            trail_amount=self.trail_amount,
            trail_fraction=self.trail_fraction,
            tif=self.tif,
            reduce_only=self.reduce_only,
        )
