"""Stop, stop-limit, trailing and OCO orders through our ccxt adapter and the real ccxt binance client,
against the Binance emulator on 127.0.0.1, on a series whose moves stops react to (conftest.MOVES)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.base import Capabilities
from exchanges.ccxt_exchange import CcxtExchange, VenueConfig
from exchanges.emulator import BinanceEmulator
from exchanges.emulator.engine import ms
from exchanges.paper import PaperExchange
from tests.exchanges.binance_venue import SLOW, binance_venue, credentials
from tests.exchanges.conftest import moves_spec
from trading.errors import InvalidOrder
from trading.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce

D = Decimal
SYMBOL = "TEST/USD"
ORDER = "/api/v3/order"
START_USD = D(10_000)
BUY_COST = D("1001.50050000")  # 10 bought at 100.05 (100 plus 5 bp) with the 0.1 % fee


class OffsetClock:
    """Wall-clock time plus an offset the tests move forward (ccxt's signatures stay valid)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Venue:
    """The emulator replaying MOVES from bar 0 (tick t is bar t), our adapter on it, and a clock."""

    def __init__(self, emu: BinanceEmulator, ex: CcxtExchange, clock: OffsetClock) -> None:
        self.emu, self.ex, self.clock = emu, ex, clock

    async def to_bar(self, bar: int) -> None:
        """Move the replay to ``bar`` and let ccxt sync its timestamps to the emulator."""
        self.clock.offset = timedelta(seconds=bar / SLOW)
        await self.ex._ex.load_time_difference()

    def at(self, bar: int) -> datetime:
        """When ``bar`` became current, as the venue reports times (whole milliseconds)."""
        return datetime.fromtimestamp(ms(self.emu.venue.replay.tick_time(bar)) / 1000, tz=UTC)

    def free_locked(self, asset: str) -> tuple[Decimal, Decimal]:
        return self.emu.balances()[asset]


@asynccontextmanager
async def moves(tmp_path: Path) -> AsyncIterator[Venue]:
    clock = OffsetClock()
    spec = moves_spec(tmp_path)
    async with binance_venue(
        series={SYMBOL: spec}, start_bar=0, balances={"USD": START_USD}, clock=clock
    ) as (emu, ex):
        yield Venue(emu, ex, clock)


def req(cid: str, side: Side, type_: OrderType, qty: str = "10", **kw: Any) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, type_, D(qty), **kw)


async def buy_ten(v: Venue) -> None:
    bought = await v.ex.create_order(req("entry", Side.BUY, OrderType.MARKET, ref_price=D(100)))
    assert (bought.status, bought.avg_price) == (OrderStatus.FILLED, D("100.05"))


def sold_for(price: str) -> Decimal:
    """USD received for 10 sold at ``price`` less the 0.1 % fee."""
    cost = D(price) * 10
    return cost - (cost * D("0.001")).quantize(D("1E-8"))


async def test_a_sell_stop_rests_then_fills_at_its_stop_with_slippage(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        placed = await v.ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(97)))
        assert (placed.type, placed.status, placed.stop_price) == (OrderType.STOP, OrderStatus.OPEN, D(97))
        assert placed.triggered_at is None and placed.created_at.year > 2000
        assert v.emu.orders()[-1]["type"] == "STOP_LOSS" and v.emu.orders()[-1]["isWorking"] is False
        assert v.free_locked("TEST") == (0, 10)  # the stop holds what it would sell
        await v.to_bar(3)
        assert (await v.ex.fetch_order("sl", SYMBOL)).status is OrderStatus.OPEN
        await v.to_bar(4)  # bar 4's low reaches 97
        done = await v.ex.fetch_order("sl", SYMBOL)
        assert (done.status, done.avg_price, done.filled_qty) == (OrderStatus.FILLED, D("96.95"), 10)
        assert done.triggered_at == done.fills[0].ts == v.at(4)
        assert v.free_locked("TEST") == (0, 0)
        assert v.free_locked("USD") == (START_USD - BUY_COST + sold_for("96.95"), 0)


