"""PaperExchange replay clock, durable state, concurrent use and the factory."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges import Exchange, open_exchange
from exchanges.data import SeriesSpec, load_candles
from exchanges.paper import PaperExchange
from trading.errors import InsufficientBalance, InvalidInput
from trading.models import OrderRequest, OrderStatus, OrderType, Side

SYMBOL = "TEST/USD"
REPO = Path(__file__).resolve().parents[2]


def buy(cid: str, qty: str = "1") -> OrderRequest:
    return OrderRequest(cid, SYMBOL, Side.BUY, OrderType.MARKET, Decimal(qty))


async def test_ohlcv_never_returns_future_bars(ex: PaperExchange, spec: SeriesSpec, clock: Any) -> None:
    bars = load_candles(spec.path)
    got = await ex.ohlcv(SYMBOL, limit=3)
    assert got == bars[3:6]  # start_bar 5 is the current bar at the epoch
    assert (await ex.ticker(SYMBOL)).last == got[-1].close == Decimal(105)
    clock.advance(2.999)  # still tick 2
    got = await ex.ohlcv(SYMBOL, limit=100)
    assert got == bars[:8]
    assert max(c.ts for c in got) == bars[7].ts
    clock.advance(0.001)
    assert (await ex.ohlcv(SYMBOL, limit=1)) == [bars[8]]


async def test_replay_wraps_around_to_start_bar(ex: PaperExchange, spec: SeriesSpec, clock: Any) -> None:
    bars = load_candles(spec.path)  # 20 bars, replayed from bar 5: 15 bars per lap
    await ex.balance()  # first open fixes the epoch
    clock.advance(14)
    assert (await ex.ohlcv(SYMBOL, 1))[0] == bars[19]
    clock.advance(1)
    assert (await ex.ohlcv(SYMBOL, 2)) == bars[4:6]
    clock.advance(15 * 3 + 2)
    assert (await ex.ticker(SYMBOL)).last == bars[7].close


async def test_ticker_has_one_bp_spread_on_the_price_grid(ex: PaperExchange, clock: Any) -> None:
    t = await ex.ticker(SYMBOL)
    assert (t.symbol, t.last, t.bid, t.ask, t.ts) == (
        SYMBOL,
        Decimal(105),
        Decimal("104.99"),
        Decimal("105.01"),
        clock.now,
    )


async def test_state_survives_reopening(make_exchange: Callable[..., PaperExchange], clock: Any) -> None:
    first = make_exchange()
    await first.create_order(buy("m1", "10"))
    await first.create_order(
        OrderRequest("l1", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(5), Decimal("100.00"))
    )
    balances, orders = await first.balance(), await first.orders()
    clock.advance(1)
    bar_before = await first.ohlcv(SYMBOL, 1)
    await first.close()

    # other settings on reopen: the stored epoch, replay settings and balances win
    second = make_exchange(initial_balances={"USD": Decimal(5)}, bars_per_second=50.0, start_bar=0)
    assert await second.balance() == balances
    assert await second.orders() == orders
    assert await second.ohlcv(SYMBOL, 1) == bar_before
    clock.advance(2)  # bar 8 crosses the resting limit
    assert (await second.fetch_order("l1")).status is OrderStatus.FILLED


async def test_two_objects_on_one_file_keep_balances_consistent(
    make_exchange: Callable[..., PaperExchange],
) -> None:
    cost = Decimal("105.06") * Decimal("1.001")  # one unit at the slipped price, plus fee
    a, b = (make_exchange(initial_balances={"USD": cost * 25}) for _ in range(2))
    await asyncio.gather(a.balance(), b.balance())
    results = await asyncio.gather(
        *(venue.create_order(buy(f"{name}{i}")) for i in range(20) for name, venue in (("a", a), ("b", b))),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(ok) == 25 and all(isinstance(r, InsufficientBalance) for r in refused)
    for venue in (a, b):
        assert await venue.balance() == {"TEST": Decimal(25), "USD": Decimal(0)}
        assert len(await venue.orders()) == 25


CHILD = """
import asyncio, sys
from decimal import Decimal
from pathlib import Path
from exchanges.data import SeriesSpec
from exchanges.paper import PaperExchange
from trading.errors import InsufficientBalance
from trading.models import OrderRequest, OrderType, Side

async def main(db, csv, prefix):
    spec = SeriesSpec("TEST/USD", Path(csv), "TEST", "USD", Decimal(1), Decimal(1), Decimal("0.01"))
    ex = PaperExchange(Path(db), series={"TEST/USD": spec}, bars_per_second=0.0001, start_bar=5,
                       initial_balances={"USD": Decimal("1051.6506")})
    done = 0
    for i in range(15):
        try:
            req = OrderRequest(f"{prefix}{i}", "TEST/USD", Side.BUY, OrderType.MARKET, Decimal(1))
            await ex.create_order(req)
            done += 1
        except InsufficientBalance:
            pass
    await ex.close()
    print(done)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_processes_share_one_state_file(tmp_path: Path, spec: SeriesSpec) -> None:
    db = tmp_path / "shared.db"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, str(db), str(spec.path), prefix,
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for prefix in ("p", "q")
    ]  # fmt: skip
    outs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(err.decode() for _, err in outs)
    assert sum(int(out) for out, _ in outs) == 10  # 1051.6506 USD buys ten units at 105.16506
    check = PaperExchange(db, series={SYMBOL: spec}, start_bar=5)
    try:
        assert await check.balance() == {"TEST": Decimal(10), "USD": Decimal(0)}
        assert len(await check.orders()) == 10
    finally:
        await check.close()


async def test_factory_opens_paper_in_home(tmp_path: Path, clock: Any) -> None:
    ex = open_exchange("paper", home=tmp_path / "home", bars_per_second=4.0, start_bar=10, clock=clock)
    try:
        assert isinstance(ex, PaperExchange) and isinstance(ex, Exchange)
        assert ex.name == "paper"
        assert [m.symbol for m in await ex.markets()] == ["EUR/USD", "GOOGL/USD", "MSFT/USD", "SPX/USD"]
        assert await ex.balance() == {"USD": Decimal(1_000_000)}
        assert (tmp_path / "home" / "paper-exchange.db").exists()
        assert len(await ex.ohlcv("SPX/USD", 500)) == 11
    finally:
        await ex.close()


def test_factory_rejects_unknown_exchange(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown exchange 'nasdaq'; configured: paper; or any ccxt"):
        open_exchange("nasdaq", home=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"bars_per_second": 0.0}, "bars_per_second must be positive"), ({"start_bar": -1}, "start_bar")],
)
def test_constructor_validates_settings(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        PaperExchange(tmp_path / "x.db", **kwargs)


async def test_naive_clock_is_refused(make_exchange: Callable[..., PaperExchange]) -> None:
    ex = make_exchange(clock=lambda: datetime(2024, 1, 1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        await ex.balance()
