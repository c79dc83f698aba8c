"""The one interface every venue adapter implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from trading.models import Candle, Market, OrderRequest, Ticker, VenueOrder


@runtime_checkable
class Exchange(Protocol):
    """An asynchronous trading venue; errors are raised as `trading.errors` classes."""

    name: str

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
