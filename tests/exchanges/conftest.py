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


# (open, high, low, close) per bar of a series with the moves stops and trails react to; with
# start_bar 0 and one bar a second, tick t is bar t
MOVES = [
    ("100", "101", "99", "100"),
    ("100", "102", "99", "101"),
    ("101", "106", "100", "105"),  # a rally: a trailing stop's best price rises to 106
    ("105", "105", "101", "102"),
    ("102", "103", "97", "98"),
    ("90", "92", "89", "91"),  # a gap down through 95
    ("91", "96", "90", "95"),
    *[("95", "96", "94", "95")] * 9,
]


def moves_spec(directory: Path, rows: list[tuple[str, str, str, str]] = MOVES) -> SeriesSpec:
    """TEST/USD over ``rows`` (daily bars)."""
    lines = ["ts,open,high,low,close,volume"]
    for i, (o, h, lo, c) in enumerate(rows):
        ts = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i)
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},{o},{h},{lo},{c},1000")
    path = directory / "moves.csv"
    path.write_text("\n".join(lines) + "\n")
    return market_of(path)


def market_of(path: Path) -> SeriesSpec:
    """TEST/USD from the bars at ``path``: whole units, cent prices, minimum order value 50 USD."""
    return SeriesSpec(
        symbol=SYMBOL,
        path=path,
        base="TEST",
        quote="USD",
        min_qty=Decimal(1),
        qty_step=Decimal(1),
        price_step=Decimal("0.01"),
        min_notional=Decimal(50),
    )


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at EPOCH."""
    return FakeClock()


@pytest.fixture
def spec(tmp_path: Path) -> SeriesSpec:
    """The synthetic TEST/USD market: whole units, cent prices, minimum order value 50 USD."""
    return market_of(write_series(tmp_path / "test.csv"))


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
