"""The Exchange protocol over ccxt's asynchronous clients: any ccxt exchange id.

What this adapter adds to ccxt:
- **Market rules before sending.** Amounts are rounded down to the venue's step, limit prices
  to its tick (a buy down, a sell up), and an order under the minimum amount or value is
  refused here with the reason, without a request.
- **Our client order id on every order**, as is when the venue accepts it, otherwise a
  deterministic hash that fits the venue's length and characters; orders are looked up by it.
- **One error tree.** ccxt's errors become ``trading.errors``: network errors, timeouts, rate
  limits and unavailability are temporary; funds, invalid orders, symbols and keys are not.
  An order request with no clear answer (timeout, dropped connection, 5xx) raises
  ``OrderStatusUnknown``: the placing activity then waits out the request's horizon and
  looks the order up before it places anything again.
- **A request horizon.** On Binance-family venues every order request carries the time it
  was allowed to go out and a receive window: the venue refuses it once the window has
  passed, so after ``settle_horizon_s`` a lost request can never be executed late. Other
  venues have no such guarantee; their horizon is a configured wait (``settle_s``).
- **Rate limits.** ccxt's own throttle is on; on HTTP 429/418 every call of this venue
  waits for the venue's ``Retry-After`` before it goes out again, and concurrent calls are
  bounded.

ccxt parses numbers as floats; they are turned into ``Decimal`` through their shortest
representation, which gives back the decimal text the venue sent for the amounts and
prices venues use (up to 15 significant digits).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt_async
from ccxt.base import errors as cx
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE
from pydantic import BaseModel, ConfigDict, Field

from exchanges.base import Capabilities, check_oco_pair
from exchanges.credentials import Credentials
from exchanges.metrics import VENUE_ERRORS, VENUE_REQUESTS
from trading.errors import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    ExchangeUnavailable,
    InsufficientBalance,
    InvalidInput,
    InvalidOrder,
    OrderNotFound,
    OrderStatusUnknown,
    TradingError,
    UnknownSymbol,
    VenueRejected,
)
from trading.models import (
    Candle,
    Fill,
    Market,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    VenueOrder,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Venues whose order requests expire after a receive window and which find an order by our
# client order id in one request (their fetch_order takes origClientOrderId).
BINANCE_FAMILY = frozenset({"binance", "binanceus", "binanceusdm"})
_CLIENT_ID_LIMITS = {"binance": 36, "binanceus": 36, "okx": 32, "bybit": 36, "kucoin": 40, "gate": 28}
_CLIENT_ID_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_CLIENT_ID_PATTERNS = {"okx": _ALNUM, "gate": _ALNUM}
_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_ZERO = Decimal(0)
_BIPS = Decimal(10_000)
# Binance spot: no reduce-only (a spot account has no position to reduce), no DAY time in force,
# trailing stops by trailingDelta in whole basis points only.
BINANCE_SPOT = Capabilities(
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    oco_legs=2,
    reduce_only=False,
    shorts=False,
    trail_amount=False,
    trail_fraction=True,
)
# Other ccxt venues: what this adapter has been tested with; stop orders map differently per venue.
CCXT_BASIC = Capabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    time_in_force=frozenset({TimeInForce.GTC}),
    oco_legs=0,
    reduce_only=False,
    shorts=False,
    trail_amount=False,
    trail_fraction=False,
)
# Binance's order types as ours; a trailingDelta on a market-type stop makes it a trailing stop.
_BINANCE_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP,
    "TAKE_PROFIT": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT_LIMIT": OrderType.STOP_LIMIT,
}
_BINANCE_STOP_LIMITS = frozenset({"STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
_DEFAULT_TRAILING_DELTA = (10, 2000)  # Binance's TRAILING_DELTA filter when a market shows none


class _Redact(logging.Filter):
    """Blanks venue keys in ccxt's own log records (at DEBUG it logs every request's headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        hidden = text
        for secret in self.secrets:
            hidden = hidden.replace(secret, "***")
        if hidden != text:
            record.msg, record.args = hidden, ()
        return True


_REDACT = _Redact()
_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


def _redact(text: str) -> str:
    """An error text without query strings (signatures, some venues' keys) and without our keys."""
    text = _QUERY.sub(r"\1?…", text)
    for secret in _REDACT.secrets:
        text = text.replace(secret, "***")
    return text


for _name in ("ccxt.base.exchange", "ccxt.async_support.base.exchange"):
    logging.getLogger(_name).addFilter(_REDACT)


