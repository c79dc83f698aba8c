"""A simulated spot venue that replays real price history, with its own durable SQLite state.

Replay (see ``exchanges.replay``): the file's first open records a wall-clock epoch, and
``bars_per_second`` and ``start_bar``; later opens reuse the stored values (a warning is logged if
others were given). Every series advances one bar per ``1 / bars_per_second`` seconds and wraps
around to ``start_bar`` when exhausted. The current price is the close of the current bar.

Orders: market orders fill at once at the current close with slippage against the trader. A
limit, stop, stop-limit or trailing stop rests and acts on the bars that become current after
its creation bar, by the rules of ``trading.triggers``: a limit fills at its price; a triggered
stop or trailing stop fills at its trigger price (or the bar's open, on a gap) with slippage; a
stop-limit fills at its trigger price with slippage but never past its limit, or rests as a limit
(state ``triggered``). Orders fill whole. IOC and FOK limits fill at once at the market when their
limit is marketable there, and otherwise expire; DAY orders expire at the first bar at or after
the next UTC midnight (wall clock). Orders of one OCO group share one reservation: when one fills,
is cancelled or expires, the others are cancelled. reduce_only sells may not exceed the base
asset held; a spot account has no short to reduce, so reduce_only buys are refused. With a
:class:`~exchanges.paper_margin.PaperMargin` the account is a margin account instead: a sell may
borrow what it lacks and open a short, with interest, a maintenance margin and liquidation as
``exchanges.paper_margin`` documents; a reduce_only buy may then buy back at most the short held.
Matching runs lazily at the start of every call that reads or changes account state. Several
processes may share one state file.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

from exchanges import paper_margin
from exchanges.base import EVERY_ORDER_TYPE, EVERY_TIME_IN_FORCE, Capabilities, check_oco_pair
from exchanges.data import SeriesSpec, bundled_series
from exchanges.paper_db import (
    SCHEMA,
    add_balance,
    balance,
    balance_rows,
    dec,
    load_order,
    opt_dec,
    parse_ts,
    to_step,
    ts_text,
    upgrade,
    venue_order_id,
)
from exchanges.paper_margin import MarginState, PaperMargin
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
from trading.models import (
    Candle,
    Market,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    VenueOrder,
)
from trading.timeframes import parse_timeframe
from trading.triggers import (
    Resting,
    first_event,
    improve,
    marketable,
    met_first,
    trail_level,
    would_trigger_now,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
_HALF_SPREAD = Decimal("0.00005")  # half of a 1 bp spread
_BP = Decimal("0.0001")
_ZERO = Decimal(0)
_DAY = timedelta(days=1)
_RESTING = (OrderStatus.OPEN.value, OrderStatus.TRIGGERED.value)


class PaperExchange:
    """Paper-trading venue replaying historical bars; state lives in one SQLite file."""

    name = "paper"
    capabilities = Capabilities(  # a spot account's; a margin account's has shorts
        order_types=EVERY_ORDER_TYPE,
        time_in_force=EVERY_TIME_IN_FORCE,
        oco_legs=3,  # any mix, as many as there are exit kinds
        reduce_only=True,
        shorts=False,
        trail_amount=True,
        trail_fraction=True,
    )

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
        margin: PaperMargin | None = None,
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
        self._margin = margin
        if margin is not None:
            self.capabilities = replace(PaperExchange.capabilities, shorts=True)
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

    async def margin_account(self) -> MarginState:
        """The margin account at the current bar (paper-only helper); InvalidInput on a spot account."""
        if self._margin is None:
            raise InvalidInput("the paper venue is a spot account: it has no margin account")
        terms = self._margin

        def read(c: sqlite3.Connection, now: datetime) -> MarginState:
            return paper_margin.state(c, terms, self._prices(self._replay().tick(now)))

        return await self._run(read)

    async def create_order(self, req: OrderRequest) -> VenueOrder:
        """Validate and place an order; raises and records nothing when the venue would reject it."""
        return await self._run(lambda c, now: self._create(c, now, req))

    async def create_oco(self, first: OrderRequest, second: OrderRequest) -> tuple[VenueOrder, VenueOrder]:
        """Place both orders of an OCO pair in one transaction (both or neither)."""
        check_oco_pair(self.name, first, second)

        def both(c: sqlite3.Connection, now: datetime) -> tuple[VenueOrder, VenueOrder]:
            return self._create(c, now, first), self._create(c, now, second)

        return await self._run(both)

    async def fetch_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """An order by client order id; raises OrderNotFound."""
        return await self._run(lambda c, now: self._get(c, client_order_id, symbol))

    async def cancel_order(self, client_order_id: str, symbol: str | None = None) -> VenueOrder:
        """Cancel an open order and release its reservation; a terminal order comes back unchanged."""
        return await self._run(lambda c, now: self._cancel(c, now, client_order_id, symbol))

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Orders resting at the venue, oldest first."""
        sql, args = "SELECT * FROM orders WHERE status IN (?, ?)", list(_RESTING)
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
            upgrade(conn)
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
        """Act on every resting order for the bars that became current since it was last matched.

        Events (fills, stop-limit triggers, day expiries) are applied in the order the venue
        would have seen them: by tick, and on one tick stops before limits, so of two orders of
        one OCO group touched by the same bar the stop wins, and of two stops the one the price
        meets first (``trading.triggers.met_first``), as in the backtester.
        """
        tick = self._replay().tick(now)
        rows = conn.execute(
            "SELECT * FROM orders WHERE status IN (?, ?) ORDER BY id", list(_RESTING)
        ).fetchall()
        due: list[_Due] = []
        marks: dict[int, tuple[int, Decimal | None]] = {}
        for row in rows:
            bars = self._candles.get(row["symbol"])
            if bars is None:
                continue  # a series this process was not given; another process can match it
            events, mark = self._walk(row, bars, tick)
            due.extend(events)
            marks[row["id"]] = mark
        for event in sorted(due, key=lambda e: (e.tick, e.rank, e.meets, e.row_id)):
            if self._margin is not None:  # the closes before this event's bar come first
                self._margin_until(conn, self._margin, event.tick - 1)
            row = conn.execute("SELECT * FROM orders WHERE id = ?", [event.row_id]).fetchone()
            if row["status"] in _RESTING:  # else an earlier event (an OCO sibling's fill) closed it
                self._apply(conn, row, event)
        if self._margin is not None:
            self._margin_until(conn, self._margin, tick)
        for row_id, (checked, best) in marks.items():
            row = conn.execute("SELECT * FROM orders WHERE id = ?", [row_id]).fetchone()
            if row["status"] not in _RESTING:
                continue
            level = row["stop_price"]
            if best is not None:
                level = str(self._trail(row, best))
            conn.execute(
                "UPDATE orders SET checked_tick = ?, trail_best = ?, stop_price = ? WHERE id = ?",
                [checked, str(best) if best is not None else row["trail_best"], level, row_id],
            )

    # ---- the margin account (exchanges.paper_margin) -----------------------------------------

    def _prices(self, tick: int) -> dict[str, Decimal]:
        """Every asset's price in the quote currency at ``tick``: a base asset at its series'
        close, a quote currency at 1."""
        out: dict[str, Decimal] = {}
        for symbol, spec in self._series.items():
            if symbol in self._candles:
                out.setdefault(spec.base, self._current(symbol, tick).close)
                out[spec.quote] = Decimal(1)
        return out

    def _series_of(self, asset: str) -> SeriesSpec | None:
        found = (sp for sym, sp in self._series.items() if sp.base == asset and sym in self._candles)
        return next(found, None)

    def _bar_seconds(self, spec: SeriesSpec) -> Decimal:
        if spec.timeframe:
            return Decimal(int(parse_timeframe(spec.timeframe).interval.total_seconds()))
        bars = self._candles[spec.symbol]
        return Decimal(int((bars[1].ts - bars[0].ts).total_seconds())) if len(bars) > 1 else _ZERO

    def _margin_until(self, conn: sqlite3.Connection, terms: PaperMargin, upto: int) -> None:
        """Charge interest and check the maintenance margin at every bar's close after the last one
        checked, up to ``upto``, liquidating the shorts at the first close under it."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'margin_tick'").fetchone()
        last = int(row["value"]) if row else upto
        if row is not None and upto <= last:
            return
        held = paper_margin.shorts(conn)
        specs = {a: sp for a in held if (sp := self._series_of(a)) is not None}  # the same every bar
        bar_s = {a: self._bar_seconds(sp) for a, sp in specs.items()}
        quote = next((sp.quote for sp in specs.values()), "")
        for t in range(last + 1, upto + 1) if quote else ():
            prices = self._prices(t)
            paper_margin.charge_interest(conn, terms, prices, bar_s, quote=quote)
            if paper_margin.under_maintenance(conn, terms, prices):
                self._liquidate(conn, terms, t, prices)
                break  # every short is bought back
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('margin_tick', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(max(upto, last))],
        )

    def _liquidate(
        self, conn: sqlite3.Connection, terms: PaperMargin, tick: int, prices: Mapping[str, Decimal]
    ) -> None:
        """Cancel the shorted symbols' resting orders and buy every short back at ``tick``'s close."""
        now = paper_margin.state(conn, terms, prices)
        why = (
            f"liquidated: equity {now.equity} is below the maintenance margin {now.maintenance} "
            f"of shorts worth {now.short_value}"
        )
        ts = self._replay().tick_time(tick)
        for asset, qty in now.shorts.items():
            spec = self._series_of(asset)
            if spec is None:
                continue
            for resting in conn.execute(
                "SELECT * FROM orders WHERE symbol = ? AND status IN (?, ?) ORDER BY id",
                [spec.symbol, *_RESTING],
            ).fetchall():
                self._release(conn, resting, OrderStatus.CANCELLED, ts, why)
            cur = conn.execute(
                "INSERT INTO orders (client_order_id, symbol, side, type, qty, price, status, filled_qty,"
                " avg_price, fee, reserved_asset, reserved, created_tick, created_at, updated_at, reason,"
                " tif, reduce_only, checked_tick)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, '0', NULL, '0', NULL, '0', ?, ?, ?, ?, ?, 1, ?)",
                [
                    f"{paper_margin.LIQUIDATION_PREFIX}{tick}-{asset}", spec.symbol, Side.BUY.value,
                    OrderType.MARKET.value, str(qty), OrderStatus.OPEN.value, tick, ts_text(ts),
                    ts_text(ts), why, TimeInForce.IOC.value, tick,
                ],
            )  # fmt: skip
            row = conn.execute("SELECT * FROM orders WHERE id = ?", [cur.lastrowid]).fetchone()
            self._fill(conn, row, self._slipped(spec, Side.BUY, prices[asset]), ts)
            logger.warning(
                "paper margin account liquidated a short",
                extra={"asset": asset, "qty": str(qty), "tick": tick, "reason": why},
            )

    def _walk(
        self, row: sqlite3.Row, bars: list[Candle], tick: int
    ) -> tuple[list[_Due], tuple[int, Decimal | None]]:
        """The events of one resting order over the ticks after it was last matched up to ``tick``,
        and where it stands after them (last tick walked, a trailing stop's best price)."""
        replay = self._replay()
        start, span = replay.bounds(len(bars))
        first = (row["checked_tick"] if row["checked_tick"] is not None else row["created_tick"]) + 1
        last = tick if row["expires_tick"] is None else min(tick, row["expires_tick"] - 1)
        # after two laps of the same bars nothing new can happen: stop walking there
        ticks = range(first, min(last, first - 1 + 2 * span) + 1)
        walked = [bars[start + t % span] for t in ticks]
        order = self._resting(row)
        events: list[_Due] = []
        rank = 1 if order.type is OrderType.LIMIT or order.triggered else 0
        hit = first_event(order, walked)
        meets = met_first(order.side, hit.stop_price) if hit is not None and rank == 0 else _ZERO
        if hit is not None and hit.kind == "triggered":
            events.append(_Due(ticks[hit.index], 0, row["id"], "triggered", hit.price, meets))
            rest = walked[hit.index + 1 :]
            filled = first_event(replace(order, triggered=True), rest)
            if filled is not None:
                events.append(_Due(ticks[hit.index + 1 + filled.index], 1, row["id"], "limit", filled.price))
        elif hit is not None:
            kind = "limit" if rank == 1 else order.type.value
            events.append(_Due(ticks[hit.index], rank, row["id"], kind, hit.price, meets))
        if row["expires_tick"] is not None and tick >= row["expires_tick"]:
            events.append(_Due(row["expires_tick"], 2, row["id"], "expired", _ZERO))
        best = None
        if order.type is OrderType.TRAILING_STOP:
            best = _reference(order)
            for bar in walked:
                best = improve(order.side, best, bar)
        return events, (ticks[-1] if ticks else first - 1, best)

    def _resting(self, row: sqlite3.Row) -> Resting:
        return Resting(
            type=OrderType(row["type"]),
            side=Side(row["side"]),
            price=opt_dec(row["price"]),
            stop_price=opt_dec(row["stop_price"]),
            trail_amount=opt_dec(row["trail_amount"]),
            trail_fraction=opt_dec(row["trail_fraction"]),
            reference=opt_dec(row["trail_best"]),
            price_step=self._series[row["symbol"]].price_step,
            triggered=row["status"] == OrderStatus.TRIGGERED.value,
        )

    def _trail(self, row: sqlite3.Row, best: Decimal) -> Decimal:
        return trail_level(
            Side(row["side"]),
            best,
            amount=opt_dec(row["trail_amount"]),
            fraction=opt_dec(row["trail_fraction"]),
            step=self._series[row["symbol"]].price_step,
        )

    def _apply(self, conn: sqlite3.Connection, row: sqlite3.Row, event: _Due) -> None:
        """Apply one event to a resting order (all changes in the caller's transaction)."""
        ts = self._replay().tick_time(event.tick)
        if event.kind == "expired":
            self._close(conn, row, OrderStatus.EXPIRED, ts, "a day order expires at the end of its UTC day")
            return
        if event.kind == "triggered":
            conn.execute(
                "UPDATE orders SET status = ?, triggered_at = ?, updated_at = ? WHERE id = ?",
                [OrderStatus.TRIGGERED.value, ts_text(ts), ts_text(ts), row["id"]],
            )
            return
        spec = self._series[row["symbol"]]
        side = Side(row["side"])
        price = event.price
        if event.kind != "limit":  # a triggered stop trades as a market order: it slips
            price = self._slipped(spec, side, price)
            if event.kind == OrderType.STOP_LIMIT.value:  # ... but never past its limit
                limit = dec(row["price"])
                price = min(price, limit) if side is Side.BUY else max(price, limit)
            conn.execute("UPDATE orders SET triggered_at = ? WHERE id = ?", [ts_text(ts), row["id"]])
        if side is Side.BUY:
            cost = dec(row["qty"]) * price * (1 + self._fee_rate)
            total, reserved = balance(conn, spec.quote)
            available = total - reserved + dec(row["reserved"])
            if cost > available:
                self._close(
                    conn, row, OrderStatus.EXPIRED, ts,
                    f"triggered at {price}, but {cost} {spec.quote} was needed and {available} was available",
                )  # fmt: skip
                return
        row = conn.execute("SELECT * FROM orders WHERE id = ?", [row["id"]]).fetchone()
        self._fill(conn, row, price, ts)
        self._close_group(conn, row, ts, f"one-cancels-the-other: {row['client_order_id']} filled")

    def _close(
        self, conn: sqlite3.Connection, row: sqlite3.Row, status: OrderStatus, ts: datetime, reason: str
    ) -> None:
        """End a resting order unfilled (cancelled or expired), releasing its reservation; an OCO
        group goes with it."""
        self._release(conn, row, status, ts, reason)
        self._close_group(conn, row, ts, f"one-cancels-the-other: {row['client_order_id']} {status.value}")

    def _release(
        self, conn: sqlite3.Connection, row: sqlite3.Row, status: OrderStatus, ts: datetime, reason: str
    ) -> None:
        if row["reserved_asset"]:
            add_balance(conn, row["reserved_asset"], _ZERO, -dec(row["reserved"]))
        conn.execute(
            "UPDATE orders SET status = ?, reserved = '0', updated_at = ?, reason = ? WHERE id = ?",
            [status.value, ts_text(ts), reason, row["id"]],
        )

    def _close_group(self, conn: sqlite3.Connection, row: sqlite3.Row, ts: datetime, reason: str) -> None:
        """Cancel the other resting members of ``row``'s OCO group."""
        if row["oco_group"] is None:
            return
        others = conn.execute(
            "SELECT * FROM orders WHERE oco_group = ? AND id != ? AND status IN (?, ?)",
            [row["oco_group"], row["id"], *_RESTING],
        ).fetchall()
        for other in others:
            self._release(conn, other, OrderStatus.CANCELLED, ts, reason)

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

    def _slipped(self, spec: SeriesSpec, side: Side, price: Decimal) -> Decimal:
        """A market execution's price from ``price``: slippage against the trader, on the price step."""
        if side is Side.BUY:
            return to_step(price * (1 + self._slippage), spec.price_step, ROUND_CEILING)
        return to_step(price * (1 - self._slippage), spec.price_step, ROUND_FLOOR)

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
        close = self._current(req.symbol, tick).close
        self._check_prices(spec, req, close)
        if req.reduce_only:
            self._check_reduces(conn, spec, req, margin=self._margin is not None)
        # the price the order's value, fee and reservation are figured at
        level: Decimal | None = None
        if req.type is OrderType.MARKET:
            at = self._slipped(spec, req.side, close)
        elif req.type is OrderType.TRAILING_STOP:
            level = trail_level(
                req.side, close, amount=req.trail_amount, fraction=req.trail_fraction, step=spec.price_step
            )
            at = self._slipped(spec, req.side, level)
        elif req.type is OrderType.STOP:
            level = req.stop_price
            at = self._slipped(spec, req.side, _need(req.stop_price))
        else:
            level = req.stop_price
            at = _need(req.price)
        notional = req.qty * at
        if notional < spec.min_notional:
            raise InvalidOrder(
                f"order value {notional} {spec.quote} for {req.symbol} is below the minimum "
                f"{spec.min_notional} {spec.quote}"
            )
        fee = notional * self._fee_rate
        asset, need = (spec.quote, notional + fee) if req.side is Side.BUY else (spec.base, req.qty)
        held_by_group = self._group_reservation(conn, req) if req.oco_group else _ZERO
        reserve = max(need - held_by_group, _ZERO)
        total, reserved = balance(conn, asset)
        if req.side is Side.SELL and self._margin is not None:  # it may borrow what is not held
            paper_margin.check_open(
                conn, self._margin, self._prices(tick), asset=asset, qty=reserve, quote=spec.quote,
                what=f"sell {req.qty} {req.symbol}",
            )  # fmt: skip
        elif total - reserved < reserve:
            what = (
                f"{need} {asset} (value {notional} plus fee {fee})"
                if req.side is Side.BUY
                else f"{need} {asset}"
            )
            raise InsufficientBalance(
                f"cannot {req.side.value} {req.qty} {req.symbol}: it needs {what}, but only "
                f"{total - reserved} {asset} is available ({total} held, {reserved} reserved by open orders)"
            )
        immediate = req.type is OrderType.MARKET or req.tif in (TimeInForce.IOC, TimeInForce.FOK)
        expires = self._day_end_tick(now) if req.tif is TimeInForce.DAY else None
        cur = conn.execute(
            "INSERT INTO orders (client_order_id, symbol, side, type, qty, price, status, filled_qty,"
            " avg_price, fee, reserved_asset, reserved, created_tick, created_at, updated_at, reason,"
            " stop_price, trail_amount, trail_fraction, trail_best, tif, reduce_only, oco_group,"
            " checked_tick, expires_tick)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, '0', NULL, '0', ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [
                req.client_order_id, req.symbol, req.side.value, req.type.value, str(req.qty),
                _text(req.price), OrderStatus.OPEN.value,
                None if immediate else asset, "0" if immediate else str(reserve),
                tick, ts_text(now), ts_text(now),
                _text(level), _text(req.trail_amount), _text(req.trail_fraction),
                str(close) if req.type is OrderType.TRAILING_STOP else None,
                req.tif.value, int(req.reduce_only), req.oco_group, expires,
            ],
        )  # fmt: skip
        row = conn.execute("SELECT * FROM orders WHERE id = ?", [cur.lastrowid]).fetchone()
        if not immediate:
            add_balance(conn, asset, _ZERO, reserve)
        elif req.type is OrderType.MARKET:
            self._fill(conn, row, at, now)
        else:  # an IOC or FOK limit executes now at the market, or not at all
            market_price = self._slipped(spec, req.side, close)
            if marketable(req.side, _need(req.price), market_price):
                self._fill(conn, row, market_price, now)
            else:
                self._release(
                    conn, row, OrderStatus.EXPIRED, now,
                    f"{req.tif.value}: limit {req.price} is not marketable at {market_price}",
                )  # fmt: skip
        return self._get(conn, req.client_order_id, None)

    def _check_prices(self, spec: SeriesSpec, req: OrderRequest, close: Decimal) -> None:
        """Prices on the price step; a stop that would trigger at once is refused."""
        for what, value in (("limit price", req.price), ("stop price", req.stop_price)):
            if value is not None and value % spec.price_step != 0:
                raise InvalidOrder(
                    f"{what} {value} for {req.symbol} is not a multiple of the price step {spec.price_step}"
                )
        if req.stop_price is not None and would_trigger_now(req.side, req.stop_price, close):
            where = "at or above" if req.side is Side.SELL else "at or below"
            raise InvalidOrder(
                f"a {req.side.value} stop at {req.stop_price} for {req.symbol} is {where} the current "
                f"price {close}: it would trigger at once"
            )

    @staticmethod
    def _check_reduces(
        conn: sqlite3.Connection, spec: SeriesSpec, req: OrderRequest, *, margin: bool
    ) -> None:
        """A reduce-only order: a sell of at most what is held; a buy of at most the short held (a
        spot account holds none)."""
        held, _ = balance(conn, spec.base)
        if req.side is Side.BUY:
            if not margin:
                raise InvalidOrder(
                    f"reduce-only buy of {req.symbol} refused: "
                    "a spot account holds no short position to reduce"
                )
            if req.qty > -held:
                raise InvalidOrder(
                    f"reduce-only buy of {req.qty} {req.symbol} refused: "
                    f"the short held is {max(-held, _ZERO)} {spec.base}"
                )
            return
        if req.qty > held:
            raise InvalidOrder(
                f"reduce-only sell of {req.qty} {req.symbol} refused: only {held} {spec.base} is held"
            )

    @staticmethod
    def _group_reservation(conn: sqlite3.Connection, req: OrderRequest) -> Decimal:
        """What the resting members of ``req``'s OCO group already reserve for it (they must be of
        the same symbol and side); a group none of whose members rests any more is closed."""
        rows = conn.execute(
            "SELECT symbol, side, status, reserved FROM orders WHERE oco_group = ?", [req.oco_group]
        ).fetchall()
        if not rows:
            return _ZERO
        if any(r["symbol"] != req.symbol or r["side"] != req.side.value for r in rows):
            raise InvalidOrder(
                f"oco group {req.oco_group!r} holds orders of another symbol or side than "
                f"{req.side.value} {req.symbol}"
            )
        live = [r for r in rows if r["status"] in _RESTING]
        if not live:
            raise InvalidOrder(f"oco group {req.oco_group!r} is closed: none of its orders rests any more")
        return sum((dec(r["reserved"]) for r in live), _ZERO)

    def _day_end_tick(self, now: datetime) -> int:
        """The first tick at or after the next UTC midnight: a day order placed now expires there."""
        midnight = datetime.combine(now.date() + _DAY, datetime.min.time(), tzinfo=UTC)
        replay = self._replay()
        tick = replay.tick(midnight)
        return tick if replay.tick_time(tick) >= midnight else tick + 1

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
        self._close(conn, row, OrderStatus.CANCELLED, now, "cancelled on request")
        return self._get(conn, client_order_id, symbol)


@dataclass(frozen=True, slots=True)
class _Due:
    """An event of a resting order found by matching: at ``tick``, ``kind`` at ``price``."""

    tick: int
    rank: int  # on one tick: stops (0) before limits (1) before day expiries (2)
    row_id: int
    kind: str  # "limit" (a limit fill), "stop" / "stop_limit" / "trailing_stop" (a trigger's fill),
    # "triggered" (a stop-limit now resting) or "expired"
    price: Decimal
    meets: Decimal = Decimal(0)  # of stops on one tick, the one the price meets first acts first


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _need(value: Decimal | None) -> Decimal:
    if value is None:  # OrderRequest's shape check refuses this already
        raise InvalidOrder("the order lacks a price its type needs")
    return value


def _reference(order: Resting) -> Decimal:
    if order.reference is None:
        raise InvalidOrder("a trailing stop without its best price")
    return order.reference


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
