"""A simulated spot venue that replays real price history, with its own durable SQLite state.

Replay (see ``exchanges.replay``): the file's first open records a wall-clock epoch, and
``bars_per_second`` and ``start_bar``; later opens reuse the stored values (a warning is logged if
others were given). Every series advances one bar per ``1 / bars_per_second`` seconds and wraps
around to ``start_bar`` when exhausted. The current price is the close of the current bar.

Orders: market orders fill at once; limit orders rest and fill at their limit price when a bar
that became current after their creation bar crosses it. Matching runs lazily at the start of
every call that reads or changes account state. Several processes may share one state file.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

from exchanges.data import SeriesSpec, bundled_series
from exchanges.paper_db import (
    SCHEMA,
    add_balance,
    balance,
    balance_rows,
    dec,
    load_order,
    parse_ts,
    to_step,
    ts_text,
    venue_order_id,
)
from exchanges.replay import ReplayClock
from trading.errors import (
    DuplicateClientOrderId,
    ExchangeUnavailable,
    InsufficientBalance,
    InvalidInput,
    InvalidOrder,
    OrderNotFound,
    UnknownSymbol,
)
from trading.models import Candle, Market, OrderRequest, OrderStatus, OrderType, Side, Ticker, VenueOrder

logger = logging.getLogger(__name__)

T = TypeVar("T")
_HALF_SPREAD = Decimal("0.00005")  # half of a 1 bp spread
_BP = Decimal("0.0001")
_ZERO = Decimal(0)
_DAY = timedelta(days=1)


class PaperExchange:
    """Paper-trading venue replaying historical bars; state lives in one SQLite file."""

    name = "paper"

    def __init__(
        self,
        state_path: Path,
        *,
        series: Mapping[str, SeriesSpec] | None = None,
        bars_per_second: float = 2.0,
        fee_rate: Decimal = Decimal("0.001"),
        slippage_bps: Decimal = Decimal("5"),
        initial_balances: Mapping[str, Decimal] | None = None,
        start_bar: int = 200,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not bars_per_second > 0:
            raise InvalidInput(f"bars_per_second must be positive, got {bars_per_second}")
        if start_bar < 0:
            raise InvalidInput(f"start_bar must be non-negative, got {start_bar}")
        if fee_rate < 0 or slippage_bps < 0:
            raise InvalidInput("fee_rate and slippage_bps must be non-negative")
        self._path = Path(state_path)
        self._series = dict(series) if series is not None else bundled_series()
        self._bps = Fraction(str(bars_per_second))
        self._start_bar = start_bar
        self._fee_rate = Decimal(fee_rate)
        self._slippage = Decimal(slippage_bps) * _BP
        self._initial = (
            dict(initial_balances) if initial_balances is not None else {"USD": Decimal(1_000_000)}
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._candles: dict[str, list[Candle]] = {}
        self._replay_clock: ReplayClock | None = None

    # ---- public API -------------------------------------------------------------------------

    async def markets(self) -> list[Market]:
        """Every listed market, sorted by symbol."""
        return [self._series[s].market() for s in sorted(self._series)]

    async def market(self, symbol: str) -> Market:
        """One market; raises UnknownSymbol."""
        return self._spec(symbol).market()

    async def ticker(self, symbol: str) -> Ticker:
        """Current close as ``last``, with a 1 bp spread around it; ``ts`` is the wall-clock time.

        The 24-hour figures come from the replayed bars that opened in the 24 hours up to the current one.
        """
        spec = self._spec(symbol)
        await self._ready()
        now = self._now()
        bars = self._candles[symbol]
        idx = self._replay().index(len(bars), self._replay().tick(now))
        cur = bars[idx]
        day = [c for c in bars[max(0, idx - 24 * 60) : idx + 1] if c.ts > cur.ts - _DAY]
        last = cur.close
        step = spec.price_step
        bid = to_step(last * (1 - _HALF_SPREAD), step, ROUND_FLOOR)
        ask = to_step(last * (1 + _HALF_SPREAD), step, ROUND_CEILING)
        volume = sum((c.volume for c in day), _ZERO)
        return Ticker(
            symbol=symbol,
            ts=now,
            last=last,
            bid=bid,
            ask=ask,
            open=day[0].open,
            high=max(c.high for c in day),
            low=min(c.low for c in day),
            base_volume=volume,
            quote_volume=sum((c.volume * c.close for c in day), _ZERO),
        )

    async def tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        """Tickers of the given symbols (every listed one when None); raises UnknownSymbol."""
        wanted = sorted(self._series) if symbols is None else list(symbols)
        for sym in wanted:
            self._spec(sym)
        return {sym: await self.ticker(sym) for sym in wanted}

    async def ohlcv(
        self,
        symbol: str,
        limit: int = 100,
        *,
        timeframe: str | None = None,
        since: datetime | None = None,
    ) -> list[Candle]:
        """Bars of the series' own timeframe, oldest first, never past the replay's current bar.

        Without ``since``: the last ``limit`` of them. With ``since``: at most ``limit`` opening at
        or after it. Another ``timeframe`` than the series' raises InvalidInput.
        """
        spec = self._spec(symbol)
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        if timeframe is not None and spec.timeframe and timeframe != spec.timeframe:
            raise InvalidInput(
                f"the paper exchange replays {symbol} in {spec.timeframe} bars only, not {timeframe}"
            )
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since must be timezone-aware")
        await self._ready()
        bars = self._candles[symbol]
        idx = self._replay().index(len(bars), self._replay().tick(self._now()))
        if since is None:
            return bars[max(0, idx - limit + 1) : idx + 1]
        first = bisect.bisect_left(bars, since, hi=idx + 1, key=lambda c: c.ts)
        return bars[first : min(idx + 1, first + limit)]

    def timeframe(self, symbol: str) -> str:
        """The timeframe a symbol's series is replayed in ("" when not declared)."""
        return self._spec(symbol).timeframe

    async def history(self, symbol: str, *, until: datetime, limit: int = 100) -> list[Candle]:
        """The last ``limit`` bars of the whole recorded series that opened at or before ``until``
        (the replay's position plays no part: this is the history, for analyses as of a past time)."""
        self._spec(symbol)
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        if until.tzinfo is None:
            raise InvalidInput("until must be timezone-aware")
        bars = self._spec(symbol).candles()
        upto = [c for c in bars if c.ts <= until]
        if not upto:
            raise InvalidInput(
                f"no {symbol} history at or before {until.isoformat()}; it starts {bars[0].ts.isoformat()}"
            )
        return upto[-limit:]

    async def balance(self) -> dict[str, Decimal]:
        """Total per asset, including amounts reserved by open orders."""
        return await self._run(lambda c, now: {a: dec(t) for a, t, _ in balance_rows(c)})

    async def free_balance(self) -> dict[str, Decimal]:
        """Per asset, the amount not reserved by open orders (paper-only helper)."""
        return await self._run(lambda c, now: {a: dec(t) - dec(r) for a, t, r in balance_rows(c)})

    async def create_order(self, req: OrderRequest) -> VenueOrder:
        """Validate and place an order; raises and records nothing when the venue would reject it."""
        return await self._run(lambda c, now: self._create(c, now, req))

    async def fetch_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """An order by client order id; raises OrderNotFound."""
        return await self._run(lambda c, now: self._get(c, client_order_id, symbol))

    async def cancel_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Cancel an open order and release its reservation; a terminal order comes back unchanged."""
        return await self._run(lambda c, now: self._cancel(c, now, client_order_id, symbol))

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Orders resting at the venue, oldest first."""
        sql, args = "SELECT * FROM orders WHERE status = ?", [OrderStatus.OPEN.value]
        if symbol is not None:
            sql, args = sql + " AND symbol = ?", [*args, symbol]
        return await self._run(
            lambda c, now: [load_order(c, r) for r in c.execute(sql + " ORDER BY id", args)]
        )

    async def orders(self, since: datetime | None = None) -> list[VenueOrder]:
        """All orders created at or after ``since`` (every order when None), oldest first."""
        if since is not None and since.tzinfo is None:
            raise InvalidInput("orders(since=...) needs a timezone-aware datetime")
        floor = ts_text(since) if since is not None else ""
        sql = "SELECT * FROM orders WHERE created_at >= ? ORDER BY id"
        return await self._run(lambda c, now: [load_order(c, r) for r in c.execute(sql, [floor])])

    async def close(self) -> None:
        """Close the SQLite connection (a later call opens it again)."""
        await asyncio.to_thread(self._close_sync)

    # ---- replay clock -----------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInput("the clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _replay(self) -> ReplayClock:
        if self._replay_clock is None:
            raise RuntimeError("the paper venue's state is not opened yet")
        return self._replay_clock

    def _current(self, symbol: str, tick: int) -> Candle:
        bars = self._candles[symbol]
        return bars[self._replay().index(len(bars), tick)]

    def _spec(self, symbol: str) -> SeriesSpec:
        spec = self._series.get(symbol)
        if spec is None:
            known = ", ".join(sorted(self._series)) or "none"
            raise UnknownSymbol(f"the paper exchange does not list {symbol!r}; known symbols: {known}")
        return spec

    # ---- storage plumbing -------------------------------------------------------------------

    async def _ready(self) -> None:
        if self._replay_clock is None:
            await self._run(lambda c, now: None)

    async def _run(self, fn: Callable[[sqlite3.Connection, datetime], T]) -> T:
        """Run ``fn`` in a worker thread inside one BEGIN IMMEDIATE transaction, after matching."""
        return await asyncio.to_thread(self._run_sync, fn)

    def _run_sync(self, fn: Callable[[sqlite3.Connection, datetime], T]) -> T:
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    now = self._now()  # read under the write lock, so created_at follows insert order
                    self._match(conn, now)
                    result = fn(conn, now)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as e:
                raise ExchangeUnavailable(f"paper exchange state {self._path} is unavailable: {e}") from e

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(SCHEMA)
            for symbol, spec in self._series.items():  # before the replay clock, which marks "ready"
                self._candles[symbol] = spec.candles()
            self._init_meta(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _init_meta(self, conn: sqlite3.Connection) -> None:
        """Write epoch, replay settings and balances on the first open; read them on later ones."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}
            if "epoch" not in meta:
                meta = {
                    "epoch": ts_text(self._now()),
                    "bps": str(self._bps),
                    "start_bar": str(self._start_bar),
                }
                conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
                conn.executemany(
                    "INSERT INTO balances (asset, total, reserved) VALUES (?, ?, '0')",
                    [(a, str(Decimal(v))) for a, v in self._initial.items()],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        stored_bps, stored_start = Fraction(meta["bps"]), int(meta["start_bar"])
        if (stored_bps, stored_start) != (self._bps, self._start_bar):
            logger.warning(
                "paper exchange state keeps its replay settings",
                extra={
                    "path": str(self._path),
                    "bars_per_second": float(stored_bps),
                    "start_bar": stored_start,
                },
            )
        self._replay_clock = ReplayClock(parse_ts(meta["epoch"]), stored_bps, stored_start)

    def _close_sync(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- matching and order handling (inside a transaction) ----------------------------------

    def _match(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Fill every open limit order that a bar after its creation bar has crossed."""
        replay = self._replay()
        tick = replay.tick(now)
        rows = conn.execute(
            "SELECT * FROM orders WHERE status = ? AND type = ? ORDER BY id",
            [OrderStatus.OPEN.value, OrderType.LIMIT.value],
        ).fetchall()
        for row in rows:
            bars = self._candles.get(row["symbol"])
            if bars is None:
                continue  # a series this process was not given; another process can match it
            price = dec(row["price"])
            hit = replay.first_cross(bars, Side(row["side"]), price, row["created_tick"], tick)
            if hit is not None:
                self._fill(conn, row, price, replay.tick_time(hit))

    def _fill(self, conn: sqlite3.Connection, row: sqlite3.Row, price: Decimal, ts: datetime) -> None:
        """Execute the whole order at ``price``; move balances and release its reservation."""
        spec = self._series[row["symbol"]]
        qty = dec(row["qty"])
        notional = qty * price
        fee = notional * self._fee_rate
        if row["reserved_asset"]:
            add_balance(conn, row["reserved_asset"], _ZERO, -dec(row["reserved"]))
        if Side(row["side"]) is Side.BUY:
            add_balance(conn, spec.quote, -(notional + fee), _ZERO)
            add_balance(conn, spec.base, qty, _ZERO)
        else:
            add_balance(conn, spec.base, -qty, _ZERO)
            add_balance(conn, spec.quote, notional - fee, _ZERO)
        conn.execute(
            "UPDATE orders SET status = ?, filled_qty = ?, avg_price = ?, fee = ?, reserved = '0',"
            " updated_at = ? WHERE id = ?",
            [OrderStatus.FILLED.value, str(qty), str(price), str(fee), ts_text(ts), row["id"]],
        )
        conn.execute(
            "INSERT INTO fills (fill_id, order_id, qty, price, fee, ts) VALUES (?, ?, ?, ?, ?, ?)",
            [f"{venue_order_id(row['id'])}-1", row["id"], str(qty), str(price), str(fee), ts_text(ts)],
        )

    def _create(self, conn: sqlite3.Connection, now: datetime, req: OrderRequest) -> VenueOrder:
        spec = self._spec(req.symbol)
        dup = conn.execute(
            "SELECT id, status FROM orders WHERE client_order_id = ?", [req.client_order_id]
        ).fetchone()
        if dup is not None:
            raise DuplicateClientOrderId(
                f"client order id {req.client_order_id!r} is already used by order "
                f"{venue_order_id(dup['id'])} ({dup['status']})"
            )
        self._check_size(spec, req)
        tick = self._replay().tick(now)
        if req.type is OrderType.MARKET:
            close = self._current(req.symbol, tick).close
            if req.side is Side.BUY:
                price = to_step(close * (1 + self._slippage), spec.price_step, ROUND_CEILING)
            else:
                price = to_step(close * (1 - self._slippage), spec.price_step, ROUND_FLOOR)
        else:
            if req.price is None:  # OrderRequest refuses this already
                raise InvalidOrder(f"{self.name}: a limit order of {req.symbol} needs a price")
            price = req.price
            if price % spec.price_step != 0:
                raise InvalidOrder(
                    f"limit price {price} for {req.symbol} is not a multiple of the price step "
                    f"{spec.price_step}"
                )
        notional = req.qty * price
        if notional < spec.min_notional:
            raise InvalidOrder(
                f"order value {notional} {spec.quote} for {req.symbol} is below the minimum "
                f"{spec.min_notional} {spec.quote}"
            )
        fee = notional * self._fee_rate
        asset, need = (spec.quote, notional + fee) if req.side is Side.BUY else (spec.base, req.qty)
        total, reserved = balance(conn, asset)
        if total - reserved < need:
            what = (
                f"{need} {asset} (value {notional} plus fee {fee})"
                if req.side is Side.BUY
                else f"{need} {asset}"
            )
            raise InsufficientBalance(
                f"cannot {req.side.value} {req.qty} {req.symbol}: it needs {what}, but only "
                f"{total - reserved} {asset} is available ({total} held, {reserved} reserved by open orders)"
            )
        is_limit = req.type is OrderType.LIMIT
        cur = conn.execute(
            "INSERT INTO orders (client_order_id, symbol, side, type, qty, price, status, filled_qty,"
            " avg_price, fee, reserved_asset, reserved, created_tick, created_at, updated_at, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, '0', NULL, '0', ?, ?, ?, ?, ?, '')",
            [
                req.client_order_id, req.symbol, req.side.value, req.type.value, str(req.qty),
                str(price) if is_limit else None, OrderStatus.OPEN.value,
                asset if is_limit else None, str(need) if is_limit else "0",
                tick, ts_text(now), ts_text(now),
            ],
        )  # fmt: skip
        row = conn.execute("SELECT * FROM orders WHERE id = ?", [cur.lastrowid]).fetchone()
        if is_limit:
            add_balance(conn, asset, _ZERO, need)
        else:
            self._fill(conn, row, price, now)
        return self._get(conn, req.client_order_id, None)

    @staticmethod
    def _check_size(spec: SeriesSpec, req: OrderRequest) -> None:
        if req.qty < spec.min_qty:
            raise InvalidOrder(f"quantity {req.qty} of {req.symbol} is below the minimum {spec.min_qty}")
        if req.qty % spec.qty_step != 0:
            raise InvalidOrder(
                f"quantity {req.qty} of {req.symbol} is not a multiple of the quantity step {spec.qty_step}"
            )

    def _get(self, conn: sqlite3.Connection, client_order_id: str, symbol: str | None) -> VenueOrder:
        row = conn.execute("SELECT * FROM orders WHERE client_order_id = ?", [client_order_id]).fetchone()
        if row is None or (symbol is not None and row["symbol"] != symbol):
            where = f" for {symbol}" if symbol is not None else ""
            raise OrderNotFound(
                f"the paper exchange has no order with client order id {client_order_id!r}{where}"
            )
        return load_order(conn, row)

    def _cancel(
        self, conn: sqlite3.Connection, now: datetime, client_order_id: str, symbol: str | None
    ) -> VenueOrder:
        order = self._get(conn, client_order_id, symbol)
        if order.status.is_terminal:
            return order
        row = conn.execute("SELECT * FROM orders WHERE client_order_id = ?", [client_order_id]).fetchone()
        if row["reserved_asset"]:
            add_balance(conn, row["reserved_asset"], _ZERO, -dec(row["reserved"]))
        conn.execute(
            "UPDATE orders SET status = ?, reserved = '0', updated_at = ?, reason = ? WHERE id = ?",
            [OrderStatus.CANCELLED.value, ts_text(now), "cancelled on request", row["id"]],
        )
        return self._get(conn, client_order_id, symbol)


def _enable_wal(conn: sqlite3.Connection, attempts: int = 300) -> None:
    """Switch the file to WAL; a process opening it at the same moment may hold it briefly.

    SQLite answers a journal-mode change it cannot make with "database is locked" at
    once, without waiting on the busy timeout, so the switch is tried again here.
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.01)