class VenueConfig(BaseModel):
    """How to reach one ccxt venue; set per venue name in ``ASTS_EXCHANGES`` (JSON)."""

    model_config = ConfigDict(extra="forbid")

    ccxt_id: str = Field(min_length=2, max_length=40)
    # The venue's test network (ccxt's sandbox mode).
    testnet: bool = False
    # Replace the scheme and host of every REST endpoint (a local emulator, a proxy).
    api_url: str | None = None
    # Extra ccxt options, merged over ours.
    options: dict[str, Any] = Field(default_factory=dict)
    # Bars a strategy reads when it names no timeframe.
    timeframe: str = "1h"
    timeout_ms: int = Field(default=10_000, ge=100, le=120_000)
    # ccxt's minimum gap between requests (None: ccxt's value for the venue).
    rate_limit_ms: int | None = Field(default=None, ge=0)
    max_concurrency: int = Field(default=8, ge=1, le=100)
    # Our client order ids are sent as they are when they fit; otherwise hashed to this length.
    client_order_id_max: int | None = Field(default=None, ge=8, le=64)
    # Binance family: the receive window of signed requests (the venue refuses later arrivals).
    # With settle_s, it bounds how long a retry waits; both stay well under an order attempt's 30 s.
    recv_window_ms: int = Field(default=5_000, ge=1_000, le=20_000)
    # Other venues: how long an unanswered order request may still be executed.
    settle_s: float = Field(default=15.0, ge=0, le=20)
    # Tickers asked for in one request at most.
    tickers_batch: int = Field(default=1_000, ge=1)

    def client_id_limit(self) -> int:
        """The longest client order id the venue accepts."""
        return self.client_order_id_max or _CLIENT_ID_LIMITS.get(self.ccxt_id, 32)


def _dec(value: Any) -> Decimal:
    """A ccxt number (float, int or str) as Decimal; None as zero."""
    if value is None:
        return _ZERO
    return Decimal(str(value))


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _from_ms(ms: Any) -> datetime:
    return datetime.fromtimestamp((int(ms) if ms is not None else 0) / 1000, tz=UTC)


def rebase_url(url: str, base: str) -> str:
    """``url`` with the scheme and host of ``base`` (its path prefix, if any, goes in front)."""
    u, b = urlsplit(url), urlsplit(base)
    return urlunsplit((b.scheme, b.netloc, b.path.rstrip("/") + u.path, u.query, u.fragment))


def _rebase_all(urls: Any, base: str) -> Any:
    if isinstance(urls, str):
        return rebase_url(urls, base) if urls.startswith("http") else urls
    if isinstance(urls, dict):
        return {k: _rebase_all(v, base) for k, v in urls.items()}
    return urls


