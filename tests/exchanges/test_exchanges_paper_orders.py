"""PaperExchange orders: fills, fees, reservations, cancels and every rejection."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from exchanges.paper import PaperExchange
from trading.errors import (
    DuplicateClientOrderId,
    InsufficientBalance,
    InvalidOrder,
    OrderNotFound,
    TradingError,
    UnknownSymbol,
)
from trading.models import OrderRequest, OrderStatus, OrderType, Side

SYMBOL = "TEST/USD"


def market(cid: str, side: Side, qty: str, symbol: str = SYMBOL) -> OrderRequest:
    return OrderRequest(cid, symbol, side, OrderType.MARKET, Decimal(qty))


def limit(cid: str, side: Side, qty: str, price: str) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, OrderType.LIMIT, Decimal(qty), Decimal(price))


async def test_market_buy_fills_at_slipped_price_with_exact_fee(ex: PaperExchange, clock: Any) -> None:
    order = await ex.create_order(market("b1", Side.BUY, "10"))
    # bar 5 closes at 105; 5 bp against the buyer is 105.0525, rounded up to the cent
    assert order.status is OrderStatus.FILLED
    assert order.avg_price == Decimal("105.06")
    assert order.filled_qty == Decimal(10)
    assert order.fee == Decimal("1.05060")
    assert order.created_at == clock.now and order.created_at.microsecond == 123456
    (fill,) = order.fills
    assert (fill.fill_id, fill.price, fill.qty, fill.fee, fill.ts) == (
        "paper-00000001-1",
        Decimal("105.06"),
        Decimal(10),
        Decimal("1.05060"),
        clock.now,
    )
    assert await ex.balance() == {"TEST": Decimal(10), "USD": Decimal("8948.34940")}


async def test_market_sell_fills_below_close_and_pays_fee_in_quote(ex: PaperExchange) -> None:
    await ex.create_order(market("b1", Side.BUY, "10"))
    sell = await ex.create_order(market("s1", Side.SELL, "4"))
    # 105 * 0.9995 = 104.9475, rounded down against the seller
    assert sell.avg_price == Decimal("104.94")
    assert sell.fee == Decimal("0.41976")
    assert await ex.balance() == {"TEST": Decimal(6), "USD": Decimal("9367.68964")}


async def test_limit_buy_rests_then_fills_when_a_later_bar_crosses(ex: PaperExchange, clock: Any) -> None:
    placed = await ex.create_order(limit("l1", Side.BUY, "5", "100.00"))
    assert placed.status is OrderStatus.OPEN and placed.fills == ()
    assert await ex.balance() == {"USD": Decimal(10000)}  # totals include the reservation
    assert (await ex.free_balance())["USD"] == Decimal("9499.50000")
    clock.advance(1)  # bar 6, low 105: no cross
    assert (await ex.fetch_order("l1")).status is OrderStatus.OPEN
    clock.advance(5)  # bars 7..11 have passed; bar 8 (low 95) crossed at tick 3
    filled = await ex.fetch_order("l1")
    assert filled.status is OrderStatus.FILLED
    assert (filled.avg_price, filled.fee) == (Decimal("100.00"), Decimal("0.50000"))
    (fill,) = filled.fills
    assert fill.ts == placed.created_at + timedelta(seconds=3)  # when bar 8 became current
    assert filled.updated_at == fill.ts
    assert await ex.balance() == {"TEST": Decimal(5), "USD": Decimal("9499.50000")}
    assert await ex.free_balance() == {"TEST": Decimal(5), "USD": Decimal("9499.50000")}
    assert await ex.open_orders() == []


async def test_limit_is_not_filled_by_its_own_creation_bar(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(limit("l1", Side.BUY, "1", "104.50"))  # bar 5 has low 104
    assert (await ex.fetch_order("l1")).status is OrderStatus.OPEN
    clock.advance(2.5)  # bars 6 and 7 have lows 105 and 106
    assert (await ex.fetch_order("l1")).status is OrderStatus.OPEN
    clock.advance(0.5)  # bar 8
    assert (await ex.fetch_order("l1")).avg_price == Decimal("104.50")


async def test_limit_sell_reserves_base_and_fills_on_high(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(market("b1", Side.BUY, "10"))
    await ex.create_order(limit("s1", Side.SELL, "3", "120.00"))
    assert (await ex.free_balance())["TEST"] == Decimal(7)
    with pytest.raises(InsufficientBalance, match="only 7 TEST is available"):
        await ex.create_order(market("s2", Side.SELL, "8"))
    clock.advance(4)  # bar 9: high 110
    assert [o.client_order_id for o in await ex.open_orders(SYMBOL)] == ["s1"]
    clock.advance(1)  # bar 10: high 130
    assert await ex.open_orders() == []
    assert await ex.balance() == {"TEST": Decimal(7), "USD": Decimal("8948.34940") + Decimal("359.64000")}


async def test_cancel_releases_reservation(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(limit("big", Side.BUY, "90", "100.00"))  # reserves 9009
    with pytest.raises(InsufficientBalance) as err:
        await ex.create_order(limit("small", Side.BUY, "10", "100.00"))
    message = str(err.value)
    assert "needs 1001.00000 USD (value 1000.00 plus fee 1.00000)" in message
    assert "only 991.00000 USD is available (10000 held, 9009.00000 reserved by open orders)" in message

    clock.advance(0.5)
    cancelled = await ex.cancel_order("big", SYMBOL)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.updated_at == clock.now
    assert await ex.free_balance() == {"USD": Decimal(10000)}
    assert (await ex.create_order(limit("small", Side.BUY, "10", "100.00"))).status is OrderStatus.OPEN

    clock.advance(5)  # bar 8 crosses 100: only the live order fills
    assert (await ex.fetch_order("big")).status is OrderStatus.CANCELLED
    assert (await ex.fetch_order("small")).status is OrderStatus.FILLED
    assert await ex.balance() == {"TEST": Decimal(10), "USD": Decimal("8999.00000")}


async def test_cancelling_a_terminal_order_returns_it_unchanged(ex: PaperExchange, clock: Any) -> None:
    filled = await ex.create_order(market("m1", Side.BUY, "1"))
    clock.advance(1)
    assert await ex.cancel_order("m1") == filled
    await ex.create_order(limit("l1", Side.BUY, "1", "60.00"))
    first = await ex.cancel_order("l1")
    clock.advance(1)
    assert await ex.cancel_order("l1") == first


REJECTIONS: list[tuple[OrderRequest, type[TradingError], str]] = [
    (
        market("r", Side.BUY, "1", "NOPE/USD"),
        UnknownSymbol,
        "does not list 'NOPE/USD'; known symbols: TEST/USD",
    ),
    (market("r", Side.BUY, "0.5"), InvalidOrder, "quantity 0.5 of TEST/USD is below the minimum 1"),
    (
        market("r", Side.BUY, "1.5"),
        InvalidOrder,
        "quantity 1.5 of TEST/USD is not a multiple of the quantity step 1",
    ),
    (
        limit("r", Side.BUY, "1", "100.005"),
        InvalidOrder,
        "limit price 100.005 for TEST/USD is not a multiple of the price step 0.01",
    ),
    (
        limit("r", Side.BUY, "1", "40.00"),
        InvalidOrder,
        "order value 40.00 USD for TEST/USD is below the minimum 50 USD",
    ),
    (
        market("r", Side.BUY, "100"),
        InsufficientBalance,
        "cannot buy 100 TEST/USD: it needs 10516.50600 USD (value 10506.00 plus fee 10.50600), "
        "but only 10000 USD is available",
    ),
    (
        market("r", Side.SELL, "1"),
        InsufficientBalance,
        "cannot sell 1 TEST/USD: it needs 1 TEST, but only 0 TEST",
    ),
    (
        limit("r", Side.SELL, "1", "200.00"),
        InsufficientBalance,
        "it needs 1 TEST, but only 0 TEST is available",
    ),
]


@pytest.mark.parametrize(("req", "error", "message"), REJECTIONS)
async def test_rejections_raise_and_record_nothing(
    ex: PaperExchange, req: OrderRequest, error: type[TradingError], message: str
) -> None:
    with pytest.raises(error) as err:
        await ex.create_order(req)
    assert type(err.value) is error
    assert message in str(err.value)
    assert await ex.orders() == []
    assert await ex.balance() == {"USD": Decimal(10000)}
    with pytest.raises(OrderNotFound):
        await ex.fetch_order("r")


async def test_duplicate_client_order_id_is_rejected(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(market("dup", Side.BUY, "1"))
    after_first = await ex.balance()
    clock.advance(3)
    for again in (market("dup", Side.BUY, "1"), limit("dup", Side.SELL, "1", "150.00")):
        with pytest.raises(
            DuplicateClientOrderId, match=r"'dup' is already used by order paper-00000001 \(filled\)"
        ):
            await ex.create_order(again)
    assert await ex.balance() == after_first
    assert len(await ex.orders()) == 1


async def test_fetch_by_client_order_id(ex: PaperExchange) -> None:
    placed = await ex.create_order(limit("abc", Side.BUY, "2", "90.00"))
    assert await ex.fetch_order("abc") == placed
    assert await ex.fetch_order("abc", SYMBOL) == placed
    assert placed.venue_order_id == "paper-00000001"
    with pytest.raises(OrderNotFound, match="no order with client order id 'abc' for EUR/USD"):
        await ex.fetch_order("abc", "EUR/USD")
    with pytest.raises(OrderNotFound, match="no order with client order id 'zzz'"):
        await ex.fetch_order("zzz")
    with pytest.raises(OrderNotFound):
        await ex.cancel_order("zzz")


async def test_orders_since_filters_by_creation_time(ex: PaperExchange, clock: Any) -> None:
    await ex.create_order(market("a", Side.BUY, "1"))
    clock.advance(0.000001)
    cut = clock.now
    await ex.create_order(market("b", Side.BUY, "1"))
    assert [o.client_order_id for o in await ex.orders()] == ["a", "b"]
    assert [o.client_order_id for o in await ex.orders(since=cut)] == ["b"]
    assert (await ex.fetch_order("b")).created_at == cut
