"""What activities need from the outside world, built once per worker process."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from exchanges.base import Exchange
from exchanges.factory import open_exchange
from trading.errors import TradingError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Deps:
    """Database sessions and exchange connections shared by the activities of one worker."""

    sessions: async_sessionmaker[AsyncSession]
    home: Path
    bars_per_second: float = 2.0
    exchange_options: dict[str, Any] = field(default_factory=dict)
    _exchanges: dict[str, Exchange] = field(default_factory=dict)
    _writers: asyncio.Lock | None = None

    def __post_init__(self) -> None:
        bind = self.sessions.kw.get("bind")
        if bind is not None and bind.dialect.name == "sqlite":
            self._writers = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success, rolled back on error.

        SQLite lets one writer in at a time and makes the others poll the file lock with
        growing sleeps; this process's writers queue on a lock instead and go in turn.
        PostgreSQL needs no such queue: its row locks order the writers.
        """
        if self._writers is None:
            async with self.sessions.begin() as s:
                yield s
            return
        async with self._writers, self.sessions.begin() as s:
            yield s

    def exchange(self, name: str) -> Exchange:
        """The connection to venue ``name``, opened on first use."""
        if name not in self._exchanges:
            self._exchanges[name] = open_exchange(
                name, home=self.home, bars_per_second=self.bars_per_second, **self.exchange_options
            )
        return self._exchanges[name]

    async def close(self) -> None:
        """Close every venue connection."""
        for ex in self._exchanges.values():
            await ex.close()
        self._exchanges.clear()


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
            raise ApplicationError(str(e), type=e.kind, non_retryable=not e.retryable) from e
        except ValidationError as e:
            raise ApplicationError(str(e), type="InvalidInput", non_retryable=True) from e

    return wrapper