class CcxtExchange:
    """A ccxt venue behind the Exchange protocol."""

    def __init__(
        self,
        name: str,
        config: VenueConfig,
        credentials: Credentials | None = None,
    ) -> None:
        cls = getattr(ccxt_async, config.ccxt_id, None)
        if cls is None or config.ccxt_id not in ccxt_async.exchanges:
            raise InvalidInput(f"ccxt has no exchange {config.ccxt_id!r}")
        self.name = name
        self.config = config
        self.binance_family = config.ccxt_id in BINANCE_FAMILY
        self.capabilities = BINANCE_SPOT if self.binance_family else CCXT_BASIC
        options: dict[str, Any] = {"warnOnFetchOpenOrdersWithoutSymbol": False}
        if self.binance_family:
            options |= {
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "recvWindow": config.recv_window_ms,
            }
        options |= config.options
        args: dict[str, Any] = {"enableRateLimit": True, "timeout": config.timeout_ms, "options": options}
        if config.rate_limit_ms is not None:
            args["rateLimit"] = config.rate_limit_ms
        if credentials is not None:
            keys = credentials.ccxt_config()
            _REDACT.secrets.update(v for v in keys.values() if len(v) >= 4)
            args |= keys
        self._ex: Any = cls(args)
        if config.testnet:
            try:
                self._ex.set_sandbox_mode(True)
            except cx.NotSupported:
                raise InvalidInput(f"ccxt's {config.ccxt_id} has no test network") from None
        if config.api_url:
            self._ex.urls["api"] = _rebase_all(self._ex.urls["api"], config.api_url)
        self._markets: dict[str, Market] | None = None
        self._load_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._cooldown_until = 0.0
        self._ours: dict[str, str] = {}  # venue client order id -> ours
        self._order_ids: dict[str, str] = {}  # our client order id -> venue order id
        self._symbols_used: set[str] = set()
        self._lists: dict[str, str] = {}  # Binance orderListId -> our oco_group

    def __repr__(self) -> str:
        return f"CcxtExchange({self.name!r}, ccxt_id={self.config.ccxt_id!r})"

    @property
    def settle_horizon_s(self) -> float:
        """After this many seconds an unanswered order request can no longer be executed."""
        if self.binance_family:
            return self.config.recv_window_ms / 1000 + 1.0  # one second for clock skew
        return self.config.settle_s

    # ---- calls and errors ---------------------------------------------------------------------

    async def _call(self, fn: Callable[[], Awaitable[T]], op: str, *, ambiguous: bool = False) -> T:
        """Run one ccxt call (``op``, its name, for the metrics) inside the venue's bounds; translate
        its errors. The request's own time is measured, not the wait for a slot or a cooldown."""
        async with self._slots:
            wait = self._cooldown_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            started = time.perf_counter()
            try:
                return await fn()
            except cx.BaseError as e:
                error = self._translate(e, ambiguous=ambiguous)
                VENUE_ERRORS.labels(self.name, error.kind).inc()
                raise error from None
            except (TimeoutError, OSError) as e:
                what = f"{self.name}: no answer ({type(e).__name__})"
                error = OrderStatusUnknown(what) if ambiguous else ExchangeUnavailable(what)
                VENUE_ERRORS.labels(self.name, error.kind).inc()
                raise error from None
            finally:
                VENUE_REQUESTS.labels(self.name, op).observe(time.perf_counter() - started)

    def _retry_after(self, default: float) -> float:
        headers = getattr(self._ex, "last_response_headers", None) or {}
        for key, value in dict(headers).items():
            if str(key).lower() == "retry-after":
                try:
                    return min(max(float(value), 0.0), 300.0)
                except ValueError:
                    break
        return default

    def _translate(self, e: cx.BaseError, *, ambiguous: bool) -> TradingError:
        """ccxt's error as ours. The venue's message is kept; it never holds our keys."""
        msg = f"{self.name}: {_redact(str(e))}"
        if isinstance(e, cx.DDoSProtection):  # 429/418 and rate-limit codes: refused, not executed
            delay = self._retry_after(1.0)
            self._cooldown_until = max(self._cooldown_until, time.monotonic() + delay)
            return ExchangeUnavailable(f"{msg} (rate limited; waiting {delay:g} s)", retry_after=delay)
        if isinstance(e, cx.InvalidNonce):  # outside the receive window: refused, not executed
            return ExchangeUnavailable(msg)
        if isinstance(e, cx.NetworkError):  # timeouts, dropped connections, 5xx, maintenance
            return OrderStatusUnknown(msg) if ambiguous else ExchangeUnavailable(msg)
        if isinstance(e, cx.AuthenticationError | cx.PermissionDenied | cx.AccountSuspended):
            return AuthenticationFailed(msg)
        if isinstance(e, cx.BadSymbol):
            return UnknownSymbol(msg)
        if isinstance(e, cx.InsufficientFunds):
            return InsufficientBalance(msg)
        if isinstance(e, cx.OrderNotFound):
            return OrderNotFound(msg)
        if isinstance(e, cx.DuplicateOrderId):
            return DuplicateClientOrderId(msg)
        text = str(e).lower()
        if isinstance(e, cx.ExchangeError) and "duplicate order" in text:
            return DuplicateClientOrderId(msg)
        if isinstance(e, cx.ExchangeError) and "insufficient balance" in text:
            return InsufficientBalance(msg)
        if isinstance(e, cx.InvalidOrder):
            return InvalidOrder(msg)
        if isinstance(e, cx.ExchangeError):  # bad requests and the venue's own refusals
            return VenueRejected(msg)
        return ExchangeUnavailable(msg)

    # ---- markets and market data --------------------------------------------------------------

    async def _load(self) -> dict[str, Market]:
        if self._markets is None:
            async with self._load_lock:
                if self._markets is None:
                    raw = await self._call(lambda: self._ex.load_markets(), "load_markets")
                    mode = self._ex.precisionMode
                    self._markets = {
                        m["symbol"]: self._market_of(m, mode)
                        for m in raw.values()
                        if m.get("spot", True) and m.get("active", True) is not False
                    }
        return self._markets

    @staticmethod
    def _step(value: Any, mode: int) -> Decimal:
        if value is None:
            return _ZERO
        if mode == TICK_SIZE:
            return _dec(value)
        if mode == DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        return _ZERO  # significant digits: no fixed step; the venue rounds

    @classmethod
    def _market_of(cls, m: dict[str, Any], mode: int) -> Market:
        precision, limits = m.get("precision") or {}, m.get("limits") or {}
        qty_step = cls._step(precision.get("amount"), mode)
        price_step = cls._step(precision.get("price"), mode)
        min_qty = _dec((limits.get("amount") or {}).get("min"))
        return Market(
            symbol=m["symbol"],
            base=m["base"],
            quote=m["quote"],
            min_qty=max(min_qty, qty_step),
            qty_step=qty_step,
            price_step=price_step,
            min_notional=_dec((limits.get("cost") or {}).get("min")),
        )

    async def markets(self) -> list[Market]:
        """Every active spot market, sorted by symbol."""
        return [m for _, m in sorted((await self._load()).items())]

    async def market(self, symbol: str) -> Market:
        """One market; raises UnknownSymbol."""
        found = (await self._load()).get(symbol)
        if found is None:
            raise UnknownSymbol(f"{self.name} does not list {symbol!r}")
        return found

    @staticmethod
    def _ticker_of(symbol: str, t: dict[str, Any]) -> Ticker:
        last = _opt_dec(t.get("last")) or _opt_dec(t.get("close"))
        if last is None:
            raise ExchangeUnavailable(f"no last price for {symbol}")
        ts = t.get("timestamp")
        return Ticker(
            symbol=symbol,
            ts=_from_ms(ts) if ts else datetime.now(UTC),
            last=last,
            bid=_opt_dec(t.get("bid")) or last,
            ask=_opt_dec(t.get("ask")) or last,
            open=_opt_dec(t.get("open")),
            high=_opt_dec(t.get("high")),
            low=_opt_dec(t.get("low")),
            base_volume=_dec(t.get("baseVolume")),
            quote_volume=_dec(t.get("quoteVolume")),
        )

    async def ticker(self, symbol: str) -> Ticker:
        """Latest price and 24-hour figures of a symbol."""
        await self.market(symbol)
        return self._ticker_of(
            symbol, await self._call(lambda: self._ex.fetch_ticker(symbol), "fetch_ticker")
        )

    async def tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        """Tickers in batches of ``tickers_batch`` symbols (all listed ones when None)."""
        listed = await self._load()
        wanted = sorted(listed) if symbols is None else list(symbols)
        for s in wanted:
            if s not in listed:
                raise UnknownSymbol(f"{self.name} does not list {s!r}")
        out: dict[str, Ticker] = {}
        if not self._ex.has.get("fetchTickers"):
            found = await asyncio.gather(*(self.ticker(s) for s in wanted))  # bounded by _slots
            return dict(zip(wanted, found, strict=True))
        batch = self.config.tickers_batch
        # Every ticker at once where the venue allows it; explicit lists in batches.
        chunks: list[list[str] | None] = (
            [None] if symbols is None else [wanted[i : i + batch] for i in range(0, len(wanted), batch)]
        )
        for chunk in chunks:
            raw = await self._call(lambda c=chunk: self._ex.fetch_tickers(c), "fetch_tickers")  # type: ignore[misc]
            for sym, t in raw.items():
                if sym in listed and (symbols is None or sym in wanted):
                    out[sym] = self._ticker_of(sym, t)
        return out

    async def ohlcv(
        self,
        symbol: str,
        limit: int = 100,
        *,
        timeframe: str | None = None,
        since: datetime | None = None,
    ) -> list[Candle]:
        """Bars oldest first; without ``since`` the last ``limit`` up to the current one."""
        await self.market(symbol)
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since must be timezone-aware")
        tf = timeframe or self.config.timeframe
        if tf not in (self._ex.timeframes or {tf: tf}):
            raise InvalidInput(f"{self.name} has no {tf!r} bars; it has {', '.join(self._ex.timeframes)}")
        start = _ms(since) if since is not None else None
        rows = await self._call(lambda: self._ex.fetch_ohlcv(symbol, tf, start, limit), "fetch_ohlcv")
        bars = [
            Candle(
                ts=_from_ms(r[0]),
                open=_dec(r[1]),
                high=_dec(r[2]),
                low=_dec(r[3]),
                close=_dec(r[4]),
                volume=_dec(r[5]),
            )
            for r in rows
        ]
        bars.sort(key=lambda c: c.ts)
        return bars[:limit] if since is not None else bars[-limit:]

    async def balance(self) -> dict[str, Decimal]:
        """Total per asset (free plus locked), zero balances left out."""
        raw = await self._call(lambda: self._ex.fetch_balance(), "fetch_balance")
        return {a: _dec(v) for a, v in (raw.get("total") or {}).items() if v and _dec(v) != 0}

    # ---- orders -------------------------------------------------------------------------------

    def venue_client_id(self, client_order_id: str) -> str:
        """Our client order id as sent to this venue (hashed when it does not fit)."""
        limit = self.config.client_id_limit()
        allowed = _CLIENT_ID_PATTERNS.get(self.config.ccxt_id, _CLIENT_ID_CHARS)
        if len(client_order_id) <= limit and allowed.match(client_order_id):
            venue_id = client_order_id
        else:
            venue_id = "a" + hashlib.sha256(client_order_id.encode()).hexdigest()[: limit - 1]
        self._ours[venue_id] = client_order_id
        return venue_id

    def _check_rules(self, m: Market, req: OrderRequest) -> tuple[Decimal, Decimal | None]:
        """The amount and price as the venue requires them; raises InvalidOrder when too small."""
        qty = _to_step(req.qty, m.qty_step, ROUND_FLOOR)
        if qty <= 0 or qty < m.min_qty:
            raise InvalidOrder(
                f"{self.name}: quantity {req.qty} of {req.symbol} is below the minimum {m.min_qty} "
                f"(step {m.qty_step})"
            )
        price = None
        if req.type is OrderType.LIMIT:
            if req.price is None:  # OrderRequest refuses this already; never send a priceless limit
                raise InvalidOrder(f"{self.name}: a limit order of {req.symbol} needs a price")
            price = _to_step(req.price, m.price_step, ROUND_FLOOR if req.side is Side.BUY else ROUND_CEILING)
            if price <= 0:
                raise InvalidOrder(f"{self.name}: limit price {req.price} of {req.symbol} rounds to zero")
        if req.type is OrderType.STOP_LIMIT and req.price is not None:
            price = _to_step(req.price, m.price_step, ROUND_FLOOR if req.side is Side.BUY else ROUND_CEILING)
        ref = price or self._stop_of(m, req) or req.ref_price
        if ref is not None and m.min_notional > 0 and qty * ref < m.min_notional:
            raise InvalidOrder(
                f"{self.name}: order value {qty * ref} {m.quote} of {req.symbol} is below the minimum "
                f"{m.min_notional} {m.quote}"
            )
        return qty, price

    @staticmethod
    def _stop_of(m: Market, req: OrderRequest) -> Decimal | None:
        """The stop price on the venue's tick, rounded away from the market (a sell's down, a
        buy's up), so it never triggers before the price asked for."""
        if req.stop_price is None:
            return None
        return _to_step(req.stop_price, m.price_step, ROUND_CEILING if req.side is Side.BUY else ROUND_FLOOR)

    def _trailing_delta(self, req: OrderRequest) -> int:
        """A trail fraction as Binance's trailingDelta: a whole number of basis points within the
        market's TRAILING_DELTA filter; raises InvalidOrder otherwise."""
        bips = ((req.trail_fraction or _ZERO) * _BIPS).normalize()
        if bips != bips.to_integral_value():
            raise InvalidOrder(
                f"{self.name} trails stops by whole basis points only: trail_fraction {req.trail_fraction} "
                f"is {bips:f} bips"
            )
        info = ((self._ex.markets or {}).get(req.symbol) or {}).get("info") or {}
        low, high = _DEFAULT_TRAILING_DELTA
        for f in info.get("filters") or []:
            if f.get("filterType") == "TRAILING_DELTA":
                below = req.side is Side.SELL  # a sell stop-loss trails below the market
                key = "Below" if below else "Above"
                low, high = int(f[f"minTrailing{key}Delta"]), int(f[f"maxTrailing{key}Delta"])
        if not low <= bips <= high:
            raise InvalidOrder(
                f"{self.name} trails {req.symbol} stops by {low} to {high} basis points: trail_fraction "
                f"{req.trail_fraction} is {bips:f} bips"
            )
        return int(bips)

    def _request_params(self, req: OrderRequest) -> dict[str, Any]:
        """Our client order id, and on Binance-family venues the receive window and the time the
        request was first allowed out; raises ExchangeUnavailable when it would arrive too late."""
        params: dict[str, Any] = {"clientOrderId": self.venue_client_id(req.client_order_id)}
        if not self.binance_family:
            return params
        params = {"newClientOrderId": params["clientOrderId"], "recvWindow": self.config.recv_window_ms}
        if req.sent_at is not None:
            # ccxt's own clock correction (options adjustForTimeDifference) applies to ours too.
            offset = int(self._ex.options.get("timeDifference") or 0)
            params["timestamp"] = _ms(req.sent_at) - offset
            age = (datetime.now(UTC) - req.sent_at).total_seconds()
            if age > self.config.recv_window_ms / 2000:  # it would arrive too late: do not send
                raise ExchangeUnavailable(
                    f"{self.name}: order {req.client_order_id} not sent, its request window is "
                    f"half gone after {age:.1f} s of waiting; the next attempt starts a new one"
                )
        return params

    def _unified(self, m: Market, req: OrderRequest) -> tuple[str, Decimal, Decimal | None, dict[str, Any]]:
        """(ccxt type, amount, limit price, params) of a request, through ccxt's unified create_order.

        ccxt's binance maps, for spot: ``triggerPrice`` on a market order to STOP_LOSS and on a
        limit order to STOP_LOSS_LIMIT (with ``stopPrice``); ``trailingPercent`` (with
        ``stopLossOrTakeProfit``) to ``trailingDelta`` = percent x 100 bips; ``timeInForce`` is
        passed through.
        """
        self.capabilities.check(self.name, req)
        qty, price = self._check_rules(m, req)
        params = self._request_params(req)
        kind = "limit" if req.type.has_limit else "market"
        if req.type.has_limit and self.binance_family:
            params["timeInForce"] = req.tif.value.upper()
        if req.type in (OrderType.STOP, OrderType.STOP_LIMIT):
            params["triggerPrice"] = str(self._stop_of(m, req))
        elif req.type is OrderType.TRAILING_STOP:
            percent = Decimal(self._trailing_delta(req)) / 100
            params |= {"trailingPercent": f"{percent.normalize():f}", "stopLossOrTakeProfit": "stopLoss"}
        return kind, qty, price, params

    async def create_order(self, req: OrderRequest) -> VenueOrder:
        """Place an order carrying our client order id; raises OrderStatusUnknown when unanswered."""
        if req.oco_group is not None and self.capabilities.oco:
            raise InvalidOrder(
                f"{self.name} places one-cancels-the-other groups as one order list: send order "
                f"{req.client_order_id} of group {req.oco_group!r} with its sibling through create_oco"
            )
        m = await self.market(req.symbol)
        kind, qty, price, params = self._unified(m, req)
        self._symbols_used.add(req.symbol)
        raw = await self._call(
            lambda: self._ex.create_order(
                req.symbol, kind, req.side.value, str(qty), str(price) if price else None, params
            ),
            "create_order",
            ambiguous=True,
        )
        order = await self._order_of(raw, req.symbol, req.client_order_id)
        logger.info(
            "order placed",
            extra={"venue": self.name, "coid": req.client_order_id, "venue_order_id": order.venue_order_id},
        )
        return order

    async def create_oco(self, first: OrderRequest, second: OrderRequest) -> tuple[VenueOrder, VenueOrder]:
        """Place a one-cancels-the-other pair as one Binance order list (POST /api/v3/orderList/oco).

        ccxt has no unified OCO for Binance spot (its create_order with both a stop-loss and a
        take-profit price places the stop-loss only), so the list goes out through ccxt's signed
        implicit endpoint. The pair is a limit order (Binance's LIMIT_MAKER: a take-profit) and a
        stop, stop_limit or trailing_stop; for a sell the limit is the list's above order.
        """
        if not self.capabilities.oco:
            raise InvalidOrder(f"{self.name} does not support one-cancels-the-other groups")
        check_oco_pair(self.name, first, second)
        limits = [r for r in (first, second) if r.type is OrderType.LIMIT]
        stops = [r for r in (first, second) if r.type.has_trigger]
        if len(limits) != 1 or len(stops) != 1:
            raise InvalidOrder(
                f"{self.name}: an OCO pair is one limit order and one stop, stop_limit or trailing_stop, "
                f"not {first.type.value} and {second.type.value}"
            )
        (take, stop), m = (limits[0], stops[0]), await self.market(first.symbol)
        if take.tif is not TimeInForce.GTC:
            raise InvalidOrder(
                f"{self.name}: the limit order of an OCO pair rests until cancelled (GTC only)"
            )
        _, qty, take_price, take_params = self._unified(m, take)
        _, _, stop_price, stop_params = self._unified(m, stop)
        up, down = ("above", "below") if take.side is Side.SELL else ("below", "above")
        params: dict[str, Any] = {
            "symbol": self._ex.market(first.symbol)["id"],
            "side": first.side.value.upper(),
            "quantity": str(qty),
            "listClientOrderId": self.venue_client_id(first.oco_group or ""),
            "newOrderRespType": "FULL",
            f"{up}Type": "LIMIT_MAKER",
            f"{up}Price": str(take_price),
            f"{up}ClientOrderId": take_params.pop("newClientOrderId"),
            f"{down}ClientOrderId": stop_params.pop("newClientOrderId"),
            f"{down}Type": "STOP_LOSS_LIMIT" if stop.type is OrderType.STOP_LIMIT else "STOP_LOSS",
        }
        if stop.type is OrderType.TRAILING_STOP:
            params[f"{down}TrailingDelta"] = str(self._trailing_delta(stop))
        else:
            params[f"{down}StopPrice"] = stop_params["triggerPrice"]
        if stop.type is OrderType.STOP_LIMIT:
            params |= {f"{down}Price": str(stop_price), f"{down}TimeInForce": "GTC"}
        params |= {k: v for k, v in take_params.items() if k in ("recvWindow", "timestamp")}
        self._symbols_used.add(first.symbol)
        raw = await self._call(
            lambda: self._ex.private_post_orderlist_oco(params), "private_post_orderlist_oco", ambiguous=True
        )
        self._lists[str(raw.get("orderListId"))] = first.oco_group or ""
        ours = {self.venue_client_id(r.client_order_id): r.client_order_id for r in (first, second)}
        placed = {}
        for report in raw.get("orderReports") or []:
            coid = ours[report["clientOrderId"]]
            parsed = self._ex.parse_order(report, self._ex.market(first.symbol))
            placed[coid] = await self._order_of(parsed, first.symbol, coid)
        logger.info(
            "oco placed",
            extra={"venue": self.name, "oco_group": first.oco_group, "list": raw.get("orderListId")},
        )
        return placed[first.client_order_id], placed[second.client_order_id]

    async def _raw_by_client_id(self, client_order_id: str, symbol: str | None) -> dict[str, Any]:
        """The venue's order with our client order id; raises OrderNotFound."""
        venue_id = self.venue_client_id(client_order_id)
        symbols = [symbol] if symbol is not None else sorted(self._symbols_used)
        known = self._order_ids.get(client_order_id)
        for sym in symbols:
            if self.binance_family:
                try:
                    return await self._call(  # type: ignore[no-any-return]
                        lambda s=sym: self._ex.fetch_order("", s, {"origClientOrderId": venue_id}),  # type: ignore[misc]
                        "fetch_order",
                    )
                except OrderNotFound:
                    continue
            if known is not None and self._ex.has.get("fetchOrder"):
                try:
                    return await self._call(lambda s=sym: self._ex.fetch_order(known, s), "fetch_order")  # type: ignore[misc]
                except OrderNotFound:
                    continue
            for found in await self._scan_orders(sym):
                if str(found.get("clientOrderId") or "").endswith(venue_id):  # some venues add a prefix
                    return found
        raise OrderNotFound(f"{self.name} has no order with client order id {client_order_id!r}")

    async def _scan_orders(self, symbol: str) -> list[dict[str, Any]]:
        """Open and recent orders of a symbol, for venues that cannot look up a client order id."""
        found: list[dict[str, Any]] = []
        if self._ex.has.get("fetchOpenOrders"):
            found += await self._call(lambda: self._ex.fetch_open_orders(symbol), "fetch_open_orders")
        if self._ex.has.get("fetchClosedOrders"):
            found += await self._call(lambda: self._ex.fetch_closed_orders(symbol), "fetch_closed_orders")
        elif self._ex.has.get("fetchOrders"):
            found += await self._call(lambda: self._ex.fetch_orders(symbol), "fetch_orders")
        return found

    def _fill_id(self, symbol: str, trade: dict[str, Any], order: dict[str, Any], index: int) -> str:
        """A fill's id, unique across the account: venues number trades per symbol, and a trade
        without an id is named by its order and its place in that order's trades."""
        trade_id = trade.get("id")
        if trade_id is None:
            return f"{self.name}:{symbol}:order-{order.get('id')}:{index}"
        return f"{self.name}:{symbol}:{trade_id}"

    async def _fills_of(self, raw: dict[str, Any], symbol: str, client_order_id: str) -> tuple[Fill, ...]:
        """The executions of an order, from the venue's trades (never made up from totals)."""
        if _dec(raw.get("filled")) <= 0:
            return ()
        trades = raw.get("trades") or []
        order_id = str(raw.get("id"))
        if not trades:
            if self._ex.has.get("fetchOrderTrades"):
                trades = await self._call(
                    lambda: self._ex.fetch_order_trades(order_id, symbol), "fetch_order_trades"
                )
            elif self._ex.has.get("fetchMyTrades"):
                since = raw.get("timestamp")
                trades = [
                    t
                    for t in await self._call(
                        lambda: self._ex.fetch_my_trades(symbol, since), "fetch_my_trades"
                    )
                    if str(t.get("order")) == order_id
                ]
        fills = []
        for index, t in enumerate(trades):
            price, amount = _dec(t.get("price")), _dec(t.get("amount"))
            fee = t.get("fee") or {}
            cost, asset = _dec(fee.get("cost")), fee.get("currency")
            base, quote = symbol.split("/")[0], symbol.split("/")[1].split(":")[0]
            if cost and asset == base:
                cost = cost * price  # a fee in the base asset, valued in the quote asset
            elif cost and asset and asset != quote:
                logger.warning(
                    "fee in a third asset left out of the order's fees",
                    extra={"venue": self.name, "asset": asset, "fee": str(cost), "trade": t.get("id")},
                )
                cost = _ZERO
            fills.append(
                Fill(
                    client_order_id=client_order_id,
                    symbol=symbol,
                    side=Side(raw.get("side") or t.get("side")),
                    qty=amount,
                    price=price,
                    fee=cost,
                    ts=_from_ms(t.get("timestamp") or raw.get("lastTradeTimestamp") or raw.get("timestamp")),
                    fill_id=self._fill_id(symbol, t, raw, index),
                )
            )
        fills.sort(key=lambda f: (f.ts, f.fill_id))
        return tuple(fills)

    async def _order_of(
        self, raw: dict[str, Any], symbol: str, client_order_id: str | None = None
    ) -> VenueOrder:
        """A ccxt order structure as a VenueOrder, with its fills; Binance's own fields (the raw
        type, isWorking / workingTime, trailingDelta, orderListId) refine what ccxt unifies."""
        venue_client = raw.get("clientOrderId") or ""
        coid = client_order_id or self._ours.get(venue_client, venue_client)
        fills = await self._fills_of(raw, symbol, coid)
        filled = max(_dec(raw.get("filled")), sum((f.qty for f in fills), _ZERO))
        info = raw.get("info") or {}
        kind, trail = self._kind_of(raw, info)
        working = info["isWorking"] if "isWorking" in info else info.get("workingTime", 0) != -1
        status = _STATUS.get(str(raw.get("status")))
        if status is None:  # open (or not yet reported)
            status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
            if status is OrderStatus.OPEN and info.get("type") in _BINANCE_STOP_LIMITS and working:
                status = OrderStatus.TRIGGERED  # its stop traded: it now rests as a limit order
        fee = sum((f.fee for f in fills), _ZERO) if fills else _dec((raw.get("fee") or {}).get("cost"))
        avg = _opt_dec(raw.get("average"))
        if avg is None and fills:
            avg = sum((f.qty * f.price for f in fills), _ZERO) / filled
        # ccxt takes a placement answer's workingTime (-1 for a stop not yet triggered) as its time
        stamp = raw.get("timestamp") if (raw.get("timestamp") or 0) > 0 else info.get("transactTime")
        created = _from_ms(stamp) if stamp else datetime.now(UTC)
        updated = raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp") or raw.get("timestamp")
        if raw.get("id") is not None:
            self._order_ids[coid] = str(raw["id"])
        triggered_at = None
        if kind.has_trigger and working and int(info.get("workingTime") or -1) > 0:
            triggered_at = _from_ms(info["workingTime"])
        tif = str(raw.get("timeInForce") or "GTC").lower()
        list_id = info.get("orderListId")
        return VenueOrder(
            client_order_id=coid,
            venue_order_id=str(raw.get("id") or ""),
            symbol=raw.get("symbol") or symbol,
            side=Side(raw["side"]),
            type=kind,
            qty=_dec(raw.get("amount")),
            price=_opt_dec(raw.get("price")) if kind.has_limit else None,
            status=status,
            filled_qty=filled,
            avg_price=avg if filled > 0 else None,
            fee=fee,
            created_at=created,
            updated_at=_from_ms(updated) if updated else created,
            reason=str(info.get("rejectReason") or "") if status is OrderStatus.REJECTED else "",
            fills=fills,
            stop_price=_opt_dec(raw.get("triggerPrice")) if kind is not OrderType.TRAILING_STOP else None,
            trail_fraction=trail,
            tif=TimeInForce(tif) if tif in set(TimeInForce) else TimeInForce.GTC,
            oco_group=await self._list_group(list_id, raw.get("symbol") or symbol)
            if list_id not in (None, -1, "-1")
            else None,
            triggered_at=triggered_at,
        )

    @staticmethod
    def _kind_of(raw: dict[str, Any], info: dict[str, Any]) -> tuple[OrderType, Decimal | None]:
        """Our order type (and a trailing stop's fraction) from the venue's own type where it is a
        Binance one, else from ccxt's unified type."""
        kind = _BINANCE_TYPES.get(str(info.get("type")))
        if kind is None:
            return OrderType(raw.get("type") or "market"), None
        delta = info.get("trailingDelta")
        if delta is None:
            return kind, None
        trail = Decimal(int(delta)) / _BIPS
        return (OrderType.TRAILING_STOP if kind is OrderType.STOP else kind), trail

    async def _list_group(self, list_id: Any, symbol: str) -> str:
        """Our oco_group of a Binance order list: remembered from placing it, else read back from
        the venue (its listClientOrderId, ours where we sent it)."""
        key = str(list_id)
        if key not in self._lists:
            raw = await self._call(
                lambda: self._ex.private_get_orderlist({"orderListId": key}), "private_get_orderlist"
            )
            venue_id = str(raw.get("listClientOrderId") or key)
            self._lists[key] = self._ours.get(venue_id, venue_id)
        return self._lists[key]

    async def fetch_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """An order by our client order id, with its fills; raises OrderNotFound."""
        raw = await self._raw_by_client_id(client_order_id, symbol)
        return await self._order_of(raw, raw.get("symbol") or symbol or "", client_order_id)

    async def cancel_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Cancel an open order; a terminal one is returned as it is. Reads it back with its fills."""
        current = await self.fetch_order(client_order_id, symbol)
        if current.status.is_terminal:
            return current
        params: dict[str, Any] = {}
        if self.binance_family:
            params = {"origClientOrderId": self.venue_client_id(client_order_id)}
        try:
            await self._call(
                lambda: self._ex.cancel_order(current.venue_order_id, current.symbol, params), "cancel_order"
            )
        except OrderNotFound:
            pass  # it went terminal between the read and the cancel; read it again
        return await self.fetch_order(client_order_id, current.symbol)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Orders resting at the venue (every symbol when None), oldest first."""
        raw = await self._call(lambda: self._ex.fetch_open_orders(symbol), "fetch_open_orders")
        out = [await self._order_of(r, r.get("symbol") or symbol or "") for r in raw]
        for o in out:
            self._symbols_used.add(o.symbol)
        return sorted(out, key=lambda o: (o.created_at, o.venue_order_id))

    async def orders(self, since: datetime | None = None) -> list[VenueOrder]:
        """Orders created at or after ``since`` in the symbols this process has traded or seen open
        (venues such as Binance list orders per symbol only), oldest first."""
        if since is not None and since.tzinfo is None:
            raise InvalidInput("orders(since=...) needs a timezone-aware datetime")
        await self.open_orders()
        start = _ms(since) if since is not None else None
        out: list[VenueOrder] = []
        for sym in sorted(self._symbols_used):
            raw = await self._call(lambda s=sym: self._ex.fetch_orders(s, start), "fetch_orders")  # type: ignore[misc]
            out += [await self._order_of(r, sym) for r in raw]
        return sorted(out, key=lambda o: (o.created_at, o.venue_order_id))

    async def close(self) -> None:
        """Close ccxt's HTTP session."""
        await self._ex.close()
