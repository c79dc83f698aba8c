"""PaperExchange stop, stop-limit and trailing orders, time in force, OCO groups and reduce-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.paper import PaperExchange
from exchanges.paper_db import SCHEMA
from tests.exchanges.conftest import EPOCH, moves_spec
from trading.errors import InsufficientBalance, InvalidInput, InvalidOrder
from trading.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce

SYMBOL = "TEST/USD"
D = Decimal


@pytest.fixture
def ex(tmp_path: Path, make_exchange: Callable[..., PaperExchange]) -> PaperExchange:
    return make_exchange(series={SYMBOL: moves_spec(tmp_path)}, start_bar=0)


def req(cid: str, side: Side, type_: OrderType, qty: str = "10", **kw: Any) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, type_, D(qty), **kw)


async def buy_ten(ex: PaperExchange) -> None:
    await ex.create_order(req("entry", Side.BUY, OrderType.MARKET))


async def at_tick(ex: PaperExchange, clock: Any, tick: int, cid: str) -> Any:
    clock.now = ex_epoch(clock) + timedelta(seconds=tick)
    return await ex.fetch_order(cid)


def ex_epoch(clock: Any) -> datetime:
    return EPOCH


async def test_a_sell_stop_fills_at_its_stop_with_slippage(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    placed = await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(97), reduce_only=True))
    assert placed.status is OrderStatus.OPEN and placed.stop_price == D(97) and placed.reduce_only
    assert (await ex.free_balance())["TEST"] == 0  # the stop reserves what it would sell
    assert (await at_tick(ex, clock, 3, "sl")).status is OrderStatus.OPEN
    done = await at_tick(ex, clock, 4, "sl")  # bar 4's low reaches 97
    assert done.status is OrderStatus.FILLED
    assert done.avg_price == D("96.95")  # 97 less 5 bp, rounded down against the seller
    assert done.triggered_at == done.fills[0].ts == ex_epoch(clock) + timedelta(seconds=4)
    assert (await ex.balance())["TEST"] == 0


async def test_a_gap_fills_a_stop_at_the_open(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(95)))
    done = await at_tick(ex, clock, 9, "sl")
    assert done.status is OrderStatus.FILLED
    assert done.avg_price == D("89.95")  # opened at 90, through the 95 stop
    assert done.fills[0].ts == ex_epoch(clock) + timedelta(seconds=5)


async def test_a_stop_limit_gapped_past_its_limit_rests_triggered(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    await ex.create_order(req("sll", Side.SELL, OrderType.STOP_LIMIT, price=D(94), stop_price=D(95)))
    resting = await at_tick(ex, clock, 5, "sll")
    assert resting.status is OrderStatus.TRIGGERED
    assert resting.triggered_at == ex_epoch(clock) + timedelta(seconds=5)
    assert [o.client_order_id for o in await ex.open_orders()] == ["sll"]
    done = await at_tick(ex, clock, 6, "sll")  # bar 6's high reaches the 94 limit
    assert (done.status, done.avg_price) == (OrderStatus.FILLED, D(94))


async def test_a_stop_limit_marketable_at_its_trigger_fills_there(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    await ex.create_order(req("sll", Side.SELL, OrderType.STOP_LIMIT, price=D("96.97"), stop_price=D(97)))
    done = await at_tick(ex, clock, 4, "sll")
    assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("96.97"))  # slippage capped by the limit


async def test_a_trailing_stop_follows_the_rally_then_fills(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    placed = await ex.create_order(req("ts", Side.SELL, OrderType.TRAILING_STOP, trail_amount=D(3)))
    assert placed.stop_price == D(97)  # close 100 less 3
    moved = await at_tick(ex, clock, 2, "ts")
    assert (moved.status, moved.stop_price) == (OrderStatus.OPEN, D(103))  # best 106 after bar 2
    done = await at_tick(ex, clock, 3, "ts")  # bar 3's low 101 is under 103
    assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("102.94"))


async def test_a_fractional_trailing_stop(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    await ex.create_order(req("ts", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.05")))
    assert (await at_tick(ex, clock, 3, "ts")).stop_price == D("100.70")  # 106 less 5 %
    done = await at_tick(ex, clock, 4, "ts")
    assert done.avg_price == D("100.64")  # 100.70 less 5 bp, rounded down


async def test_a_buy_stop_reserves_quote_and_fills_on_a_breakout(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(req("bs", Side.BUY, OrderType.STOP, stop_price=D(104)))
    assert (await ex.free_balance())["USD"] == D("10000") - D("1041.6406")  # 10 x 104.06 + 0.1 % fee
    done = await at_tick(ex, clock, 2, "bs")
    assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("104.06"))
    assert await ex.free_balance() == await ex.balance()


async def test_a_stop_that_would_trigger_at_once_is_refused(ex: PaperExchange) -> None:
    await buy_ten(ex)
    with pytest.raises(InvalidOrder, match="would trigger at once"):
        await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(100)))
    with pytest.raises(InvalidOrder, match="price step"):
        await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D("90.001")))
    assert await ex.open_orders() == []


async def test_oco_take_profit_fills_and_cancels_the_stop(ex: PaperExchange, clock: Any) -> None:
    await buy_ten(ex)
    await ex.create_order(req("tp", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="x1"))
    await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(97), oco_group="x1"))
    assert (await ex.free_balance())["TEST"] == 0  # one reservation for the pair
    tp = await at_tick(ex, clock, 2, "tp")
    sl = await ex.fetch_order("sl")
    assert (tp.status, tp.avg_price) == (OrderStatus.FILLED, D(104))
    assert sl.status is OrderStatus.CANCELLED and sl.reason == "one-cancels-the-other: tp filled"
    assert await ex.free_balance() == await ex.balance()
    assert (await ex.balance())["TEST"] == 0


async def test_oco_when_one_bar_touches_both_the_stop_wins(ex: PaperExchange, clock: Any) -> None:
    await ex.balance()  # the state's first open fixes the replay's epoch
    clock.now = ex_epoch(clock) + timedelta(seconds=3)  # close 102
    await buy_ten(ex)
    await ex.create_order(req("tp", Side.SELL, OrderType.LIMIT, price=D(103), oco_group="x2"))
    await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(98), oco_group="x2"))
    sl = await at_tick(ex, clock, 4, "sl")  # bar 4: high 103 and low 97
    assert (sl.status, sl.avg_price) == (OrderStatus.FILLED, D("97.95"))
    assert (await ex.fetch_order("tp")).status is OrderStatus.CANCELLED


async def test_cancelling_one_member_cancels_the_group(ex: PaperExchange) -> None:
    await buy_ten(ex)
    await ex.create_order(req("tp", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="x3"))
    await ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(97), oco_group="x3"))
    await ex.cancel_order("sl")
    assert (await ex.fetch_order("tp")).status is OrderStatus.CANCELLED
    assert await ex.free_balance() == await ex.balance()
    with pytest.raises(InvalidOrder, match="closed"):
        await ex.create_order(req("tp2", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="x3"))


async def test_an_oco_group_holds_one_symbol_and_side(ex: PaperExchange) -> None:
    await buy_ten(ex)
    await ex.create_order(req("tp", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="x4"))
    with pytest.raises(InvalidOrder, match="another symbol or side"):
        await ex.create_order(req("b", Side.BUY, OrderType.LIMIT, price=D(90), oco_group="x4"))


async def test_a_second_unrelated_sell_cannot_use_the_groups_reservation(ex: PaperExchange) -> None:
    await buy_ten(ex)
    await ex.create_order(req("tp", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="x5"))
    with pytest.raises(InsufficientBalance):
        await ex.create_order(req("other", Side.SELL, OrderType.STOP, stop_price=D(97)))


async def test_ioc_and_fok_fill_now_or_expire(ex: PaperExchange) -> None:
    hit = await ex.create_order(req("i1", Side.BUY, OrderType.LIMIT, price=D(101), tif=TimeInForce.IOC))
    assert (hit.status, hit.avg_price, hit.tif) == (OrderStatus.FILLED, D("100.05"), TimeInForce.IOC)
    miss = await ex.create_order(req("i2", Side.BUY, OrderType.LIMIT, price=D(99), tif=TimeInForce.FOK))
    assert miss.status is OrderStatus.EXPIRED and "not marketable at 100.05" in miss.reason
    assert await ex.free_balance() == await ex.balance()
    with pytest.raises(InvalidInput, match="applies to market and limit"):
        req("i3", Side.SELL, OrderType.STOP, stop_price=D(90), tif=TimeInForce.IOC)


async def test_a_day_order_expires_at_utc_midnight(ex: PaperExchange, clock: Any) -> None:
    placed = await ex.create_order(req("d1", Side.BUY, OrderType.LIMIT, price=D(50), tif=TimeInForce.DAY))
    midnight = datetime(2024, 3, 2, tzinfo=UTC)
    clock.now = midnight - timedelta(seconds=1)
    assert (await ex.fetch_order("d1")).status is OrderStatus.OPEN
    clock.now = midnight + timedelta(seconds=2)
    gone = await ex.fetch_order("d1")
    assert gone.status is OrderStatus.EXPIRED and "end of its UTC day" in gone.reason
    assert placed.created_at < midnight <= gone.updated_at < midnight + timedelta(seconds=1)
    assert await ex.free_balance() == await ex.balance() == {"USD": D(10000)}


async def test_reduce_only_on_spot(ex: PaperExchange) -> None:
    with pytest.raises(InvalidOrder, match="holds no short position"):
        await ex.create_order(req("r1", Side.BUY, OrderType.MARKET, reduce_only=True))
    await buy_ten(ex)
    with pytest.raises(InvalidOrder, match="only 10 TEST is held"):
        await ex.create_order(req("r2", Side.SELL, OrderType.MARKET, qty="11", reduce_only=True))
    done = await ex.create_order(req("r3", Side.SELL, OrderType.MARKET, reduce_only=True))
    assert done.status is OrderStatus.FILLED and done.reduce_only


async def test_a_state_file_of_an_older_version_opens(tmp_path: Path, make_exchange: Any, clock: Any) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)  # the tables as the first release wrote them
    stamp = ex_epoch(clock).isoformat(timespec="microseconds")
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)", [("epoch", stamp), ("bps", "1"), ("start_bar", "5")]
    )
    conn.execute("INSERT INTO balances VALUES ('USD', '9000', '500')")
    conn.execute(
        "INSERT INTO orders (client_order_id, symbol, side, type, qty, price, status, filled_qty, fee,"
        " reserved_asset, reserved, created_tick, created_at, updated_at, reason)"
        " VALUES ('old', ?, 'buy', 'limit', '5', '99.90', 'open', '0', '0', 'USD', '500', 0, ?, ?, '')",
        [SYMBOL, stamp, stamp],
    )
    conn.commit()
    conn.close()
    old = make_exchange(state_path=path)
    order = await old.fetch_order("old")
    assert (order.status, order.tif, order.reduce_only, order.stop_price) == (
        OrderStatus.OPEN,
        TimeInForce.GTC,
        False,
        None,
    )
    clock.advance(4)  # the default series' bar 8 (low 95) crosses the old limit
    assert (await old.fetch_order("old")).status is OrderStatus.FILLED
