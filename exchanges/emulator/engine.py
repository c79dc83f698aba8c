"""The emulated spot venue's state: balances, orders, trades, prices, and lazy matching.

Everything is in memory and runs on one event loop. Prices replay each listing's bars with
``exchanges.replay.ReplayClock`` as the paper exchange does: the current bar's close is the last
price, with a 1 bp spread around it; market orders fill at once at last ± slippage; limit orders
rest and fill at their limit price when a bar after their creation bar crosses it, in up to
``fill_parts`` trades over successive crossing bars. A pinned price replaces the bars of a
listing (as a one-price bar) until unpinned. Matching runs on every request, before it is served.

Quote amounts (cost, commission) are kept at 8 decimals, Binance's asset precision, so balances,
orders and trades agree exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from exchanges.emulator.listing import Listing
from exchanges.paper_db import to_step
from exchanges.replay import ReplayClock
from trading.models import Candle

_Q8 = Decimal("1E-8")
_HALF_SPREAD = Decimal("0.00005")  # half of a 1 bp spread
_ZERO = Decimal(0)
_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


def q8(d: Decimal) -> Decimal:
    """An amount at 8 decimals (Binance's asset precision)."""
    return d.quantize(_Q8, ROUND_HALF_UP)


def ms(ts: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return (ts - _UNIX) // timedelta(milliseconds=1)


class BinanceError(Exception):
    """A request the venue refuses, answered as Binance does: HTTP ``status`` with ``{code, msg}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status


@dataclass(slots=True)
class Balance:
    """An asset's total and the part of it locked by open orders."""

    total: Decimal = _ZERO
    locked: Decimal = _ZERO

    @property
    def free(self) -> Decimal:
        """The amount available to new orders."""
        return self.total - self.locked


@dataclass(slots=True)
class Trade:
    """One execution of (part of) an order."""

    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_buyer: bool
    is_maker: bool


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A validated ``POST /api/v3/order`` (one of quantity / quote_order_qty is set)."""

    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET / LIMIT
    client_order_id: str
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str = "GTC"


@dataclass(slots=True)
class Order:
    """An order at the venue, in Binance's terms."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal
    price: Decimal  # 0 for market orders
    quote_order_qty: Decimal
    time_ms: int
    created_tick: int
    part_qty: Decimal
    parts_left: int
    status: str = "NEW"
    executed: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    update_ms: int = 0
    checked_tick: int = 0
    reserved_asset: str | None = None
    reserved: Decimal = _ZERO
    trades: list[Trade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """True while the order rests (NEW or PARTIALLY_FILLED)."""
        return self.status in OPEN_STATUSES


class Venue:
    """Balances, orders and trades of one account, priced by replayed bars."""

    def __init__(
        self,
        listings: Iterable[Listing],
        *,
        balances: Mapping[str, Decimal],
        fee_rate: Decimal,
        slippage: Decimal,
        fill_parts: int,
        replay: ReplayClock,
    ) -> None:
        self.listings: dict[str, Listing] = {}
        for listing in listings:
            if listing.id in self.listings:
                raise ValueError(
                    f"{listing.symbol} and {self.listings[listing.id].symbol} share id {listing.id}"
                )
            self.listings[listing.id] = listing
        self.by_symbol = {x.symbol: x for x in self.listings.values()}
        self.fee_rate = fee_rate
        self.slippage = slippage
        self.fill_parts = fill_parts
        self.replay = replay
        self.balances = {asset: Balance(Decimal(v)) for asset, v in balances.items()}
        self.orders: dict[int, Order] = {}
        self.pins: dict[str, Decimal] = {}
        self._next_order = 1
        self._next_trade = 1

    # ---- markets and prices -------------------------------------------------------------------

    def listing(self, symbol_id: str) -> Listing:
        """A listing by its Binance id (``MSFTUSD``); -1121 when unknown."""
        found = self.listings.get(symbol_id)
        if found is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return found

    def lookup(self, symbol: str) -> Listing:
        """A listing by Binance id or unified symbol (``MSFT/USD``); -1121 when unknown."""
        found = self.by_symbol.get(symbol)
        return found if found is not None else self.listing(symbol)

    def index(self, listing: Listing, tick: int) -> int:
        """Index of the listing's current bar at ``tick``."""
        return self.replay.index(len(listing.bars), tick)

    def last(self, listing: Listing, tick: int) -> Decimal:
        """The pinned price, else the current bar's close."""
        pin = self.pins.get(listing.id)
        return pin if pin is not None else listing.bars[self.index(listing, tick)].close

    def bid_ask(self, listing: Listing, last: Decimal) -> tuple[Decimal, Decimal]:
        """A 1 bp spread around ``last``, on the price grid."""
        step = listing.price_step
        bid = max(step, to_step(last * (1 - _HALF_SPREAD), step, ROUND_FLOOR))
        return bid, to_step(last * (1 + _HALF_SPREAD), step, ROUND_CEILING)

    def day(self, listing: Listing, tick: int) -> list[Candle]:
        """The replayed bars that opened in the 24 hours up to and including the current one."""
        bars = listing.bars
        idx = self.index(listing, tick)
        since = bars[idx].ts - timedelta(days=1)
        first = idx
        while first > max(0, idx - 24 * 60) and bars[first - 1].ts > since:
            first -= 1
        return [bars[i] for i in range(first, idx + 1)]

    def history(self, listing: Listing, tick: int) -> Sequence[Candle]:
        """The bars up to the current one (never a bar the replay has not reached)."""
        return listing.bars[: self.index(listing, tick) + 1]

    def pin(self, listing: Listing, price: Decimal | None, now: datetime) -> None:
        """Fix a listing's price (rounded to its tick size) until unpinned with None."""
        self.match(now)  # ticks so far are matched against what was in force then
        if price is None:
            self.pins.pop(listing.id, None)
            return
        if price <= 0:
            raise BinanceError(-1100, "Illegal characters found in parameter 'price'.")
        self.pins[listing.id] = max(listing.price_step, to_step(price, listing.price_step, ROUND_HALF_UP))

    # ---- orders -------------------------------------------------------------------------------

    def place(self, req: NewOrder, now: datetime) -> Order:
        """Validate and accept an order; a market order fills at once, a limit order rests."""
        listing = self.listing(req.symbol)
        tick = self.replay.tick(now)
        if req.type == "MARKET":
            last = self.last(listing, tick)
            slipped = last * (1 + self.slippage) if req.side == "BUY" else last * (1 - self.slippage)
            rounding = ROUND_CEILING if req.side == "BUY" else ROUND_FLOOR
            price = max(listing.price_step, to_step(slipped, listing.price_step, rounding))
            if req.quantity is not None:
                qty = req.quantity
            elif req.quote_order_qty is not None:
                qty = to_step(req.quote_order_qty / price, listing.qty_step, ROUND_FLOOR)
            else:  # the wire layer refuses this already, with the same answer
                raise BinanceError(
                    -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
                )
        else:
            if req.price is None or req.quantity is None:  # refused by the wire layer already
                raise BinanceError(-1102, "Mandatory parameter 'price' or 'quantity' was not sent.")
            price, qty = req.price, req.quantity
            if price < listing.price_step or price % listing.price_step != 0:
                raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if qty < listing.min_qty or qty % listing.qty_step != 0:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if qty * price < listing.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if any(o.is_open and o.client_order_id == req.client_order_id for o in self.orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        asset = listing.quote if req.side == "BUY" else listing.base
        need = self._reservation(req.side, qty, price)
        if self._balance(asset).free < need:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        parts = max(1, min(self.fill_parts, int(qty / listing.qty_step)))
        order = Order(
            order_id=self._next_order,
            client_order_id=req.client_order_id,
            symbol=listing.id,
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force,
            qty=qty,
            price=price if req.type == "LIMIT" else _ZERO,
            quote_order_qty=req.quote_order_qty or _ZERO,
            time_ms=ms(now),
            update_ms=ms(now),
            created_tick=tick,
            checked_tick=tick,
            part_qty=to_step(qty / parts, listing.qty_step, ROUND_FLOOR),
            parts_left=parts,
        )
        self._next_order += 1
        self.orders[order.order_id] = order
        if req.type == "LIMIT":
            order.reserved_asset, order.reserved = asset, need
            self._balance(asset).locked += need
        else:
            self._execute(order, qty, price, now, is_maker=False)
        return order

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order:
        """An order of a symbol by id or client order id (the latest with it); -2013 when none."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and order.symbol == symbol:
                if client_order_id is None or order.client_order_id == client_order_id:
                    return order
        else:
            for order in reversed(self.orders.values()):
                if order.symbol == symbol and order.client_order_id == client_order_id:
                    return order
        raise BinanceError(-2013, "Order does not exist.")

    def cancel(self, order: Order, now: datetime) -> Order:
        """Cancel a resting order and release what it locked; -2011 when it no longer rests."""
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._release(order, order.reserved)
        order.status = "CANCELED"
        order.update_ms = ms(now)
        return order

    def force_fill(self, order: Order, price: Decimal | None, now: datetime) -> Order:
        """Fill what remains of a resting order in one trade at ``price`` (default its limit price)."""
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._execute(order, order.qty - order.executed, price or order.price, now, is_maker=True)
        return order

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Resting orders, oldest first."""
        return [o for o in self.orders.values() if o.is_open and symbol in (None, o.symbol)]

    def trades(self, symbol: str) -> list[Trade]:
        """Every trade of a symbol, oldest first."""
        out = [t for o in self.orders.values() if o.symbol == symbol for t in o.trades]
        return sorted(out, key=lambda t: t.id)

    # ---- matching -----------------------------------------------------------------------------

    def match(self, now: datetime) -> None:
        """Fill the resting limit orders that the bars (or pins) since they were last checked cross."""
        tick = self.replay.tick(now)
        for order in self.open_orders():
            if tick > order.checked_tick:
                self._match_order(order, self.listings[order.symbol], tick)
                order.checked_tick = tick

    def _match_order(self, order: Order, listing: Listing, tick: int) -> None:
        pin = self.pins.get(listing.id)
        start, span = self.replay.bounds(len(listing.bars))
        last_hit = order.checked_tick
        for t in range(order.checked_tick + 1, tick + 1):
            if pin is not None:
                low = high = pin
            else:
                bar = listing.bars[start + t % span]
                low, high = bar.low, bar.high
            if (low <= order.price) if order.side == "BUY" else (high >= order.price):
                part = order.qty - order.executed if order.parts_left <= 1 else order.part_qty
                self._execute(order, part, order.price, self.replay.tick_time(t), is_maker=True)
                last_hit = t
                if not order.is_open:
                    return
            elif t - last_hit >= span:
                return  # a whole lap without a cross: the bars repeat, so none will come

    # ---- balances -----------------------------------------------------------------------------

    def _balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())

    def _reservation(self, side: str, qty: Decimal, price: Decimal) -> Decimal:
        if side == "SELL":
            return qty
        cost = q8(qty * price)
        return cost + q8(cost * self.fee_rate)

    def _release(self, order: Order, amount: Decimal) -> None:
        if order.reserved_asset is not None and amount:
            self._balance(order.reserved_asset).locked -= amount
            order.reserved -= amount

    def _execute(self, order: Order, qty: Decimal, price: Decimal, ts: datetime, *, is_maker: bool) -> None:
        """One trade of ``qty`` at ``price``: move balances exactly, release the part's lock."""
        listing = self.listings[order.symbol]
        cost = q8(qty * price)
        fee = q8(cost * self.fee_rate)
        done = order.executed + qty >= order.qty
        if order.reserved_asset is not None:
            part = self._reservation(order.side, qty, order.price)
            self._release(order, order.reserved if done else min(order.reserved, part))
        base, quote = self._balance(listing.base), self._balance(listing.quote)
        if order.side == "BUY":
            quote.total -= cost + fee
            base.total += qty
        else:
            base.total -= qty
            quote.total += cost - fee
        order.executed += qty
        order.cum_quote += cost
        order.parts_left -= 1
        order.status = "FILLED" if done else "PARTIALLY_FILLED"
        order.update_ms = ms(ts)
        order.trades.append(
            Trade(
                id=self._next_trade,
                order_id=order.order_id,
                symbol=order.symbol,
                price=price,
                qty=qty,
                quote_qty=cost,
                commission=fee,
                commission_asset=listing.quote,
                time_ms=ms(ts),
                is_buyer=order.side == "BUY",
                is_maker=is_maker,
            )
        )
        self._next_trade += 1
