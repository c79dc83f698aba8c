"""A local Binance spot REST emulator for the real ccxt ``binance`` client, with scripted faults.

It serves ``/api/v3/...`` (see ``exchanges.emulator.spot``) on aiohttp, checks API key, HMAC
signature and timestamp like Binance, and replays price series (``exchanges.emulator.engine``).
Fault rules (``exchanges.emulator.faults``) make it drop connections after accepting an order,
answer late, fail with 5xx, 429, 418 or a Binance error code. ``/emu/...`` is an admin API on
the same port so another process can steer it::

    async with serve_binance_emulator(synthetic=50) as emu:
        ex = ccxt.async_support.binance({"apiKey": emu.api_key, "secret": emu.secret, ...})
        ex.urls["api"] = emulator_urls(ex.urls["api"], emu.url)
        emu.faults.add("drop_after_accept", method="POST", path="/api/v3/order")
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from exchanges.data import SeriesSpec, bundled_series
from exchanges.emulator import listing as listings
from exchanges.emulator.admin import add_admin_routes
from exchanges.emulator.defaults import DEFAULT_API_KEY, DEFAULT_PORT, DEFAULT_SECRET
from exchanges.emulator.engine import BinanceError, Order, Venue, ms
from exchanges.emulator.faults import FaultAction, FaultRule, Faults
from exchanges.emulator.spot import ROUTES, Route
from exchanges.emulator.wire import err, mandatory, order_json, trade_json
from exchanges.replay import ReplayClock
from trading.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_RECV_WINDOW_MS = 60_000
_SIGNATURE_RE = re.compile(r"(?:^|&)signature=([^&]*)$")
_BAN_MSG = (
    "Way too much request weight used; IP banned until {until}. "
    "Please use WebSocket Streams for live updates to avoid bans."
)
_LIMIT_MSG = (
    "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API."
)
_DEFAULT_BALANCES = {"USD": Decimal(1_000_000), "USDT": Decimal(1_000_000)}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def emulator_urls(api_urls: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """ccxt's ``urls['api']`` with every host replaced by the emulator's (paths kept, e.g. /api/v3)."""
    return {k: base_url + urlsplit(v).path if isinstance(v, str) else v for k, v in api_urls.items()}


class BinanceEmulator:
    """An in-memory Binance spot venue served over HTTP on one event loop."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        secret: str = DEFAULT_SECRET,
        series: Mapping[str, SeriesSpec] | None = None,
        synthetic: int = 0,
        balances: Mapping[str, Decimal] | None = None,
        fee_rate: Decimal = Decimal("0.001"),
        slippage_bps: Decimal = Decimal("5"),
        bars_per_second: float = 2.0,
        start_bar: int = 200,
        clock: Callable[[], datetime] | None = None,
        fill_parts: int = 1,
        recv_window_ms: int = 5000,
    ) -> None:
        if not bars_per_second > 0:
            raise InvalidInput(f"bars_per_second must be positive, got {bars_per_second}")
        if start_bar < 0 or fill_parts < 1:
            raise InvalidInput("start_bar must be non-negative and fill_parts at least 1")
        if fee_rate < 0 or slippage_bps < 0:
            raise InvalidInput("fee_rate and slippage_bps must be non-negative")
        if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise InvalidInput(f"recv_window_ms must be 1..{MAX_RECV_WINDOW_MS}, got {recv_window_ms}")
        self.api_key = api_key
        self.secret = secret
        self.faults = Faults()
        self.url = ""
        self._series = dict(series) if series is not None else bundled_series()
        self._synthetic = synthetic
        self._balances = (
            dict(balances)
            if balances is not None
            else {"USD": Decimal(1_000_000), "USDT": Decimal(1_000_000)}
        )
        self._fee_rate = Decimal(fee_rate)
        self._slippage = Decimal(slippage_bps) / 10_000
        self._bps = Fraction(str(bars_per_second))
        self._start_bar = start_bar
        self._clock = clock or (lambda: datetime.now(UTC))
        self._fill_parts = fill_parts
        self._recv_window = recv_window_ms
        self._requests: Counter[str] = Counter()
        self._weight = (0, 0)  # (minute, weight used in it)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.venue = self._new_venue()

    # ---- Python accessors ---------------------------------------------------------------------

    def orders(self) -> list[dict[str, Any]]:
        """Every order, oldest first, as ``GET /api/v3/order`` shows it plus its ``fills`` (trades)."""
        self.venue.match(self._now())
        return [self.order_view(o) for o in self.venue.orders.values()]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset."""
        self.venue.match(self._now())
        return {a: (b.free, b.locked) for a, b in sorted(self.venue.balances.items())}

    def request_count(self, method: str, path: str) -> int:
        """How many ``method path`` requests reached the emulator (faulted ones included)."""
        return self._requests[f"{method.upper()} {path}"]

    def requests(self) -> dict[str, int]:
        """Request counts by ``"METHOD /path"``."""
        return dict(self._requests)

    def fill_order(self, client_order_id: str, price: Decimal | str | None = None) -> dict[str, Any]:
        """Fill what remains of the open order with this client order id at ``price`` (default: its limit)."""
        now = self._now()
        self.venue.match(now)
        order = next(
            (o for o in reversed(self.venue.orders.values()) if o.client_order_id == client_order_id), None
        )
        if order is None:
            raise BinanceError(-2013, "Order does not exist.")
        self.venue.force_fill(order, Decimal(price) if price is not None else None, now)
        return self.order_view(order)

    def fill_symbol(self, symbol: str, price: Decimal | str | None = None) -> list[dict[str, Any]]:
        """Fill every open order of a symbol (Binance id or ``BASE/QUOTE``)."""
        now = self._now()
        self.venue.match(now)
        x = self.venue.lookup(symbol)
        filled = [
            self.venue.force_fill(o, Decimal(price) if price is not None else None, now)
            for o in self.venue.open_orders(x.id)
        ]
        return [self.order_view(o) for o in filled]

    def pin_price(self, symbol: str, price: Decimal | str | float | None) -> None:
        """Fix a symbol's price (Binance id or ``BASE/QUOTE``) until called again with None."""
        value = None if price is None else Decimal(str(price))
        self.venue.pin(self.venue.lookup(symbol), value, self._now())

    def reset(self) -> None:
        """Forget orders, trades, faults, pins and request counts; restore balances; restart the replay."""
        self.faults.clear()
        self._requests.clear()
        self._weight = (0, 0)
        self.venue = self._new_venue()

    @staticmethod
    def order_view(order: Order) -> dict[str, Any]:
        """An order's admin view: its Binance JSON plus ``fills``."""
        return {**order_json(order), "fills": [trade_json(t) for t in order.trades]}

    # ---- serving ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already serving")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        logger.info("binance emulator serving", extra={"url": self.url, "markets": len(self.venue.listings)})
        return self.url

    async def stop(self) -> None:
        """Stop serving (requests waiting on a delay fault are let go first)."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def make_app(self) -> web.Application:
        """The aiohttp application: ``/api/v3`` endpoints, the ``/emu`` admin API, a 404 for the rest."""
        app = web.Application()
        for route in ROUTES:
            app.router.add_route(route.method, f"/api/v3/{route.path}", self._endpoint(route))
        add_admin_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    def _endpoint(self, route: Route) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self._requests[f"{request.method} {request.path}"] += 1
            rule = self.faults.take(request.method, request.path)
            if rule is not None and not rule.action.processes:
                return self._fault_response(rule, route)
            body = await request.text() if request.can_read_body else ""  # all received before any delay
            if rule is not None and rule.action is FaultAction.DELAY_BEFORE:
                await self._sleep(rule.seconds)
            response = self._answer(request, route, body)
            if rule is not None and rule.action is FaultAction.DROP_AFTER_ACCEPT:
                logger.info("binance emulator dropped a connection", extra={"path": request.path})
                if request.transport is not None:
                    request.transport.close()
            elif rule is not None and rule.action is FaultAction.DELAY_AFTER_ACCEPT:
                await self._sleep(rule.seconds)
            return response

        return handle

    def _answer(self, request: web.Request, route: Route, body: str) -> web.Response:
        query = request.raw_path.partition("?")[2]
        now = self._now()
        weight = route.weight
        try:
            params = _params(query, body)
            if route.weight_all is not None and "symbol" not in params and "symbols" not in params:
                weight = route.weight_all
            if route.signed:
                self._authenticate(request, query, body, params, now)
            self.venue.match(now)
            data, status = route.endpoint(self.venue, params, now), 200
        except BinanceError as e:
            data, status = err(e.code, e.msg), e.status
        return self._json(data, status, weight)

    def _authenticate(
        self, request: web.Request, query: str, body: str, params: Mapping[str, str], now: datetime
    ) -> None:
        """API key, HMAC-SHA256 signature of the exact query and body, then timestamp and recvWindow."""
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        payload, signature = _unsigned(query, body)
        if not signature:
            raise mandatory("signature")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        if not params.get("timestamp"):
            raise mandatory("timestamp")
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow") or self._recv_window)
        except ValueError as e:
            raise BinanceError(-1100, "Illegal characters found in a parameter.") from e
        if window > MAX_RECV_WINDOW_MS:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server = ms(now)
        if timestamp >= server + 1000:
            raise BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if server - timestamp > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _fault_response(self, rule: FaultRule, route: Route) -> web.Response:
        """The answer of a fault that does not process the request."""
        if rule.action in (FaultAction.RATE_LIMIT, FaultAction.BAN):
            retry = max(1, round(rule.seconds or 1))
            until = ms(self._now()) + retry * 1000
            msg = _BAN_MSG.format(until=until) if rule.action is FaultAction.BAN else _LIMIT_MSG
            response = self._json(err(-1003, msg), rule.http_status, route.weight)
            response.headers["Retry-After"] = str(retry)
            return response
        if rule.action is FaultAction.REJECT:
            if rule.code is None or rule.msg is None:  # FaultRule refuses this already
                raise RuntimeError("a reject fault needs a Binance code and msg")
            return self._json(err(rule.code, rule.msg), rule.http_status, route.weight)
        if isinstance(rule.body, dict):
            return self._json(rule.body, rule.http_status, route.weight)
        status = rule.http_status
        text = rule.body if rule.body is not None else f"<html><body><h1>{status} Error</h1></body></html>"
        return web.Response(status=status, text=text, content_type="text/html")

    def _json(self, data: Any, status: int, weight: int) -> web.Response:
        minute = ms(self._now()) // 60_000
        used = (self._weight[1] if self._weight[0] == minute else 0) + weight
        self._weight = (minute, used)
        return web.json_response(data, status=status, headers={"X-MBX-USED-WEIGHT-1M": str(used)})

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self._requests[f"{request.method} {request.path}"] += 1
        return web.Response(status=404, text="Not Found")

    # ---- plumbing -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInput("the clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _new_venue(self) -> Venue:
        return Venue(
            listings.from_series(self._series) + listings.synthetic(self._synthetic),
            balances=self._balances,
            fee_rate=self._fee_rate,
            slippage=self._slippage,
            fill_parts=self._fill_parts,
            replay=ReplayClock(self._now(), self._bps, self._start_bar),
        )

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the emulator stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def _params(query: str, body: str) -> dict[str, str]:
    """Query and form body parameters; -1101 when one is sent twice."""
    pairs = parse_qsl(query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
    out = dict(pairs)
    if len(out) != len(pairs):
        raise BinanceError(-1101, "Duplicate values for a parameter detected.")
    return out


def _unsigned(query: str, body: str) -> tuple[str, str]:
    """(what was signed: query then body without the trailing ``signature``, the signature)."""
    for part in ("body", "query"):
        text = body if part == "body" else query
        m = _SIGNATURE_RE.search(text)
        if m:
            rest = text[: m.start()]
            return (query + rest if part == "body" else rest + body), m.group(1)
    return query + body, ""


@asynccontextmanager
async def serve_binance_emulator(
    host: str = "127.0.0.1", port: int = 0, **kwargs: Any
) -> AsyncIterator[BinanceEmulator]:
    """A BinanceEmulator(**kwargs) serving on ``host:port`` for the duration of the block."""
    emu = BinanceEmulator(**kwargs)
    await emu.start(host, port)
    try:
        yield emu
    finally:
        await emu.stop()


def run_emulator(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    on_ready: Callable[[BinanceEmulator], None] | None = None,
    **kwargs: Any,
) -> None:
    """Serve a BinanceEmulator(**kwargs) until interrupted (the ``asts emulator binance`` command)."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                loop.add_signal_handler(sig, stop.set)
        async with serve_binance_emulator(host, port, **kwargs) as emu:
            if on_ready is not None:
                on_ready(emu)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
