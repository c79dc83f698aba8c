"""The Binance spot REST endpoints the emulator serves, as functions of the venue and the request.

Each endpoint takes the venue, the request parameters and the venue time, and returns the JSON
body or raises BinanceError. ``ROUTES`` lists them with their method, whether they are signed, and
their request weight.
"""

from __future__ import annotations

import bisect
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from exchanges.emulator.engine import BinanceError, Order, Venue, ms
from exchanges.emulator.listing import Listing
from exchanges.emulator.wire import (
    Params,
    book_ticker,
    cancel_json,
    exchange_info,
    fmt,
    int_param,
    interval_ms,
    kline,
    limit_param,
    list_json,
    new_oco,
    new_order,
    new_order_json,
    order_json,
    required,
    symbols_param,
    ticker_24hr,
    trade_json,
)

Endpoint = Callable[[Venue, Params, datetime], Any]
_ID_CHARS = string.ascii_letters + string.digits
_NIL = "0.00000000"


@dataclass(frozen=True, slots=True)
class Route:
    """An endpoint under ``/api/v3``."""

    method: str
    path: str
    endpoint: Endpoint
    signed: bool
    weight: int
    weight_all: int | None = None  # the weight without ``symbol`` / ``symbols``, when it differs


def random_id() -> str:
    """A 22-character id like those Binance makes up for requests that send none."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(22))


def _selected(v: Venue, p: Params) -> tuple[list[Listing], bool]:
    """The listings a ``symbol``/``symbols`` parameter names (all without one); True for one ``symbol``."""
    names = symbols_param(p)
    if names is None:
        return list(v.listings.values()), False
    return [v.listing(n) for n in names], "symbol" in p


# ---- public ---------------------------------------------------------------------------------


def ping(v: Venue, p: Params, now: datetime) -> Any:
    return {}


def server_time(v: Venue, p: Params, now: datetime) -> Any:
    return {"serverTime": ms(now)}


def get_exchange_info(v: Venue, p: Params, now: datetime) -> Any:
    listings, _ = _selected(v, p)
    return exchange_info(listings, ms(now))


def get_ticker_24hr(v: Venue, p: Params, now: datetime) -> Any:
    listings, single = _selected(v, p)
    tick = v.replay.tick(now)
    out = []
    for x in listings:
        last = v.last(x, tick)
        bid, ask = v.bid_ask(x, last)
        out.append(ticker_24hr(x, v.day(x, tick), last, bid, ask, ms(now)))
    return out[0] if single else out


def get_book_ticker(v: Venue, p: Params, now: datetime) -> Any:
    listings, single = _selected(v, p)
    tick = v.replay.tick(now)
    out = [book_ticker(x, *v.bid_ask(x, v.last(x, tick))) for x in listings]
    return out[0] if single else out


def get_price_ticker(v: Venue, p: Params, now: datetime) -> Any:
    listings, single = _selected(v, p)
    tick = v.replay.tick(now)
    out = [{"symbol": x.id, "price": fmt(v.last(x, tick))} for x in listings]
    return out[0] if single else out


def get_klines(v: Venue, p: Params, now: datetime) -> Any:
    """Bars of the series' own interval, never past the replay's current bar."""
    x = v.listing(required(p, "symbol"))
    interval = required(p, "interval")
    length = interval_ms(interval)
    served = x.interval()
    if served and interval != served:
        raise BinanceError(-1120, "Invalid interval.")
    limit = limit_param(p, 500, 1000)
    start, end = int_param(p, "startTime"), int_param(p, "endTime")
    bars = v.history(x, v.replay.tick(now))
    lo, hi = 0, len(bars)
    if start is not None:
        lo = bisect.bisect_left(bars, _dt(start), key=lambda c: c.ts)
    if end is not None:
        hi = bisect.bisect_right(bars, _dt(end), key=lambda c: c.ts)
    window = bars[lo:hi]
    chosen = window[:limit] if start is not None else window[-limit:]
    return [kline(c, length) for c in chosen]


def _dt(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


# ---- signed ---------------------------------------------------------------------------------


def _find(v: Venue, p: Params) -> Order:
    x = v.listing(required(p, "symbol"))
    order_id = int_param(p, "orderId")
    client_id = p.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return v.find(x.id, order_id, client_id)


def post_order(v: Venue, p: Params, now: datetime) -> Any:
    req, resp_type = new_order(p, random_id())
    return new_order_json(v.place(req, now), resp_type, ms(now))


def post_order_list_oco(v: Venue, p: Params, now: datetime) -> Any:
    list_id, above, below, resp_type = new_oco(p, random_id)
    x = v.place_oco(list_id, above, below, now)
    return list_json(v, x, ms(now), [new_order_json(o, resp_type, ms(now)) for o in v.list_orders(x)])


def _find_list(v: Venue, p: Params, client_key: str) -> Any:
    list_id = int_param(p, "orderListId")
    client_id = p.get(client_key) or None
    if list_id is None and client_id is None:
        raise BinanceError(
            -1102, f"Param 'orderListId' or '{client_key}' must be sent, but both were empty/null!"
        )
    symbol = v.listing(p["symbol"]).id if p.get("symbol") else None
    return v.find_list(symbol, list_id, client_id)


def get_order_list(v: Venue, p: Params, now: datetime) -> Any:
    return list_json(v, _find_list(v, p, "origClientOrderId"), ms(now))


def delete_order_list(v: Venue, p: Params, now: datetime) -> Any:
    """Cancel an order list: its resting orders are cancelled together."""
    v.listing(required(p, "symbol"))
    x = _find_list(v, p, "listClientOrderId")
    legs = v.list_orders(x)
    open_legs = [o for o in legs if o.is_open]
    if not open_legs:
        raise BinanceError(-2011, "Unknown order list sent.")
    v.cancel(open_legs[0], now)
    cancel_id = p.get("newClientOrderId") or random_id()
    return list_json(v, x, ms(now), [cancel_json(o, cancel_id, ms(now)) for o in legs])


def get_order(v: Venue, p: Params, now: datetime) -> Any:
    return order_json(_find(v, p))


def delete_order(v: Venue, p: Params, now: datetime) -> Any:
    try:
        order = _find(v, p)
    except BinanceError as e:
        if e.code == -2013:
            raise BinanceError(-2011, "Unknown order sent.") from e
        raise
    v.cancel(order, now)
    return cancel_json(order, p.get("newClientOrderId") or random_id(), ms(now))


def delete_open_orders(v: Venue, p: Params, now: datetime) -> Any:
    x = v.listing(required(p, "symbol"))
    orders = v.open_orders(x.id)
    if not orders:
        raise BinanceError(-2011, "Unknown order sent.")
    return [cancel_json(v.cancel(o, now), random_id(), ms(now)) for o in orders]


def get_open_orders(v: Venue, p: Params, now: datetime) -> Any:
    symbol = p.get("symbol")
    symbol_id = v.listing(symbol).id if symbol else None
    return [order_json(o) for o in v.open_orders(symbol_id)]


def get_all_orders(v: Venue, p: Params, now: datetime) -> Any:
    """Orders of a symbol: from ``orderId`` / ``startTime`` on, else the most recent ``limit``."""
    x = v.listing(required(p, "symbol"))
    order_id, start, end = (int_param(p, n) for n in ("orderId", "startTime", "endTime"))
    limit = limit_param(p, 500, 1000)
    orders = [
        o
        for o in v.orders.values()
        if o.symbol == x.id
        and (order_id is None or o.order_id >= order_id)
        and (start is None or o.time_ms >= start)
        and (end is None or o.time_ms <= end)
    ]
    chosen = orders[:limit] if order_id is not None or start is not None else orders[-limit:]
    return [order_json(o) for o in chosen]


def get_my_trades(v: Venue, p: Params, now: datetime) -> Any:
    """Trades of a symbol: from ``fromId`` / ``startTime`` on, else the most recent ``limit``."""
    x = v.listing(required(p, "symbol"))
    order_id, from_id, start, end = (int_param(p, n) for n in ("orderId", "fromId", "startTime", "endTime"))
    limit = limit_param(p, 500, 1000)
    trades = [
        t
        for t in v.trades(x.id)
        if (order_id is None or t.order_id == order_id)
        and (from_id is None or t.id >= from_id)
        and (start is None or t.time_ms >= start)
        and (end is None or t.time_ms <= end)
    ]
    chosen = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
    return [trade_json(t) for t in chosen]


def get_account(v: Venue, p: Params, now: datetime) -> Any:
    rate = fmt(v.fee_rate)
    return {
        "makerCommission": int(v.fee_rate * 10_000),
        "takerCommission": int(v.fee_rate * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": rate, "taker": rate, "buyer": _NIL, "seller": _NIL},
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": ms(now),
        "accountType": "SPOT",
        "balances": [
            {"asset": a, "free": fmt(b.free), "locked": fmt(b.locked)} for a, b in sorted(v.balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": 1,
    }


ROUTES: tuple[Route, ...] = (
    Route("GET", "ping", ping, signed=False, weight=1),
    Route("GET", "time", server_time, signed=False, weight=1),
    Route("GET", "exchangeInfo", get_exchange_info, signed=False, weight=20),
    Route("GET", "ticker/24hr", get_ticker_24hr, signed=False, weight=2, weight_all=80),
    Route("GET", "ticker/bookTicker", get_book_ticker, signed=False, weight=2, weight_all=4),
    Route("GET", "ticker/price", get_price_ticker, signed=False, weight=2, weight_all=4),
    Route("GET", "klines", get_klines, signed=False, weight=2),
    Route("GET", "uiKlines", get_klines, signed=False, weight=2),
    Route("POST", "order", post_order, signed=True, weight=1),
    Route("GET", "order", get_order, signed=True, weight=4),
    Route("DELETE", "order", delete_order, signed=True, weight=1),
    Route("POST", "orderList/oco", post_order_list_oco, signed=True, weight=1),
    Route("GET", "orderList", get_order_list, signed=True, weight=4),
    Route("DELETE", "orderList", delete_order_list, signed=True, weight=1),
    Route("GET", "openOrders", get_open_orders, signed=True, weight=6, weight_all=80),
    Route("DELETE", "openOrders", delete_open_orders, signed=True, weight=1),
    Route("GET", "allOrders", get_all_orders, signed=True, weight=20),
    Route("GET", "myTrades", get_my_trades, signed=True, weight=20),
    Route("GET", "account", get_account, signed=True, weight=20),
)
