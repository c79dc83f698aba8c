"""What activities need from the outside world, built once per worker process."""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.notify_contracts import NotifyChannel
from activities.store_series import stored_paper_series
from agents.llm import LlmClient, LlmConfig
from exchanges.base import Exchange
from exchanges.ccxt_exchange import VenueConfig
from exchanges.data import SeriesSpec, bundled_series
from exchanges.factory import open_exchange
from trading.errors import TemporaryError, TradingError

P = ParamSpec("P")
R = TypeVar("R")


class PriorityLock:
    """A mutex whose urgent waiters go before every ordinary one (FIFO within each class).

    SQLite admits one writer at a time, and this process's writers queue here. A kill
    switch must not wait behind a queue of routine cycle writes: it asks urgently and
    waits only for the writer holding the lock.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for the lock; ownership is handed over directly by ``release``."""
        if not self._locked and not self._waiters:
            self._locked = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (0 if urgent else 1, self._seq, fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # handed over just as we were cancelled
                self.release()
            raise

    def release(self) -> None:
        """Hand the lock to the next live waiter, or unlock."""
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)
                return
        self._locked = False

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """``async with lock.hold():`` acquire, then release on exit."""
        await self.acquire(urgent=urgent)
        try:
            yield
        finally:
            self.release()


@dataclass
class Deps:
    """Database sessions and exchange connections shared by the activities of one worker."""

    sessions: async_sessionmaker[AsyncSession]
    home: Path
    bars_per_second: float = 2.0
    # The files requests may name (a backtest's csv_path) are under this (None: <home>/data).
    data_dir: Path | None = None
    exchange_options: dict[str, Any] = field(default_factory=dict)
    # ccxt venues by name (ASTS_EXCHANGES); any other ccxt id opens with defaults.
    venues: dict[str, VenueConfig] = field(default_factory=dict)
    # Temporal, for the activities that signal workflows (set by the worker that runs them).
    client: Client | None = None
    # The language model the agents may ask (None: the analysts decide alone).
    llm: LlmConfig | None = None
    # Where notifications go (ASTS_NOTIFY); their secrets stay in this process.
    notify_channels: list[NotifyChannel] = field(default_factory=list)
    # The paper venue's series once load_store_series ran (None: bundled, or exchange_options').
    paper_series: dict[str, SeriesSpec] | None = None
    _llm_client: LlmClient | None = None
    _exchanges: dict[str, Exchange] = field(default_factory=dict)
    _writers: PriorityLock | None = None
    # Per strategy: venue calls and the ones that failed with a temporary error, since last taken.
    _venue_counts: dict[str, list[int]] = field(default_factory=dict)
    # Per client order id: a lock and how many attempts hold or wait for it.
    _placing: dict[str, tuple[asyncio.Lock, list[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None and bind.dialect.name == "sqlite":
            self._writers = PriorityLock()

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success, rolled back on error.

        SQLite lets one writer in at a time and makes the others poll the file lock with
        growing sleeps; this process's writers queue on a lock instead and go in turn,
        ``urgent`` ones (gate changes) first. PostgreSQL needs no such queue: its row
        locks order the writers.
        """
        if self._writers is None:
            async with self.sessions.begin() as s:
                yield s
            return
        async with self._writers.hold(urgent=urgent), self.sessions.begin() as s:
            yield s

    @property
    def data_path(self) -> Path:
        """The directory files named by requests must be under."""
        return self.data_dir or self.home / "data"

    def exchange(self, name: str) -> Exchange:
        """The connection to venue ``name``, opened on first use."""
        if name not in self._exchanges:
            options = dict(self.exchange_options)
            if name == "paper" and self.paper_series is not None:
                options["series"] = self.paper_series
            self._exchanges[name] = open_exchange(
                name,
                home=self.home,
                bars_per_second=self.bars_per_second,
                venues=self.venues,
                **options,
            )
        return self._exchanges[name]

    async def load_store_series(self) -> list[str]:
        """Make the paper venue replay the series stored under exchange "paper" too; return their symbols.

        Called by the worker and the API before serving (see activities.store_series): bars
        stored afterwards are replayed after a restart. A paper venue already open is reopened.
        """
        base = self.exchange_options.get("series") or bundled_series()
        stored = await stored_paper_series(self.sessions, exclude=set(base))
        self.paper_series = {**base, **stored}
        opened = self._exchanges.pop("paper", None)
        if opened is not None:
            await opened.close()
        return sorted(stored)

    def llm_client(self) -> LlmClient | None:
        """The client of the configured model, created on first use (None when there is none)."""
        if self.llm is None:
            return None
        if self._llm_client is None:
            self._llm_client = LlmClient(self.llm)
        return self._llm_client

    @contextmanager
    def venue_call(self, strategy_id: str) -> Iterator[None]:
        """Count one venue call of a strategy, and count it failed if a temporary error escapes."""
        counts = self._venue_counts.setdefault(strategy_id, [0, 0])
        counts[0] += 1
        try:
            yield
        except TemporaryError:
            counts[1] += 1
            raise

    @asynccontextmanager
    async def placing(self, client_order_id: str) -> AsyncIterator[None]:
        """One placement attempt of an order at a time in this worker: an attempt that timed out
        runs on (shielded) and the next one waits for it, instead of both reaching the venue."""
        lock, users = self._placing.setdefault(client_order_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._placing.pop(client_order_id, None)

    def take_venue_counts(self, strategy_id: str) -> tuple[int, int]:
        """Venue calls and failures of a strategy since the last take (for its breakers)."""
        calls, errors = self._venue_counts.pop(strategy_id, [0, 0])
        return calls, errors

    async def close(self) -> None:
        """Close every venue connection."""
        for ex in self._exchanges.values():
            await ex.close()
        self._exchanges.clear()
        if self._llm_client is not None:
            await self._llm_client.close()
            self._llm_client = None


def utcnow() -> datetime:
    """Wall-clock time in UTC (activities only; workflows use ``workflow.now()``)."""
    return datetime.now(UTC)


def translate_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn our error tree into Temporal failures: the error class decides retryable or not."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except TradingError as e:
            delay = getattr(e, "retry_after", None)
            raise ApplicationError(
                str(e),
                type=e.kind,
                non_retryable=not e.retryable,
                next_retry_delay=timedelta(seconds=delay) if delay else None,
            ) from e
        except ValidationError as e:
            raise ApplicationError(str(e), type="InvalidInput", non_retryable=True) from e

    return wrapper
