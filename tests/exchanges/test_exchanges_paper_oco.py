"""PaperExchange.create_oco: the same pair placement the ccxt adapter offers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.paper import PaperExchange
from tests.exchanges.conftest import EPOCH, moves_spec
from trading.errors import InvalidOrder
from trading.models import OrderRequest, OrderStatus, OrderType, Side

D = Decimal
SYMBOL = "TEST/USD"


def req(cid: str, type_: OrderType, group: str | None = "g", **kw: Any) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, Side.SELL, type_, D(10), oco_group=group, **kw)


async def test_create_oco_places_both_on_one_reservation_and_a_fill_cancels_the_other(
    tmp_path: Path, make_exchange: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = make_exchange(series={SYMBOL: moves_spec(tmp_path)}, start_bar=0)
    await ex.create_order(OrderRequest("entry", SYMBOL, Side.BUY, OrderType.MARKET, D(10)))
    take, stop = await ex.create_oco(
        req("tp", OrderType.LIMIT, price=D(104)), req("sl", OrderType.STOP, stop_price=D(97))
    )
    assert (take.status, stop.status, take.oco_group) == (OrderStatus.OPEN, OrderStatus.OPEN, "g")
    assert (await ex.free_balance())["TEST"] == 0  # 10 reserved once for the pair
    clock.now = EPOCH + timedelta(seconds=2)
    assert (await ex.fetch_order("tp")).status is OrderStatus.FILLED
    assert (await ex.fetch_order("sl")).status is OrderStatus.CANCELLED


async def test_create_oco_refuses_a_pair_that_is_not_one(
    tmp_path: Path, make_exchange: Callable[..., PaperExchange]
) -> None:
    ex = make_exchange(series={SYMBOL: moves_spec(tmp_path)}, start_bar=0)
    with pytest.raises(InvalidOrder, match="one oco_group on both"):
        await ex.create_oco(
            req("a", OrderType.LIMIT, price=D(104)), req("b", OrderType.STOP, "h", stop_price=D(97))
        )
    with pytest.raises(InvalidOrder, match="share symbol, side and quantity"):
        await ex.create_oco(
            req("a", OrderType.LIMIT, price=D(104)),
            OrderRequest("b", SYMBOL, Side.SELL, OrderType.STOP, D(5), stop_price=D(97), oco_group="g"),
        )
    assert await ex.orders() == []


async def test_of_two_stops_one_bar_goes_through_the_one_the_price_meets_first_fills(
    tmp_path: Path, make_exchange: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = make_exchange(series={SYMBOL: moves_spec(tmp_path)}, start_bar=0, slippage_bps=D(0))
    await ex.create_order(OrderRequest("entry", SYMBOL, Side.BUY, OrderType.MARKET, D(10)))
    await ex.create_order(req("low", OrderType.STOP, stop_price=D(97)))  # placed first
    await ex.create_order(req("high", OrderType.STOP, stop_price=D("97.5")))
    clock.now = EPOCH + timedelta(seconds=4)  # bar 4 falls from 102 to 97: through both
    high, low = await ex.fetch_order("high"), await ex.fetch_order("low")
    assert (high.status, high.avg_price) == (OrderStatus.FILLED, D("97.5"))  # met on the way down first
    assert low.status is OrderStatus.CANCELLED
