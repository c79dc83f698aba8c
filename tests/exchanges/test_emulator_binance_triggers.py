"""The emulator's conditional orders and order lists in Binance's own terms, driven by the raw ccxt
binance client (Binance types and parameters as ccxt passes them through)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest

from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from tests.exchanges.conftest import moves_spec
from tests.exchanges.test_emulator_binance import SLOW, OffsetClock, make_client

D = Decimal
SYMBOL = "TEST/USD"


@asynccontextmanager
async def moves(tmp_path: Path) -> AsyncIterator[tuple[BinanceEmulator, Any, OffsetClock]]:
    """The emulator on conftest.MOVES from bar 0, 10 TEST and 10 000 USD, and a ccxt client."""
    clock = OffsetClock()
    async with serve_binance_emulator(
        series={SYMBOL: moves_spec(tmp_path)},
        start_bar=0,
        bars_per_second=SLOW,
        clock=clock,
        balances={"USD": D(10_000), "TEST": D(10)},
    ) as emu:
        ex = make_client(emu)
        try:
            yield emu, ex, clock
        finally:
            await ex.close()


async def to_bar(clock: OffsetClock, ex: Any, bar: int) -> None:
    clock.offset = timedelta(seconds=bar / SLOW)
    await ex.load_time_difference()


def raw(emu: BinanceEmulator, client_id: str) -> dict[str, Any]:
    return next(o for o in reversed(emu.orders()) if o["clientOrderId"] == client_id)


async def test_exchange_info_lists_the_conditional_types_and_the_trailing_filter(tmp_path: Path) -> None:
    async with moves(tmp_path) as (_, ex, _clock):
        info = (await ex.load_markets())[SYMBOL]["info"]
        assert {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"} <= set(
            info["orderTypes"]
        )
        assert info["ocoAllowed"] is True and info["allowTrailingStop"] is True
        (trailing,) = [f for f in info["filters"] if f["filterType"] == "TRAILING_DELTA"]
        assert (trailing["minTrailingBelowDelta"], trailing["maxTrailingAboveDelta"]) == (10, 2000)


async def test_a_stop_loss_limit_shows_new_not_working_until_its_trigger(tmp_path: Path) -> None:
    async with moves(tmp_path) as (emu, ex, clock):
        params = {"stopPrice": "95", "newClientOrderId": "sll"}
        placed = await ex.create_order(SYMBOL, "STOP_LOSS_LIMIT", "sell", 10, 94, params)
        assert placed["info"]["workingTime"] == -1 and placed["triggerPrice"] == 95
        before = raw(emu, "sll")
        assert (before["status"], before["isWorking"], before["workingTime"]) == ("NEW", False, -1)
        await to_bar(clock, ex, 5)  # bar 5 gaps to 90: triggered, not marketable at 94
        after = await ex.fetch_order("", SYMBOL, {"origClientOrderId": "sll"})
        assert (after["status"], after["info"]["isWorking"]) == ("open", True)
        assert after["info"]["workingTime"] == emu.venue.orders[1].working_ms > 0
        await to_bar(clock, ex, 6)
        assert raw(emu, "sll")["status"] == "FILLED" and raw(emu, "sll")["fills"][0]["price"] == "94.00000000"


async def test_take_profit_sells_trigger_on_a_rise_and_fill_at_the_open_on_a_gap(tmp_path: Path) -> None:
    async with moves(tmp_path) as (emu, ex, clock):
        await ex.create_order(
            SYMBOL, "TAKE_PROFIT", "sell", 5, None, {"stopPrice": "104", "newClientOrderId": "tp"}
        )
        await to_bar(clock, ex, 2)  # bar 2 rises to 106: reached at 104
        assert raw(emu, "tp")["fills"][0]["price"] == "103.94000000"  # 104 less 5 bp
        await to_bar(clock, ex, 5)  # bar 5 opens at 90
        await ex.create_order(
            SYMBOL,
            "TAKE_PROFIT_LIMIT",
            "buy",
            1,
            96,
            {"stopPrice": "90.5", "timeInForce": "GTC", "newClientOrderId": "tb"},
        )
        await to_bar(clock, ex, 6)  # a buy take-profit at 90.5 waits for a fall: bar 6 stays at 90 and above
        assert raw(emu, "tb")["status"] == "FILLED"  # bar 6's low 90 reaches it; marketable under 96
        assert raw(emu, "tb")["fills"][0]["price"] == "90.55000000"


async def test_a_trailing_delta_with_a_stop_price_tracks_from_the_stop(tmp_path: Path) -> None:
    async with moves(tmp_path) as (emu, ex, clock):
        # with a trailing delta ccxt drops stopPrice; it sends trailingTriggerPrice as the stopPrice
        params = {"trailingTriggerPrice": "104", "trailingDelta": 300, "newClientOrderId": "tt"}
        await ex.create_order(SYMBOL, "TAKE_PROFIT", "sell", 5, None, params)
        assert raw(emu, "tt")["trailingTime"] == -1
        await to_bar(clock, ex, 2)  # 104 reached: tracking starts with 104 as the best price
        assert raw(emu, "tt")["trailingTime"] > 0 and raw(emu, "tt")["status"] == "NEW"
        await to_bar(clock, ex, 3)  # level 104 less 3 % = 100.88; bar 3's low 101 stays above
        assert raw(emu, "tt")["status"] == "NEW"
        await to_bar(clock, ex, 4)  # best 105 after bar 3: level 101.85, bar 4 opens 102 and falls to 97
        assert raw(emu, "tt")["fills"][0]["price"] == "101.79000000"


@pytest.mark.parametrize(
    ("type_", "price", "params", "error", "message"),
    [
        ("STOP_LOSS", None, {"stopPrice": "101"}, ccxt.InvalidOrder, "Stop price would trigger immediately."),
        ("STOP_LOSS", None, {"trailingDelta": 5}, ccxt.ExchangeError, "Filter failure: TRAILING_DELTA"),
        ("STOP_LOSS", None, {}, ccxt.InvalidOrder, "requires a triggerPrice"),  # ccxt refuses first
        (
            "STOP_LOSS_LIMIT",
            90,
            {"stopPrice": "95", "timeInForce": "DAY"},
            ccxt.BadRequest,
            "Invalid timeInForce.",
        ),
        ("LIMIT_MAKER", 99, {}, ccxt.InvalidOrder, "Order would immediately match and take."),
    ],
)
async def test_bad_combinations_get_binances_answers(
    tmp_path: Path,
    type_: str,
    price: int | None,
    params: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    async with moves(tmp_path) as (emu, ex, _clock):
        with pytest.raises(error, match=message.replace(".", r"\.")):
            await ex.create_order(SYMBOL, type_, "sell", 1, price, params)
        assert emu.venue.orders == {}


async def test_an_oco_list_shares_one_lock_and_is_cancelled_whole(tmp_path: Path) -> None:
    async with moves(tmp_path) as (emu, ex, _clock):
        await ex.load_markets()
        oco = {
            "symbol": "TESTUSD",
            "side": "SELL",
            "quantity": "10",
            "listClientOrderId": "list-1",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": "110",
            "aboveClientOrderId": "up",
            "belowType": "STOP_LOSS_LIMIT",
            "belowStopPrice": "95",
            "belowPrice": "94",
            "belowTimeInForce": "GTC",
            "belowClientOrderId": "down",
        }
        placed = await ex.private_post_orderlist_oco(oco)
        assert (placed["contingencyType"], placed["listStatusType"], placed["listOrderStatus"]) == (
            "OCO",
            "EXEC_STARTED",
            "EXECUTING",
        )
        assert [r["clientOrderId"] for r in placed["orderReports"]] == ["up", "down"]
        assert {r["orderListId"] for r in placed["orderReports"]} == {placed["orderListId"]}
        assert emu.balances()["TEST"] == (0, 10)
        listed = await ex.private_get_orderlist({"orderListId": placed["orderListId"]})
        assert listed["listClientOrderId"] == "list-1" and "orderReports" not in listed
        done = await ex.private_delete_orderlist({"symbol": "TESTUSD", "listClientOrderId": "list-1"})
        assert done["listStatusType"] == "ALL_DONE"
        assert [r["status"] for r in done["orderReports"]] == ["CANCELED", "CANCELED"]
        assert emu.balances()["TEST"] == (10, 0)
        with pytest.raises(ccxt.BaseError, match="relationship of the prices"):
            await ex.private_post_orderlist_oco(oco | {"abovePrice": "99", "listClientOrderId": "list-2"})


async def test_of_two_stops_one_bar_goes_through_the_one_the_price_meets_first_trades_first(
    tmp_path: Path,
) -> None:
    async with moves(tmp_path) as (emu, ex, clock):
        for cid, stop in (("low", "97"), ("high", "97.5")):  # the lower one placed first
            await ex.create_order(
                SYMBOL, "STOP_LOSS", "sell", 5, None, {"stopPrice": stop, "newClientOrderId": cid}
            )
        await to_bar(clock, ex, 4)  # bar 4 falls from 102 to 97: through both
        first, second = emu.venue.trades(emu.venue.lookup(SYMBOL).id)
        by_order = {o.order_id: o.client_order_id for o in emu.venue.orders.values()}
        assert (by_order[first.order_id], by_order[second.order_id]) == ("high", "low")
