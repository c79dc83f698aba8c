"""The change feed: ``GET /stream``, server-sent events telling a console what changed in the books.

One watcher per API process reads the store's change markers every ``interval_s`` (an id that
only grows, or a time a row was last written) and turns each new row into one small event,
``{"topic", "strategy_id", "ref"}``: what to read again, not the row itself (a viewer reads
the row through the API, with its role checked there). However many consoles listen, the store
is asked the same few indexed questions per interval, and the watcher runs only while someone
listens.

Events are numbered ``<epoch>.<n>``: a client that reconnects with ``Last-Event-ID`` gets every
event it missed while the process still holds it (the last ``keep``); otherwise (another
process, a restart, too long away) it gets ``event: reset``, meaning "read everything again".
Nothing is lost either way. Rows committed later than the look-back behind a marker (an id 64
below the highest seen; 30 s of write time) would be missed; a client's polling fallback and the
reset cover that.

A stream re-checks its bearer token every ``recheck_s``: a signed-out session, a revoked key or
a disabled user ends it, and an expired access token too (the client refreshes and reconnects).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import (
    ApprovalRow,
    BacktestRow,
    DecisionRow,
    FillRow,
    HubGateRow,
    OptimizationRow,
    OrderRow,
    PnlSnapshotRow,
    PositionRow,
    RiskEventRow,
    StrategyRow,
)

log = logging.getLogger(__name__)

ID_LOOKBACK = 64
TIME_LOOKBACK = timedelta(seconds=30)  # a write can wait seconds for a busy SQLite
PING_S = 15.0
IDLE_STOP_S = 30.0
BATCH = 500


@dataclass(frozen=True)
class Topic:
    """One kind of change: the table, its change marker, and what names the changed row."""

    name: str
    marker: Any  # a column (or expression) that grows with every write of a row
    ref: Any  # what the event names (an order's client id, a decision's id...)
    strategy: Any | None  # the row's strategy, or None
    by_id: bool  # the marker is an id (look back ID_LOOKBACK) or a time (TIME_LOOKBACK)
    extra: ColumnElement[bool] | None = None  # rows to read whatever their marker
    key: tuple[Any, ...] = ()  # more columns whose change is a change (with the marker)


TOPICS: tuple[Topic, ...] = (
    Topic("orders", OrderRow.updated_at, OrderRow.client_order_id, OrderRow.strategy_id, by_id=False),
    Topic("fills", FillRow.id, FillRow.fill_id, FillRow.strategy_id, by_id=True),
    Topic("positions", PositionRow.updated_at, PositionRow.symbol, PositionRow.strategy_id, by_id=False),
    Topic("decisions", DecisionRow.id, DecisionRow.id, DecisionRow.strategy_id, by_id=True),
    Topic("events", RiskEventRow.id, RiskEventRow.kind, RiskEventRow.strategy_id, by_id=True),
    Topic("pnl", PnlSnapshotRow.id, PnlSnapshotRow.cycle, PnlSnapshotRow.strategy_id, by_id=True),
    Topic(
        "approvals",
        func.coalesce(ApprovalRow.decided_at, ApprovalRow.requested_at),
        ApprovalRow.id,
        ApprovalRow.strategy_id,
        by_id=False,
    ),
    Topic("strategies", StrategyRow.updated_at, StrategyRow.status, StrategyRow.id, by_id=False),
    Topic("neurohub", HubGateRow.changed_at, HubGateRow.state, None, by_id=False),
    Topic(
        "backtests",
        func.coalesce(BacktestRow.finished_at, BacktestRow.created_at),
        BacktestRow.id,
        None,
        by_id=False,
        key=(BacktestRow.status,),
    ),
    Topic(
        "optimizations",
        func.coalesce(OptimizationRow.finished_at, OptimizationRow.created_at),
        OptimizationRow.id,
        None,
        by_id=False,
        extra=OptimizationRow.status == "running",  # its progress: ``done`` grows
        key=(OptimizationRow.status, OptimizationRow.done),
    ),
)
TOPIC_NAMES = tuple(t.name for t in TOPICS)


@dataclass
class _Mark:
    """Where one topic is: the highest marker seen, and the rows the last read returned."""

    high: Any = None
    seen: set[tuple[Any, ...]] = field(default_factory=set)


@dataclass(frozen=True)
class Change:
    """One event of the feed."""

    n: int
    topic: str
    strategy_id: str | None
    ref: str | None


def _floor(topic: Topic, high: Any) -> Any:
    return high - ID_LOOKBACK if topic.by_id else high - TIME_LOOKBACK


class ChangeFeed:
    """The process's watcher and the events it keeps (see the module's docstring)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, interval_s: float = 0.5, keep: int = 5000
    ) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.epoch = secrets.token_hex(4)
        self.events: deque[Change] = deque(maxlen=keep)
        self.n = 0
        self.listeners = 0
        self._marks: dict[str, _Mark] = {}
        self._cond = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.on_change: Callable[[], None] = lambda: None  # called before listeners are told

    # -- the watcher -------------------------------------------------------------------------
    async def _start_marks(self, s: AsyncSession) -> None:
        """Begin at the store's present: what was written before anyone listened is no event."""
        for t in TOPICS:
            high = (await s.execute(select(func.max(t.marker)))).scalar()
            self._marks[t.name] = _Mark(high=high)
            await self._read(s, t)  # the rows in the look-back now: seen, not news

    async def _read(self, s: AsyncSession, t: Topic) -> list[Change]:
        mark = self._marks[t.name]
        strategy = t.strategy if t.strategy is not None else literal(None, String())
        stmt = select(t.marker, t.ref, strategy, *t.key)
        conds = []
        if mark.high is not None:
            conds.append(t.marker >= _floor(t, mark.high))
        if t.extra is not None:
            conds.append(t.extra)
        if conds:
            stmt = stmt.where(or_(*conds))
        rows = (await s.execute(stmt.order_by(t.marker).limit(BATCH))).all()
        out: list[Change] = []
        for row in rows:
            marker, ref, strategy_id = row[0], row[1], row[2]
            if marker is not None and (mark.high is None or marker > mark.high):
                mark.high = marker
            if tuple(row) not in mark.seen:
                out.append(Change(0, t.name, strategy_id, None if ref is None else str(ref)))
        # What this read returned is what the next one returns again unless it changed: a row
        # that left the window is never read again, so it need not be remembered.
        mark.seen = {tuple(row) for row in rows}
        return out

    async def _poll(self) -> None:
        async with self.sessions() as s:
            if not self._marks:
                await self._start_marks(s)
                return
            found = [c for t in TOPICS for c in await self._read(s, t)]
        if not found:
            return
        self.on_change()
        async with self._cond:
            for c in found:
                self.n += 1
                self.events.append(Change(self.n, c.topic, c.strategy_id, c.ref))
            self._cond.notify_all()

    async def _watch(self) -> None:
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._poll()
            except Exception as e:  # the store is away for a moment: try again next interval
                log.warning("change feed: %s", type(e).__name__)
            if self.listeners == 0:
                idle_since = idle_since or loop.time()
                if loop.time() - idle_since > IDLE_STOP_S:
                    self._marks.clear()  # start again from the present when someone listens
                    self._task = None
                    return
            else:
                idle_since = None
            await asyncio.sleep(self.interval_s)

    def _ensure_watching(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="change-feed")

    async def close(self) -> None:
        """Stop the watcher (the app's shutdown)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- a listener --------------------------------------------------------------------------
    def _resume_at(self, last_event_id: str | None) -> int | None:
        """The event number to continue after, or None when the client must read everything again."""
        if not last_event_id:
            return self.n
        epoch, _, n = last_event_id.partition(".")
        if epoch != self.epoch or not n.isdigit():
            return None
        after = int(n)
        oldest = self.events[0].n if self.events else self.n + 1
        if after > self.n or after < oldest - 1:
            return None
        return after

    async def _wait_after(self, at: int, timeout: float) -> bool:
        """Wait until an event after ``at`` exists; False when ``timeout`` passed first."""
        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: self.n > at), timeout)
            except TimeoutError:
                return False
        return True

    def _frame(self, c: Change) -> str:
        data = json.dumps({"topic": c.topic, "strategy_id": c.strategy_id, "ref": c.ref})
        return f"id: {self.epoch}.{c.n}\nevent: change\ndata: {data}\n\n"

    async def frames(
        self, last_event_id: str | None, still_allowed: Callable[[], Any], recheck_s: float
    ) -> AsyncIterator[str]:
        """The stream of one listener: a reset if it cannot resume, missed events, then live ones,
        with a comment line every PING_S so proxies and clients know it is alive."""
        self.listeners += 1
        self._ensure_watching()
        try:
            at = self._resume_at(last_event_id)
            yield "retry: 2000\n\n"
            if at is None:
                at = self.n
                yield f"id: {self.epoch}.{at}\nevent: reset\ndata: {{}}\n\n"
            loop = asyncio.get_running_loop()
            next_check = loop.time() + recheck_s
            while True:
                pending = [c for c in self.events if c.n > at]
                if pending and pending[0].n > at + 1:  # fell behind what is kept: read again
                    at = self.n
                    yield f"id: {self.epoch}.{at}\nevent: reset\ndata: {{}}\n\n"
                    continue
                for c in pending:
                    yield self._frame(c)
                    at = c.n
                if loop.time() >= next_check:
                    if not await still_allowed():
                        return
                    next_check = loop.time() + recheck_s
                if not await self._wait_after(at, min(PING_S, max(0.01, next_check - loop.time()))):
                    yield ": ping\n\n"
        finally:
            self.listeners -= 1
