"""Fixtures for the exchange tests: a controllable clock and a small synthetic price series."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from exchanges.data import SeriesSpec
from exchanges.paper import PaperExchange

EPOCH = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SYMBOL = "TEST/USD"


class FakeClock:
    """A wall clock that only moves when told to."""

    def __init__(self, now: datetime = EPOCH) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def bar_prices(i: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(open, high, low, close) of synthetic bar ``i``: close 100+i, ±1 range, two outliers."""
    close = Decimal(100 + i)
    high, low = close + 1, close - 1
    if i == 8:
        low = Decimal(95)  # a buy limit at 100 placed on bar 5 first crosses here
    if i == 10:
        high = Decimal(130)  # a sell limit at 120 first crosses here
    return close, high, low, close


def write_series(path: Path, n: int = 20) -> Path:
    """Write ``n`` daily synthetic bars to ``path``."""
    lines = ["ts,open,high,low,close,volume"]
    for i in range(n):
        ts = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i)
        o, h, lo, c = bar_prices(i)
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},{o},{h},{lo},{c},{1000 + i}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at EPOCH."""
    return FakeClock()


@pytest.fixture
def spec(tmp_path: Path) -> SeriesSpec:
    """The synthetic TEST/USD market: whole units, cent prices, minimum order value 50 USD."""
    return SeriesSpec(
        symbol=SYMBOL,
        path=write_series(tmp_path / "test.csv"),
        base="TEST",
        quote="USD",
        min_qty=Decimal(1),
        qty_step=Decimal(1),
        price_step=Decimal("0.01"),
        min_notional=Decimal(50),
    )


@pytest_asyncio.fixture
async def make_exchange(
    tmp_path: Path, spec: SeriesSpec, clock: FakeClock
) -> AsyncIterator[Callable[..., PaperExchange]]:
    """Factory of PaperExchanges on one state file (1 bar per second, start at bar 5, 10 000 USD)."""
    made: list[PaperExchange] = []

    def make(**overrides: Any) -> PaperExchange:
        kwargs: dict[str, Any] = {
            "series": {SYMBOL: spec},
            "bars_per_second": 1.0,
            "start_bar": 5,
            "initial_balances": {"USD": Decimal("10000")},
            "clock": clock,
        }
        kwargs.update(overrides)
        path = kwargs.pop("state_path", tmp_path / "state" / "paper.db")
        ex = PaperExchange(path, **kwargs)
        made.append(ex)
        return ex

    yield make
    for ex in made:
        await ex.close()


@pytest_asyncio.fixture
async def ex(make_exchange: Callable[..., PaperExchange]) -> PaperExchange:
    """One PaperExchange on the synthetic series."""
    return make_exchange()
