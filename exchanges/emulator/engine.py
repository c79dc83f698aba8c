"""The emulated spot venue's state: balances, orders, trades, prices, and lazy matching.

Everything is in memory and runs on one event loop. Prices replay each listing's bars with
``exchanges.replay.ReplayClock`` as the paper exchange does: the current bar's close is the last
price, with a 1 bp spread around it; market orders fill at once at last ± slippage; limit orders
rest and fill at their limit price when a bar after their creation bar crosses it, in up to
``fill_parts`` trades over successive crossing bars. Stop-loss and take-profit orders (with a
stop price or a trailingDelta) act by ``trading.triggers``' rules (see
``exchanges.emulator.triggering``): a triggered market order fills whole at its trigger price (the
open, on a gap) with slippage, a triggered limit one fills there, never past its limit, or starts
working as a limit order. Events of all orders are applied in bar order, triggers before limit
fills on one bar, and of two triggers the one the price meets first. IOC and FOK limits fill at
once at the market when their limit is marketable there and otherwise expire. The two orders of
an OCO list share one reservation: when one of them trades or triggers the other expires, and
cancelling either cancels both. A pinned price replaces the bars of a listing (as a one-price bar)
until unpinned. Matching runs on every request, before it is served.

Quote amounts (cost, commission) are kept at 8 decimals, Binance's asset precision, so balances,
orders and trades agree exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from exchanges.emulator.listing import Listing
from exchanges.emulator.triggering import (
    CONDITIONAL_TYPES,
    LIMIT_TYPES,
    Step,
    bips_fraction,
    next_step,
    side_of,
    trigger_side,
)
from exchanges.paper_db import to_step
from exchanges.replay import ReplayClock
from trading.models import Candle, Side
from trading.triggers import BarLike, improve, marketable, trail_level, would_trigger_now

_Q8 = Decimal("1E-8")
_HALF_SPREAD = Decimal("0.00005")  # half of a 1 bp spread
_ZERO = Decimal(0)
_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})
IMMEDIATE_TIFS = frozenset({"IOC", "FOK"})
# Binance's TRAILING_DELTA filter, the same above and below the market (exchangeInfo shows it)
MIN_TRAILING_DELTA, MAX_TRAILING_DELTA = 10, 2000
# which leg types an OCO may pair: one of each group
OCO_STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})
OCO_OTHER_TYPES = frozenset({"LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})


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
    """A validated order request (one of quantity / quote_order_qty is set)."""

    symbol: str
    side: str  # BUY / SELL
    type: str  # MARKET, LIMIT, LIMIT_MAKER, STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT)
    client_order_id: str
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str = "GTC"
    stop_price: Decimal | None = None
    trailing_delta: int | None = None  # bips


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
    price: Decimal  # 0 for market-type orders
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
    reserve_price: Decimal = _ZERO  # the price its reservation was figured at
    trades: list[Trade] = field(default_factory=list)
    stop_price: Decimal = _ZERO  # 0 when none was given
    trailing_delta: int | None = None
    trail_best: Decimal | None = None  # a tracking trailing stop's best price so far
    trailing_ms: int = -1  # when a trailing stop began tracking
    working_ms: int = -1  # when it began working on the book (a conditional order: its trigger)
    order_list_id: int = -1

    @property
    def is_open(self) -> bool:
        """True while the order rests (NEW or PARTIALLY_FILLED)."""
        return self.status in OPEN_STATUSES

    @property
    def working(self) -> bool:
        """True once the order works on the book (at once, or a conditional one once triggered)."""
        return self.working_ms != -1


@dataclass(slots=True)
class OrderList:
    """An OCO pair: its two orders, above the market first."""

    id: int
    client_id: str
    symbol: str
    order_ids: tuple[int, int]
    time_ms: int


@dataclass(frozen=True, slots=True)
class _Flat:
    """A one-price bar (a pinned price)."""

    open: Decimal
    high: Decimal
    low: Decimal


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
        self.lists: dict[int, OrderList] = {}
        self.pins: dict[str, Decimal] = {}
        self._next_order = 1
        self._next_trade = 1
        self._next_list = 1

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
        """Validate and accept an order: a market order fills at once, an IOC or FOK limit fills at
        once or expires, the others rest."""
        listing = self.listing(req.symbol)
        tick = self.replay.tick(now)
        order, asset, need = self._prepare(req, listing, tick, now)
        if self._balance(asset).free < need:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        self._add(order)
        last = self.last(listing, tick)
        if req.type == "MARKET":
            self._execute(order, order.qty, order.reserve_price, now, is_maker=False)
        elif req.time_in_force in IMMEDIATE_TIFS and req.type == "LIMIT":
            at = self.slipped(listing, req.side, last)
            if marketable(side_of(order), order.price, at):
                self._execute(order, order.qty, at, now, is_maker=False)
            else:
                order.status = "EXPIRED"
        else:
            self._reserve(order, asset, need)
        return order

    def place_oco(self, client_id: str, above: NewOrder, below: NewOrder, now: datetime) -> OrderList:
        """Validate and accept an OCO pair; both orders rest on one reservation (the larger need)."""
        listing = self.listing(above.symbol)
        tick = self.replay.tick(now)
        if {above.type, below.type} & OCO_STOP_TYPES == set() or {
            above.type,
            below.type,
        } & OCO_OTHER_TYPES == set():
            raise BinanceError(-1014, "Unsupported order combination.")
        last = self.last(listing, tick)
        high, low = _oco_level(above), _oco_level(below)
        if (high is not None and high <= last) or (low is not None and low >= last):
            raise BinanceError(-2010, "The relationship of the prices for the orders is not correct.")
        if any(self.list_open(x) and x.client_id == client_id for x in self.lists.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        if above.client_order_id == below.client_order_id:
            raise BinanceError(-2010, "Duplicate order sent.")
        first, asset, need_above = self._prepare(above, listing, tick, now)
        second, _, need_below = self._prepare(below, listing, tick, now)
        need = max(need_above, need_below)
        if self._balance(asset).free < need:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        order_list = OrderList(self._next_list, client_id, listing.id, (0, 0), ms(now))
        self._next_list += 1
        for order in (first, second):
            order.order_list_id = order_list.id
            self._add(order)
            order.reserved_asset = asset
        order_list.order_ids = (first.order_id, second.order_id)
        self.lists[order_list.id] = order_list
        self._reserve(first if need_above >= need_below else second, asset, need)
        return order_list

    def list_orders(self, order_list: OrderList) -> list[Order]:
        """The orders of a list, above the market first."""
        return [self.orders[i] for i in order_list.order_ids]

    def list_open(self, order_list: OrderList) -> bool:
        """True while an order of the list still rests."""
        return any(o.is_open for o in self.list_orders(order_list))

    def find_list(self, symbol: str | None, list_id: int | None, client_id: str | None) -> OrderList:
        """An order list by id or client id (the latest with it); -2011 when none."""
        for x in reversed(self.lists.values()):
            if symbol not in (None, x.symbol):
                continue
            if (list_id is None or x.id == list_id) and (client_id is None or x.client_id == client_id):
                return x
        raise BinanceError(-2011, "Unknown order list sent.")

    def _prepare(
        self, req: NewOrder, listing: Listing, tick: int, now: datetime
    ) -> tuple[Order, str, Decimal]:
        """The order a request makes, the asset it reserves and how much; raises Binance's refusals."""
        last = self.last(listing, tick)
        side = Side.BUY if req.side == "BUY" else Side.SELL
        step = listing.price_step
        if req.type == "MARKET":
            price = self.slipped(listing, req.side, last)
            if req.quantity is not None:
                qty = req.quantity
            elif req.quote_order_qty is not None:
                qty = to_step(req.quote_order_qty / price, listing.qty_step, ROUND_FLOOR)
            else:  # the wire layer refuses this already, with the same answer
                raise BinanceError(
                    -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
                )
            ref = price
        else:
            if req.quantity is None:  # refused by the wire layer already
                raise BinanceError(-1102, "Mandatory parameter 'quantity' was not sent.")
            qty = req.quantity
            for value in (req.price, req.stop_price):
                if value is not None and (value < step or value % step != 0):
                    raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
            price = req.price or _ZERO
            ref = price
        if qty < listing.min_qty or qty % listing.qty_step != 0:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if (
            req.trailing_delta is not None
            and not MIN_TRAILING_DELTA <= req.trailing_delta <= MAX_TRAILING_DELTA
        ):
            raise BinanceError(-1013, "Filter failure: TRAILING_DELTA")
        order = Order(
            order_id=0,
            client_order_id=req.client_order_id,
            symbol=listing.id,
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force,
            qty=qty,
            price=price if req.type in LIMIT_TYPES else _ZERO,
            quote_order_qty=req.quote_order_qty or _ZERO,
            time_ms=ms(now),
            update_ms=ms(now),
            created_tick=tick,
            checked_tick=tick,
            part_qty=_ZERO,
            parts_left=max(1, min(self.fill_parts, int(qty / listing.qty_step))),
            stop_price=req.stop_price or _ZERO,
            trailing_delta=req.trailing_delta,
            working_ms=-1 if req.type in CONDITIONAL_TYPES else ms(now),
        )
        order.part_qty = to_step(qty / order.parts_left, listing.qty_step, ROUND_FLOOR)
        if req.type in CONDITIONAL_TYPES:
            if req.stop_price is not None and would_trigger_now(trigger_side(order), req.stop_price, last):
                raise BinanceError(-2010, "Stop price would trigger immediately.")
            if req.trailing_delta is not None and req.stop_price is None:  # tracks from placement
                order.trail_best, order.trailing_ms = last, ms(now)
            if req.type not in LIMIT_TYPES:  # it will trade as a market order: value it at its trigger
                ref = req.stop_price or trail_level(
                    side, last, fraction=bips_fraction(req.trailing_delta or 0), step=step
                )
        if req.type == "LIMIT_MAKER":
            bid, ask = self.bid_ask(listing, last)
            if marketable(side, price, ask if side is Side.BUY else bid):
                raise BinanceError(-2010, "Order would immediately match and take.")
        if qty * ref < listing.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if any(o.is_open and o.client_order_id == req.client_order_id for o in self.orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        order.reserve_price = ref
        asset = listing.quote if req.side == "BUY" else listing.base
        return order, asset, self._reservation(req.side, qty, ref)

    def _add(self, order: Order) -> None:
        order.order_id = self._next_order
        self._next_order += 1
        self.orders[order.order_id] = order

    def _reserve(self, order: Order, asset: str, need: Decimal) -> None:
        order.reserved_asset, order.reserved = asset, need
        self._balance(asset).locked += need

    def slipped(self, listing: Listing, side: str, price: Decimal) -> Decimal:
        """A market execution's price from ``price``: slippage against the trader, on the tick grid."""
        if side == "BUY":
            return max(
                listing.price_step, to_step(price * (1 + self.slippage), listing.price_step, ROUND_CEILING)
            )
        return max(listing.price_step, to_step(price * (1 - self.slippage), listing.price_step, ROUND_FLOOR))

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
        """Cancel a resting order (and the rest of its order list) and release what it locked; -2011
        when it no longer rests."""
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        for o in self._with_siblings(order):
            if o.is_open:
                self._end(o, "CANCELED", ms(now))
        return order

    def force_fill(self, order: Order, price: Decimal | None, now: datetime) -> Order:
        """Fill what remains of a resting order in one trade at ``price`` (default: its limit or stop)."""
        if not order.is_open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._take_list(order, ms(now))
        at = price or order.price or order.stop_price or order.reserve_price
        self._execute(order, order.qty - order.executed, at, now, is_maker=True)
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
        """Act on the resting orders for the bars (or pins) since they were last checked: all
        orders' events in bar order, triggers before limit fills on one bar, then lower order ids."""
        tick = self.replay.tick(now)
        while True:
            due = [d for o in self.open_orders() if tick > o.checked_tick for d in self._next(o, tick)]
            if not due:
                break
            at, step, order = min(due, key=lambda d: (d[0], d[1].rank, d[1].meets, d[2].order_id))
            self._act(order, step, at)
        for order in self.open_orders():
            if tick > order.checked_tick:
                if order.trail_best is not None and not order.working:
                    side = side_of(order)
                    for bar in self._walk(self.listings[order.symbol], order.checked_tick + 1, tick)[1]:
                        order.trail_best = improve(side, order.trail_best, bar)
                order.checked_tick = tick

    def _next(self, order: Order, tick: int) -> list[tuple[int, Step, Order]]:
        listing = self.listings[order.symbol]
        ticks, bars = self._walk(listing, order.checked_tick + 1, tick)
        step = next_step(order, bars, listing.price_step)
        return [] if step is None else [(ticks[step.index], step, order)]

    def _walk(self, listing: Listing, first: int, last: int) -> tuple[list[int], list[BarLike]]:
        """Ticks ``first..last`` and their bars; after two laps of the same bars nothing new can
        happen, so the walk stops there."""
        pin = self.pins.get(listing.id)
        start, span = self.replay.bounds(len(listing.bars))
        ticks = list(range(first, min(last, first - 1 + 2 * span) + 1))
        if pin is not None:
            return ticks, [_Flat(pin, pin, pin)] * len(ticks)
        return ticks, [listing.bars[start + t % span] for t in ticks]

    def _act(self, order: Order, step: Step, tick: int) -> None:
        """Apply one event of a resting order at ``tick``."""
        ts = self.replay.tick_time(tick)
        now_ms = ms(ts)
        order.checked_tick = tick
        if step.kind == "track":
            order.trail_best, order.trailing_ms = step.price, now_ms
            return
        self._take_list(order, now_ms)  # an OCO's other order expires once this one acts
        if step.kind == "work":
            order.working_ms = order.update_ms = now_ms
            if order.time_in_force in IMMEDIATE_TIFS:
                self._end(order, "EXPIRED", now_ms)
            return
        if not step.taker:
            part = order.qty - order.executed if order.parts_left <= 1 else order.part_qty
            self._execute(order, part, order.price, ts, is_maker=True)
            return
        listing = self.listings[order.symbol]
        price = self.slipped(listing, order.side, step.price)
        if order.type in LIMIT_TYPES:  # ... but never past its limit
            price = min(price, order.price) if order.side == "BUY" else max(price, order.price)
        order.working_ms = now_ms
        qty = order.qty - order.executed
        if order.side == "BUY":
            cost = q8(qty * price)
            if cost + q8(cost * self.fee_rate) > self._balance(listing.quote).free + order.reserved:
                self._end(order, "EXPIRED", now_ms)  # triggered, but the account cannot pay for it
                return
        self._execute(order, qty, price, ts, is_maker=False)

    # ---- order lists --------------------------------------------------------------------------

    def _with_siblings(self, order: Order) -> list[Order]:
        if order.order_list_id == -1:
            return [order]
        return self.list_orders(self.lists[order.order_list_id])

    def _take_list(self, order: Order, now_ms: int) -> None:
        """``order`` acts: it takes over its OCO's reservation and the other order expires."""
        for other in self._with_siblings(order):
            if other is not order and other.is_open:
                order.reserved += other.reserved
                order.reserved_asset = order.reserved_asset or other.reserved_asset
                other.reserved = _ZERO
                self._end(other, "EXPIRED", now_ms)

    def _end(self, order: Order, status: str, now_ms: int) -> None:
        """End a resting order unfilled (what remains of it) and release its reservation."""
        self._release(order, order.reserved)
        order.status = status
        order.update_ms = now_ms

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
            part = self._reservation(order.side, qty, order.reserve_price)
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


def _oco_level(leg: NewOrder) -> Decimal | None:
    """The price an OCO order's place against the last price is judged by: a limit maker's or a
    take-profit limit's limit price, else its stop price (None for a trailing order without one)."""
    if leg.type in ("LIMIT_MAKER", "TAKE_PROFIT_LIMIT"):
        return leg.price
    return leg.stop_price
