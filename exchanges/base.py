"""The one interface every venue adapter implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from trading.errors import InvalidOrder
from trading.models import Candle, Market, OrderRequest, OrderType, Ticker, TimeInForce, VenueOrder


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue can be asked to do; anything else it refuses with InvalidOrder before sending."""

    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    # How many orders one one-cancels-the-other group may hold: 0, none; 2, a pair of one limit
    # order and one stop (an order list placed by create_oco, as Binance's); more, any mix.
    oco_legs: int
    reduce_only: bool  # honours OrderRequest.reduce_only
    shorts: bool  # a sell may open a short position
    trail_amount: bool  # trailing stops by an amount of quote currency
    trail_fraction: bool  # trailing stops by a fraction of the best price

    @property
    def oco(self) -> bool:
        """True when the venue groups orders one-cancels-the-other."""
        return self.oco_legs >= 2

    def check(self, venue: str, req: OrderRequest) -> None:
        """Raise InvalidOrder, naming ``venue`` and the feature, when ``req`` needs what it lacks."""
        what = None
        if req.type not in self.order_types:
            what = f"{req.type.value} orders"
        elif req.tif not in self.time_in_force:
            what = f"time in force {req.tif.value}"
        elif req.reduce_only and not self.reduce_only:
            what = "reduce-only orders"
        elif req.oco_group is not None and not self.oco:
            what = "one-cancels-the-other groups"
        elif req.trail_amount is not None and not self.trail_amount:
            what = "trailing stops by an amount (only by a fraction of the price)"
        elif req.trail_fraction is not None and not self.trail_fraction:
            what = "trailing stops by a fraction of the price"
        if what is not None:
            raise InvalidOrder(f"{venue} does not support {what}: order {req.client_order_id} not sent")


def check_oco_pair(venue: str, first: OrderRequest, second: OrderRequest) -> None:
    """Raise InvalidOrder unless the two requests can be one OCO pair: the same group (set),
    symbol, side and quantity, and different client order ids."""
    if first.oco_group is None or first.oco_group != second.oco_group:
        raise InvalidOrder(f"{venue}: an OCO pair needs one oco_group on both orders")
    if (first.symbol, first.side, first.qty) != (second.symbol, second.side, second.qty):
        raise InvalidOrder(
            f"{venue}: the orders of OCO group {first.oco_group!r} must share symbol, side and quantity"
        )
    if first.client_order_id == second.client_order_id:
        raise InvalidOrder(f"{venue}: the orders of OCO group {first.oco_group!r} need two client order ids")


EVERY_ORDER_TYPE = frozenset(OrderType)
EVERY_TIME_IN_FORCE = frozenset(TimeInForce)


@runtime_checkable
class Exchange(Protocol):
    """An asynchronous trading venue; errors are raised as `trading.errors` classes.

    ``capabilities`` says which order types, times in force and features the venue takes;
    ``create_order`` and ``create_oco`` refuse the rest with InvalidOrder, without a request.
    """

    name: str
    capabilities: Capabilities

    async def markets(self) -> list[Market]:
        """Every market the venue lists."""
        ...

    async def market(self, symbol: str) -> Market:
        """One market by its "BASE/QUOTE" symbol; raises UnknownSymbol."""
        ...

    async def ticker(self, symbol: str) -> Ticker:
        """Latest price, bid and ask of a symbol."""
        ...

    async def tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        """Tickers of several symbols (every listed one when None), in as few requests as the venue allows."""
        ...

    async def ohlcv(
        self,
        symbol: str,
        limit: int = 100,
        *,
        timeframe: str | None = None,
        since: datetime | None = None,
    ) -> list[Candle]:
        """Bars of ``timeframe`` (None: the venue's default for the symbol), oldest first.

        Without ``since``: the last ``limit`` bars up to and including the current one.
        With ``since``: at most ``limit`` bars opening at or after ``since``, never past the present.
        """
        ...

    async def balance(self) -> dict[str, Decimal]:
        """Total holdings per asset, including amounts reserved by open orders."""
        ...

    async def create_order(self, req: OrderRequest) -> VenueOrder:
        """Place an order; raises InvalidOrder, InsufficientBalance, DuplicateClientOrderId, ..."""
        ...

    async def create_oco(self, first: OrderRequest, second: OrderRequest) -> tuple[VenueOrder, VenueOrder]:
        """Place a one-cancels-the-other pair, both carrying the same ``oco_group``, symbol, side
        and quantity (typically a take-profit limit and a stop); when one fills, or is cancelled,
        the other is cancelled. Both are placed or neither (venues without ``capabilities.oco``
        raise InvalidOrder)."""
        ...

    async def fetch_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """An order by our client order id; raises OrderNotFound."""
        ...

    async def cancel_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Cancel an open order; a terminal order is returned unchanged."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Orders still resting at the venue."""
        ...

    async def orders(self, since: datetime | None = None) -> list[VenueOrder]:
        """All orders created at or after ``since`` (all when None), oldest first."""
        ...

    async def close(self) -> None:
        """Release connections; the object may not be used afterwards."""
        ...