async def test_a_gap_fills_a_stop_at_the_open(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        await v.ex.create_order(req("sl", Side.SELL, OrderType.STOP, stop_price=D(95)))
        await v.to_bar(8)
        done = await v.ex.fetch_order("sl", SYMBOL)
        assert done.avg_price == D("89.95")  # bar 5 opened at 90, through the 95 stop; less 5 bp
        assert done.fills[0].ts == v.at(5)


async def test_a_stop_limit_gapped_past_its_limit_rests_triggered_then_fills_at_its_limit(
    tmp_path: Path,
) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        placed = await v.ex.create_order(
            req("sll", Side.SELL, OrderType.STOP_LIMIT, price=D(94), stop_price=D(95))
        )
        assert (placed.type, placed.status, placed.price, placed.stop_price) == (
            OrderType.STOP_LIMIT,
            OrderStatus.OPEN,
            D(94),
            D(95),
        )
        await v.to_bar(5)
        resting = await v.ex.fetch_order("sll", SYMBOL)
        assert resting.status is OrderStatus.TRIGGERED and resting.triggered_at == v.at(5)
        raw = v.emu.orders()[-1]
        assert (raw["status"], raw["isWorking"], raw["workingTime"]) == ("NEW", True, ms(v.at(5)))
        assert [o.status for o in await v.ex.open_orders(SYMBOL)] == [OrderStatus.TRIGGERED]
        await v.to_bar(6)  # bar 6's high reaches the 94 limit
        done = await v.ex.fetch_order("sll", SYMBOL)
        assert (done.status, done.avg_price) == (OrderStatus.FILLED, D(94))
        assert v.free_locked("USD") == (START_USD - BUY_COST + sold_for("94"), 0)


async def test_a_stop_limit_marketable_at_its_trigger_fills_there(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        await v.ex.create_order(req("sll", Side.SELL, OrderType.STOP_LIMIT, price=D(96), stop_price=D(97)))
        await v.to_bar(4)
        done = await v.ex.fetch_order("sll", SYMBOL)
        assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("96.95"))  # above its 96 limit


async def test_a_buy_stop_fills_when_the_price_rises_to_it(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await v.ex.create_order(req("bs", Side.BUY, OrderType.STOP, stop_price=D(104), ref_price=D(104)))
        assert v.free_locked("USD")[1] == D("1041.04")  # 10 at the 104 stop, plus the fee
        await v.to_bar(2)  # bar 2's high reaches 106
        done = await v.ex.fetch_order("bs", SYMBOL)
        assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("104.06"))  # 104 plus 5 bp, up


async def test_a_trailing_stop_follows_the_high_and_fills_at_its_level(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        placed = await v.ex.create_order(
            req("ts", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.05"))
        )
        assert (placed.type, placed.trail_fraction, placed.stop_price) == (
            OrderType.TRAILING_STOP,
            D("0.05"),
            None,
        )
        assert v.emu.orders()[-1]["trailingDelta"] == 500  # bips, as Binance takes them
        await v.to_bar(3)  # the best price rose to 106: the level is 100.70
        assert (await v.ex.fetch_order("ts", SYMBOL)).status is OrderStatus.OPEN
        await v.to_bar(4)  # bar 4's low 97 goes through 100.70
        done = await v.ex.fetch_order("ts", SYMBOL)
        assert (done.status, done.avg_price) == (OrderStatus.FILLED, D("100.64"))  # 100.70 less 5 bp


async def test_ioc_and_fok_limits_fill_now_or_expire(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        ioc = await v.ex.create_order(
            req("i1", Side.BUY, OrderType.LIMIT, "1", price=D(101), tif=TimeInForce.IOC)
        )
        assert (ioc.status, ioc.avg_price, ioc.tif) == (OrderStatus.FILLED, D("100.05"), TimeInForce.IOC)
        fok = await v.ex.create_order(
            req("f1", Side.BUY, OrderType.LIMIT, "1", price=D(99), tif=TimeInForce.FOK)
        )
        assert (fok.status, fok.filled_qty, fok.tif) == (OrderStatus.EXPIRED, 0, TimeInForce.FOK)
        assert v.free_locked("USD")[1] == 0


async def test_an_oco_take_profit_fill_expires_its_stop_and_they_shared_one_reservation(
    tmp_path: Path,
) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        take, stop = await v.ex.create_oco(
            req("tp", Side.SELL, OrderType.LIMIT, price=D(104), oco_group="g1"),
            req("sl", Side.SELL, OrderType.STOP_LIMIT, price=D(96), stop_price=D(97), oco_group="g1"),
        )
        assert (take.type, take.price, take.oco_group, take.status) == (
            OrderType.LIMIT,
            D(104),
            "g1",
            OrderStatus.OPEN,
        )
        assert (stop.type, stop.stop_price, stop.oco_group) == (OrderType.STOP_LIMIT, D(97), "g1")
        assert v.free_locked("TEST") == (0, 10)  # one reservation for the pair
        assert {o["type"] for o in v.emu.orders()[-2:]} == {"LIMIT_MAKER", "STOP_LOSS_LIMIT"}
        await v.to_bar(2)  # bar 2's high 106 reaches the 104 take-profit
        take, stop = await v.ex.fetch_order("tp", SYMBOL), await v.ex.fetch_order("sl", SYMBOL)
        assert (take.status, take.avg_price) == (OrderStatus.FILLED, D(104))
        assert stop.status is OrderStatus.EXPIRED and stop.oco_group == "g1"
        assert v.free_locked("TEST") == (0, 0)
        assert v.free_locked("USD") == (START_USD - BUY_COST + sold_for("104"), 0)


async def test_an_oco_bar_touching_both_legs_fills_the_stop(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await v.to_bar(3)  # last 102
        await v.ex.create_order(req("entry", Side.BUY, OrderType.MARKET, ref_price=D(102)))
        await v.ex.create_oco(
            req("tp", Side.SELL, OrderType.LIMIT, price=D(103), oco_group="g2"),
            req("sl", Side.SELL, OrderType.STOP, stop_price=D(99), oco_group="g2"),
        )
        await v.to_bar(4)  # bar 4 spans 97..103: both legs touch, the stop acts first
        stop, take = await v.ex.fetch_order("sl", SYMBOL), await v.ex.fetch_order("tp", SYMBOL)
        assert (stop.status, stop.avg_price) == (OrderStatus.FILLED, D("98.95"))
        assert take.status is OrderStatus.EXPIRED


async def test_cancelling_one_oco_leg_cancels_the_list(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        await v.ex.create_oco(
            req("tp", Side.SELL, OrderType.LIMIT, price=D(110), oco_group="g3"),
            req("ts", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.2"), oco_group="g3"),
        )
        cancelled = await v.ex.cancel_order("ts", SYMBOL)
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.type is OrderType.TRAILING_STOP
        assert (await v.ex.fetch_order("tp", SYMBOL)).status is OrderStatus.CANCELLED
        assert await v.ex.open_orders(SYMBOL) == []
        assert v.free_locked("TEST") == (10, 0)


async def test_a_restarted_adapter_reads_the_oco_group_back_from_the_venue(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        await v.ex.create_oco(
            req("tp", Side.SELL, OrderType.LIMIT, price=D(110), oco_group="s1-c1-e0"),
            req("sl", Side.SELL, OrderType.STOP, stop_price=D(90), oco_group="s1-c1-e0"),
        )
        fresh = CcxtExchange("binance", v.ex.config, credentials(v.emu))
        try:
            assert [o.oco_group for o in await fresh.open_orders(SYMBOL)] == ["s1-c1-e0", "s1-c1-e0"]
        finally:
            await fresh.close()


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        (
            req("r1", Side.SELL, OrderType.STOP, stop_price=D(90), reduce_only=True),
            "does not support reduce-only",
        ),
        (req("r2", Side.BUY, OrderType.LIMIT, price=D(90), tif=TimeInForce.DAY), "time in force day"),
        (req("r3", Side.SELL, OrderType.TRAILING_STOP, trail_amount=D(2)), "trailing stops by an amount"),
        (req("r4", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.00015")), "whole basis points"),
        (req("r5", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.0005")), "by 10 to 2000 basis"),
        (req("r6", Side.SELL, OrderType.TRAILING_STOP, trail_fraction=D("0.25")), "2500 bips"),
        (req("r7", Side.SELL, OrderType.LIMIT, price=D(110), oco_group="g"), "through create_oco"),
    ],
)
async def test_what_binance_spot_cannot_do_is_refused_without_a_request(
    tmp_path: Path, request_: OrderRequest, says: str
) -> None:
    async with moves(tmp_path) as v:
        with pytest.raises(InvalidOrder, match=says) as info:
            await v.ex.create_order(request_)
        assert str(info.value).startswith("binance")
        assert v.emu.request_count("POST", ORDER) == 0


async def test_a_stop_that_would_trigger_at_once_is_refused_by_the_venue(tmp_path: Path) -> None:
    async with moves(tmp_path) as v:
        await buy_ten(v)
        with pytest.raises(InvalidOrder, match="Stop price would trigger immediately"):
            await v.ex.create_order(req("x1", Side.SELL, OrderType.STOP, stop_price=D(101)))
        with pytest.raises(InvalidOrder, match="relationship of the prices"):
            await v.ex.create_oco(
                req("x2", Side.SELL, OrderType.LIMIT, price=D(99), oco_group="gx"),
                req("x3", Side.SELL, OrderType.STOP, stop_price=D(98), oco_group="gx"),
            )
        with pytest.raises(InvalidOrder, match="one limit order and one stop"):
            await v.ex.create_oco(
                req("x4", Side.SELL, OrderType.STOP, stop_price=D(95), oco_group="gy"),
                req("x5", Side.SELL, OrderType.STOP, stop_price=D(96), oco_group="gy"),
            )
        assert v.free_locked("TEST") == (10, 0) and v.emu.venue.lists == {}


def test_capabilities_describe_binance_spot_and_the_paper_venue() -> None:
    caps: Capabilities = CcxtExchange("binance", VenueConfig(ccxt_id="binance")).capabilities
    assert caps.order_types == frozenset(OrderType) and TimeInForce.DAY not in caps.time_in_force
    assert (caps.oco, caps.reduce_only, caps.shorts, caps.trail_amount) == (True, False, False, False)
    paper = PaperExchange.capabilities
    assert paper.time_in_force == frozenset(TimeInForce) and paper.order_types == frozenset(OrderType)
    assert (paper.oco, paper.reduce_only, paper.shorts) == (True, True, False)
