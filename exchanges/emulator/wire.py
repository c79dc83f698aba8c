"""Binance spot REST shapes: request parameter parsing and the JSON the emulator answers with.

Field names and formats follow Binance's spot API: decimals as strings with 8 decimals,
times as integer milliseconds, errors as ``{"code": ..., "msg": ...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from exchanges.emulator.engine import (
    MAX_TRAILING_DELTA,
    MIN_TRAILING_DELTA,
    BinanceError,
    NewOrder,
    Order,
    OrderList,
    Trade,
    Venue,
    ms,
    q8,
)
from exchanges.emulator.listing import INTERVAL_MS, Listing
from exchanges.emulator.triggering import CONDITIONAL_TYPES
from trading.models import Candle

Params = Mapping[str, str]
Json = dict[str, Any]

CLIENT_ID_RE = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
_DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INT_RE = re.compile(r"^-?[0-9]{1,20}$")
_SYMBOLS_PATTERN = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'
ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
OCO_ABOVE_TYPES = frozenset(
    {"STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
)
OCO_BELOW_TYPES = frozenset(
    {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
)
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def fmt(d: Decimal) -> str:
    """A decimal the way Binance writes it: a string with 8 decimals."""
    return f"{q8(d):f}"


def err(code: int, msg: str) -> Json:
    """Binance's error body."""
    return {"code": code, "msg": msg}


# ---- parameters -----------------------------------------------------------------------------


def mandatory(name: str) -> BinanceError:
    """Binance's error for a missing mandatory parameter."""
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal(name: str, pattern: str) -> BinanceError:
    """Binance's error for a parameter outside its legal pattern."""
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{pattern}'.")


def required(p: Params, name: str) -> str:
    """A mandatory parameter; -1102 when missing or empty."""
    value = p.get(name, "")
    if not value:
        raise mandatory(name)
    return value


def decimal_param(p: Params, name: str) -> Decimal | None:
    """An optional positive decimal parameter; -1100 when malformed."""
    text = p.get(name)
    if text is None:
        return None
    if not _DECIMAL_RE.match(text):
        raise illegal(name, _DECIMAL_RE.pattern)
    try:
        return Decimal(text)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only valid numbers
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from e


def int_param(p: Params, name: str, default: int | None = None) -> int | None:
    """An optional integer parameter; -1100 when malformed."""
    text = p.get(name)
    if text is None or text == "":
        return default
    if not _INT_RE.match(text):
        raise illegal(name, "^[0-9]{1,20}$")
    return int(text)


