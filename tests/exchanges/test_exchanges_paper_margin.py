"""The paper venue's margin account: shorts, initial margin, interest and liquidation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from exchanges.paper import PaperExchange
from exchanges.paper_margin import PaperMargin, liquidation_price
from tests.exchanges.conftest import EPOCH, FakeClock, moves_spec
from trading.errors import InsufficientBalance, InvalidInput, InvalidOrder
from trading.models import OrderRequest, OrderStatus, OrderType, Side

SYMBOL = "TEST/USD"
D = Decimal
FEE = D("0.001")

# closes 100, 110, 120, 125, then flat: a short of 190 at 100 is liquidated at 125 (see below)
RISING = [
    ("100", "101", "99", "100"),
    ("100", "111", "99", "110"),
    ("110", "121", "109", "120"),
    ("120", "126", "119", "125"),
    *[("125", "126", "124", "125")] * 10,
]


def req(cid: str, side: Side, qty: str, type_: OrderType = OrderType.MARKET, **kw: Any) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, type_, D(qty), **kw)


def at(clock: FakeClock, tick: int) -> None:
    clock.now = EPOCH + timedelta(seconds=tick)


def slipped_buy(price: Decimal) -> Decimal:
    return (price * D("1.0005") / D("0.01")).to_integral_value(rounding=ROUND_CEILING) * D("0.01")


@pytest.fixture
def margin_ex(tmp_path: Path, make_exchange: Callable[..., PaperExchange]) -> Callable[..., PaperExchange]:
    def make(rows: list[tuple[str, str, str, str]] | None = None, **terms: Any) -> PaperExchange:
        spec = moves_spec(tmp_path, rows) if rows is not None else moves_spec(tmp_path)
        return make_exchange(series={SYMBOL: spec}, start_bar=0, margin=PaperMargin(**terms))

    return make


async def test_a_spot_account_refuses_a_short_and_says_it_cannot(
    tmp_path: Path, make_exchange: Callable[..., PaperExchange]
) -> None:
    ex = make_exchange(series={SYMBOL: moves_spec(tmp_path)}, start_bar=0)
    assert not ex.capabilities.shorts
    with pytest.raises(InsufficientBalance, match="needs 10 TEST"):
        await ex.create_order(req("s", Side.SELL, "10"))
    with pytest.raises(InvalidInput, match="spot account"):
        await ex.margin_account()
    assert (await ex.balance()).get("TEST", D(0)) == 0


async def test_a_short_borrows_then_a_buy_repays_it(
    margin_ex: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = margin_ex(borrow_rate=D(0))
    assert ex.capabilities.shorts
    sold = await ex.create_order(req("short", Side.SELL, "10"))
    assert sold.status is OrderStatus.FILLED and sold.avg_price == D("99.95")
    bal = await ex.balance()
    assert bal["TEST"] == D(-10)  # the short: what is borrowed shows as a negative balance
    assert bal["USD"] == D(10000) + D("999.5") - D("999.5") * FEE
    state = await ex.margin_account()
    assert state.shorts == {"TEST": D(10)} and state.short_value == D(1000)
    assert state.required == D(500) and state.maintenance == D(100)
    at(clock, 2)  # close 105
    covered = await ex.create_order(req("cover", Side.BUY, "10", reduce_only=True))
    assert covered.avg_price == D("105.06")  # 105 plus 5 bp, up to the cent
    bal = await ex.balance()
    assert bal["TEST"] == 0
    # the short lost 10 x (105.06 - 99.95) and paid two fees
    assert bal["USD"] == D(10000) + D("999.5") - D("1050.6") - (D("999.5") + D("1050.6")) * FEE
    assert (await ex.margin_account()).short_value == 0


async def test_a_sell_may_sell_what_is_held_and_borrow_the_rest(
    margin_ex: Callable[..., PaperExchange],
) -> None:
    ex = margin_ex(borrow_rate=D(0))
    await ex.create_order(req("long", Side.BUY, "5"))
    await ex.create_order(req("flip", Side.SELL, "15"))  # sells the 5 held, borrows 10
    assert (await ex.balance())["TEST"] == D(-10)


async def test_the_initial_margin_caps_what_may_be_borrowed(margin_ex: Callable[..., PaperExchange]) -> None:
    ex = margin_ex(initial=D("0.5"), maintenance=D("0.25"))
    # 10 000 USD of equity carries shorts worth 20 000 at a 50 % initial margin: 250 units is too much
    with pytest.raises(InsufficientBalance, match=r"short to 250 TEST.*initial margin 0.5") as e:
        await ex.create_order(req("big", Side.SELL, "250"))
    assert "need 12500" in str(e.value)
    assert (await ex.balance()).get("TEST", D(0)) == 0  # nothing was placed
    resting = await ex.create_order(req("rest", Side.SELL, "150", OrderType.LIMIT, price=D(150)))
    assert resting.status is OrderStatus.OPEN
    # the resting sell counts: another 60 would take the shorts to 210 units, 21 000 at 100
    with pytest.raises(InsufficientBalance, match="short to 210 TEST"):
        await ex.create_order(req("more", Side.SELL, "60"))
    await ex.create_order(req("some", Side.SELL, "40"))


async def test_reduce_only_buys_back_at_most_the_short(margin_ex: Callable[..., PaperExchange]) -> None:
    ex = margin_ex()
    with pytest.raises(InvalidOrder, match="the short held is 0"):
        await ex.create_order(req("b", Side.BUY, "1", reduce_only=True))
    await ex.create_order(req("short", Side.SELL, "10"))
    with pytest.raises(InvalidOrder, match="the short held is 10 TEST"):
        await ex.create_order(req("b2", Side.BUY, "11", reduce_only=True))
    stop = await ex.create_order(
        req("sl", Side.BUY, "10", OrderType.STOP, stop_price=D(110), reduce_only=True)
    )
    assert stop.status is OrderStatus.OPEN


async def test_interest_is_charged_at_every_close_on_the_shorts_value(
    margin_ex: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = margin_ex(borrow_rate=D("0.365"))  # daily bars: 0.1 % of the short's value a bar
    await ex.create_order(req("short", Side.SELL, "10"))
    usd = (await ex.balance())["USD"]
    at(clock, 3)  # the closes of bars 1, 2 and 3: 101, 105, 102
    state = await ex.margin_account()
    charged = sum((D(10) * D(c) * D("0.001") for c in ("101", "105", "102")), D(0))
    assert state.interest_paid == charged == D("3.08")
    assert (await ex.balance())["USD"] == usd - charged
    at(clock, 3)
    assert (await ex.margin_account()).interest_paid == charged  # a bar is charged once


async def test_a_close_under_the_maintenance_margin_liquidates_the_short(
    margin_ex: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = margin_ex(RISING, borrow_rate=D(0), initial=D("0.5"), maintenance=D("0.25"))
    await ex.create_order(req("short", Side.SELL, "190"))  # 19 000 of shorts on 10 000
    stop = await ex.create_order(
        req("sl", Side.BUY, "190", OrderType.STOP, stop_price=D(130), reduce_only=True)
    )
    usd = (await ex.balance())["USD"]
    price = liquidation_price(usd, D(190), D("0.25"))
    assert D(120) < price < D(125)  # 28 981.02 / 237.5 = 122.02...
    at(clock, 2)  # close 120: equity 28 981.02 - 22 800 = 6 181 above 0.25 x 22 800
    assert (await ex.balance())["TEST"] == D(-190)
    at(clock, 5)  # close 125 at bar 3: liquidated there
    liq = await ex.fetch_order("liquidation-3-TEST")
    assert liq.status is OrderStatus.FILLED and liq.side is Side.BUY and liq.qty == D(190)
    assert liq.avg_price == slipped_buy(D(125)) == D("125.07")
    assert liq.fills[0].ts == EPOCH + timedelta(seconds=3)
    assert "below the maintenance margin" in liq.reason
    assert (await ex.fetch_order("sl")).status is OrderStatus.CANCELLED  # its resting orders go
    bal = await ex.balance()
    assert bal["TEST"] == 0
    assert bal["USD"] == usd - D("190") * D("125.07") * (1 + FEE)
    assert stop.status is OrderStatus.OPEN


async def test_a_stop_that_fires_first_spares_the_short_its_liquidation(
    margin_ex: Callable[..., PaperExchange], clock: Any
) -> None:
    ex = margin_ex(RISING, borrow_rate=D(0), initial=D("0.5"), maintenance=D("0.25"))
    await ex.create_order(req("short", Side.SELL, "190"))
    await ex.create_order(req("sl", Side.BUY, "190", OrderType.STOP, stop_price=D(115), reduce_only=True))
    at(clock, 6)
    assert (await ex.fetch_order("sl")).status is OrderStatus.FILLED  # bar 2's high reaches 115
    assert (await ex.balance())["TEST"] == 0
    assert not [o for o in await ex.orders() if o.client_order_id.startswith("liquidation-")]


def test_margin_terms_are_checked() -> None:
    with pytest.raises(ValidationError, match="must be below"):
        PaperMargin(initial=D("0.2"), maintenance=D("0.3"))
    with pytest.raises(ValidationError):
        PaperMargin(borrow_rate=D(-1))
    with pytest.raises(ValidationError):
        PaperMargin(unknown=1)  # type: ignore[call-arg]
