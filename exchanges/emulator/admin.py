"""The emulator's admin API under ``/emu``, so that another process can steer and inspect it.

- ``GET /emu/faults``: the active fault rules; ``POST /emu/faults``: add one rule (a JSON
  object), several (a list, or ``{"rules": [...]}``); ``DELETE /emu/faults``: remove them all.
- ``GET /emu/orders``: every order with status and fills; ``GET /emu/requests``: request
  counts by ``"METHOD /path"``; ``GET /emu/balances``: free and locked per asset.
- ``POST /emu/reset``: forget orders, faults, pins and counts, restore balances.
- ``POST /emu/fill`` ``{"clientOrderId" | "symbol", "price"?}``: fill open orders now.
- ``POST /emu/price`` ``{"symbol", "price"}``: pin a price (``null`` unpins).

Admin requests are not counted and never faulted. Errors are HTTP 400 ``{"error": ...}``
(or the Binance ``{code, msg}`` of a venue refusal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exchanges.emulator.engine import BinanceError
from exchanges.emulator.faults import FaultRule
from exchanges.emulator.wire import err, fmt
from trading.errors import InvalidInput

if TYPE_CHECKING:
    from exchanges.emulator.binance import BinanceEmulator

AdminHandler = Callable[["BinanceEmulator", Any], Any]


def add_admin_routes(app: web.Application, emu: BinanceEmulator) -> None:
    """Register the ``/emu`` routes of ``emu`` on ``app``."""
    for method, path, fn in (
        ("GET", "faults", _list_faults),
        ("POST", "faults", _add_faults),
        ("DELETE", "faults", _clear_faults),
        ("GET", "orders", lambda e, body: e.orders()),
        ("GET", "requests", lambda e, body: e.requests()),
        ("GET", "balances", _balances),
        ("POST", "reset", _reset),
        ("POST", "fill", _fill),
        ("POST", "price", _price),
    ):
        app.router.add_route(method, f"/emu/{path}", _handler(emu, fn))


def _handler(emu: BinanceEmulator, fn: AdminHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        try:
            return web.json_response(fn(emu, body))
        except BinanceError as e:
            return web.json_response(err(e.code, e.msg), status=e.status)
        except InvalidInput as e:
            return web.json_response({"error": str(e)}, status=400)

    return handle


def _list_faults(emu: BinanceEmulator, body: Any) -> Any:
    return {"rules": [r.to_json() for r in emu.faults.rules()]}


def _add_faults(emu: BinanceEmulator, body: Any) -> Any:
    items = body.get("rules") if isinstance(body, dict) and "rules" in body else body
    items = items if isinstance(items, list) else [items]
    if not all(isinstance(i, dict) for i in items):
        raise InvalidInput("POST /emu/faults takes a rule object, a list of them, or {'rules': [...]}")
    rules = [FaultRule.from_json(i) for i in items]  # all valid before any is added
    for rule in rules:
        emu.faults.add_rule(rule)
    return _list_faults(emu, None)


def _clear_faults(emu: BinanceEmulator, body: Any) -> Any:
    emu.faults.clear()
    return _list_faults(emu, None)


def _balances(emu: BinanceEmulator, body: Any) -> Any:
    return {a: {"free": fmt(free), "locked": fmt(locked)} for a, (free, locked) in emu.balances().items()}


def _reset(emu: BinanceEmulator, body: Any) -> Any:
    emu.reset()
    return {"ok": True}


def _price_of(body: dict[str, Any]) -> Decimal | None:
    price = body.get("price")
    if price is None:
        return None
    try:
        return Decimal(str(price))
    except InvalidOperation as e:
        raise InvalidInput(f"price {price!r} is not a number") from e


def _fill(emu: BinanceEmulator, body: Any) -> Any:
    if not isinstance(body, dict) or not (body.get("clientOrderId") or body.get("symbol")):
        raise InvalidInput('POST /emu/fill takes {"clientOrderId": ...} or {"symbol": ...}, and "price"')
    price = _price_of(body)
    if body.get("clientOrderId"):
        return {"orders": [emu.fill_order(str(body["clientOrderId"]), price)]}
    return {"orders": emu.fill_symbol(str(body["symbol"]), price)}


def _price(emu: BinanceEmulator, body: Any) -> Any:
    if not isinstance(body, dict) or not body.get("symbol") or "price" not in body:
        raise InvalidInput('POST /emu/price takes {"symbol": ..., "price": number or null}')
    emu.pin_price(str(body["symbol"]), _price_of(body))
    pinned = emu.venue.pins.get(emu.venue.lookup(str(body["symbol"])).id)
    return {"symbol": body["symbol"], "price": None if pinned is None else fmt(pinned)}