def limit_param(p: Params, default: int, maximum: int) -> int:
    """The ``limit`` parameter, 1..maximum; -1130 outside it."""
    limit = int_param(p, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def symbols_param(p: Params) -> list[str] | None:
    """``symbol=X`` or ``symbols=["X","Y"]`` as a list, or None for every symbol."""
    if "symbol" in p and "symbols" in p:
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    if "symbol" in p:
        return [required(p, "symbol")]
    if "symbols" not in p:
        return None
    try:
        names = json.loads(p["symbols"])
    except ValueError:
        names = None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise illegal("symbols", _SYMBOLS_PATTERN)
    return list(names)


def new_order(p: Params, generated_id: str) -> tuple[NewOrder, str]:
    """A ``POST /api/v3/order`` request and its newOrderRespType; raises BinanceError like Binance."""
    req = order_params(p, generated_id)
    default = "FULL" if req.type in ("MARKET", "LIMIT") else "ACK"  # Binance's defaults
    return req, resp_type_param(p, default)


def resp_type_param(p: Params, default: str) -> str:
    """The ``newOrderRespType`` parameter."""
    resp_type = p.get("newOrderRespType") or default
    if resp_type not in ("ACK", "RESULT", "FULL"):
        raise illegal("newOrderRespType", "^(ACK|RESULT|FULL)$")
    return resp_type


def order_params(p: Params, generated_id: str) -> NewOrder:
    """One order's parameters (``POST /api/v3/order``, or an order list's leg renamed to them).

    Which parameters a type needs and takes follows Binance's table: LIMIT and the ``*_LIMIT``
    stop types need timeInForce, quantity and price; STOP_LOSS and TAKE_PROFIT need quantity; the
    four stop types need stopPrice or trailingDelta (or both); LIMIT_MAKER needs quantity and price.
    """
    symbol = required(p, "symbol")
    side = required(p, "side")
    kind = required(p, "type")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    if kind not in ORDER_TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    client_id = p.get("newClientOrderId") or generated_id
    if not CLIENT_ID_RE.match(client_id):
        raise illegal("newClientOrderId", CLIENT_ID_RE.pattern)
    qty, quote_qty, price, stop = (
        decimal_param(p, n) for n in ("quantity", "quoteOrderQty", "price", "stopPrice")
    )
    trailing = int_param(p, "trailingDelta")
    tif = p.get("timeInForce")
    takes_tif = kind in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    if kind != "MARKET":
        required(p, "quantity")
        if quote_qty is not None:
            raise not_required("quoteOrderQty")
    if kind in ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        required(p, "price")
    elif price is not None:
        raise not_required("price")
    if takes_tif:
        required(p, "timeInForce")
        if tif not in ("GTC", "IOC", "FOK"):
            raise BinanceError(-1115, "Invalid timeInForce.")
    elif tif is not None:
        raise not_required("timeInForce")
    if kind in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"):
        if stop is None and trailing is None:
            raise BinanceError(
                -1102, "Param 'stopPrice' or 'trailingDelta' must be sent, but both were empty/null!"
            )
    else:
        for name, value in (("stopPrice", stop), ("trailingDelta", trailing)):
            if value is not None:
                raise not_required(name)
    if kind == "MARKET" and (qty is None) == (quote_qty is None):
        raise (
            BinanceError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
            if qty is None
            else not_required("quoteOrderQty")
        )
    for name, value in (
        ("quantity", qty),
        ("quoteOrderQty", quote_qty),
        ("price", price),
        ("stopPrice", stop),
    ):
        if value is not None and value <= 0:
            raise BinanceError(
                -1013, "Invalid price." if name in ("price", "stopPrice") else "Invalid quantity."
            )
    if trailing is not None and trailing <= 0:
        raise BinanceError(-1013, "Filter failure: TRAILING_DELTA")
    return NewOrder(
        symbol=symbol,
        side=side,
        type=kind,
        client_order_id=client_id,
        quantity=qty,
        quote_order_qty=quote_qty,
        price=price,
        time_in_force=tif if takes_tif and tif is not None else "GTC",
        stop_price=stop,
        trailing_delta=trailing,
    )


def not_required(name: str) -> BinanceError:
    """Binance's error for a parameter the order type does not take."""
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def new_oco(p: Params, generated_id: Callable[[], str]) -> tuple[str, NewOrder, NewOrder, str]:
    """A ``POST /api/v3/orderList/oco`` request: (listClientOrderId, above order, below order,
    newOrderRespType). Each leg is checked as the order it makes."""
    required(p, "quantity")
    legs = []
    for leg, allowed in (("above", OCO_ABOVE_TYPES), ("below", OCO_BELOW_TYPES)):
        kind = required(p, f"{leg}Type")
        if kind not in allowed:
            raise illegal(f"{leg}Type", ", ".join(sorted(allowed)))
        fields = {
            "symbol": p.get("symbol", ""),
            "side": p.get("side", ""),
            "type": kind,
            "quantity": p["quantity"],
            "newClientOrderId": p.get(f"{leg}ClientOrderId") or generated_id(),
        }
        for name in ("price", "stopPrice", "trailingDelta", "timeInForce"):
            theirs = leg + name[0].upper() + name[1:]  # abovePrice, belowStopPrice, ...
            if theirs in p:
                fields[name] = p[theirs]
        legs.append(order_params(fields, ""))
    list_id = p.get("listClientOrderId") or generated_id()
    if not CLIENT_ID_RE.match(list_id):
        raise illegal("listClientOrderId", CLIENT_ID_RE.pattern)
    return list_id, legs[0], legs[1], resp_type_param(p, "ACK")


# ---- answers --------------------------------------------------------------------------------


def symbol_info(x: Listing) -> Json:
    """One ``exchangeInfo`` symbol."""
    return {
        "symbol": x.id,
        "status": "TRADING",
        "baseAsset": x.base,
        "baseAssetPrecision": 8,
        "quoteAsset": x.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": True,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(x.price_step),
                "maxPrice": "1000000.00000000",
                "tickSize": fmt(x.price_step),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(x.min_qty),
                "maxQty": "9000000.00000000",
                "stepSize": fmt(x.qty_step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(x.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": MIN_TRAILING_DELTA,
                "maxTrailingAboveDelta": MAX_TRAILING_DELTA,
                "minTrailingBelowDelta": MIN_TRAILING_DELTA,
                "maxTrailingBelowDelta": MAX_TRAILING_DELTA,
            },
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(listings: Sequence[Listing], now_ms: int) -> Json:
    """The ``exchangeInfo`` body."""
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [symbol_info(x) for x in listings],
    }


def ticker_24hr(
    x: Listing, day: Sequence[Candle], last: Decimal, bid: Decimal, ask: Decimal, now_ms: int
) -> Json:
    """One ``ticker/24hr`` entry from the day's replayed bars and the current prices."""
    volume = sum((c.volume for c in day), Decimal(0))
    quote_volume = sum((c.volume * c.close for c in day), Decimal(0))
    open_ = day[0].open
    change = last - open_
    return {
        "symbol": x.id,
        "priceChange": fmt(change),
        "priceChangePercent": f"{(change / open_ * 100).quantize(Decimal('0.001')):f}",
        "weightedAvgPrice": fmt(quote_volume / volume if volume else last),
        "prevClosePrice": fmt(day[0].open),
        "lastPrice": fmt(last),
        "lastQty": fmt(x.min_qty),
        "bidPrice": fmt(bid),
        "bidQty": fmt(x.min_qty * 100),
        "askPrice": fmt(ask),
        "askQty": fmt(x.min_qty * 100),
        "openPrice": fmt(open_),
        "highPrice": fmt(max(max(c.high for c in day), last)),
        "lowPrice": fmt(min(min(c.low for c in day), last)),
        "volume": fmt(volume),
        "quoteVolume": fmt(quote_volume),
        "openTime": now_ms - 86_400_000,
        "closeTime": now_ms,
        "firstId": 0,
        "lastId": len(day) - 1,
        "count": len(day),
    }


def book_ticker(x: Listing, bid: Decimal, ask: Decimal) -> Json:
    """One ``ticker/bookTicker`` entry."""
    qty = fmt(x.min_qty * 100)
    return {"symbol": x.id, "bidPrice": fmt(bid), "bidQty": qty, "askPrice": fmt(ask), "askQty": qty}


def kline(c: Candle, interval_ms: int) -> list[Any]:
    """One bar in Binance's kline array format."""
    open_ms = ms(c.ts)
    quote = c.volume * c.close
    return [
        open_ms,
        fmt(c.open),
        fmt(c.high),
        fmt(c.low),
        fmt(c.close),
        fmt(c.volume),
        open_ms + interval_ms - 1,
        fmt(quote),
        max(1, int(c.volume.sqrt())) if c.volume > 0 else 0,
        fmt(c.volume / 2),
        fmt(quote / 2),
        "0",
    ]


def interval_ms(name: str) -> int:
    """A Binance interval's length; -1120 for an unknown interval."""
    if name not in INTERVAL_MS:
        raise BinanceError(-1120, "Invalid interval.")
    return INTERVAL_MS[name]


def order_json(o: Order) -> Json:
    """An order as ``GET /api/v3/order`` (and allOrders / openOrders) returns it."""
    out: Json = {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": o.order_list_id,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price),
        "origQty": fmt(o.qty),
        "executedQty": fmt(o.executed),
        "cummulativeQuoteQty": fmt(o.cum_quote),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": o.type,
        "side": o.side,
        "stopPrice": fmt(o.stop_price),
        "icebergQty": fmt(Decimal(0)),
        "time": o.time_ms,
        "updateTime": o.update_ms,
        "isWorking": o.working,
        "workingTime": o.working_ms,
        "origQuoteOrderQty": fmt(o.quote_order_qty),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    if o.trailing_delta is not None:
        out |= {"trailingDelta": o.trailing_delta, "trailingTime": o.trailing_ms}
    return out


def new_order_json(o: Order, resp_type: str, transact_ms: int) -> Json:
    """The ``POST /api/v3/order`` answer in the ACK, RESULT or FULL form (stopPrice only for the
    stop types, the trailing fields only for trailing orders)."""
    ack: Json = {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": o.order_list_id,
        "clientOrderId": o.client_order_id,
        "transactTime": transact_ms,
    }
    if resp_type == "ACK":
        return ack
    full = order_json(o)
    for key in ("icebergQty", "time", "updateTime", "isWorking"):
        del full[key]
    if o.type not in CONDITIONAL_TYPES:
        del full["stopPrice"]
    result = {**ack, **full}
    if resp_type == "FULL":
        result["fills"] = [
            {
                "price": fmt(t.price),
                "qty": fmt(t.qty),
                "commission": fmt(t.commission),
                "commissionAsset": t.commission_asset,
                "tradeId": t.id,
            }
            for t in o.trades
        ]
    return result


def cancel_json(o: Order, cancel_client_id: str, transact_ms: int) -> Json:
    """The ``DELETE /api/v3/order`` answer: ``clientOrderId`` is the cancel request's own id."""
    out = new_order_json(o, "RESULT", transact_ms)
    del out["workingTime"]
    return {
        "symbol": o.symbol,
        "origClientOrderId": o.client_order_id,
        **out,
        "clientOrderId": cancel_client_id,
    }


def list_json(v: Venue, x: OrderList, transact_ms: int, reports: list[Json] | None = None) -> Json:
    """An order list as the order list endpoints answer (with ``orderReports`` when given)."""
    done = not v.list_open(x)
    out: Json = {
        "orderListId": x.id,
        "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": x.client_id,
        "transactionTime": transact_ms,
        "symbol": x.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in v.list_orders(x)
        ],
    }
    if reports is not None:
        out["orderReports"] = reports
    return out


def trade_json(t: Trade) -> Json:
    """One ``myTrades`` entry."""
    return {
        "symbol": t.symbol,
        "id": t.id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": fmt(t.price),
        "qty": fmt(t.qty),
        "quoteQty": fmt(t.quote_qty),
        "commission": fmt(t.commission),
        "commissionAsset": t.commission_asset,
        "time": t.time_ms,
        "isBuyer": t.is_buyer,
        "isMaker": t.is_maker,
        "isBestMatch": True,
    }
