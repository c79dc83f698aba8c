"""Position and portfolio arithmetic with exact Decimal results."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from trading.errors import InvalidInput
from trading.models import Fill, Side
from trading.portfolio import PnL, Portfolio, Position, drawdown, pnl_of

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def make_fill(side: Side, qty: str, price: str, fee: str = "0", symbol: str = "BTC/USDT") -> Fill:
    return Fill("s1-c0-l0", symbol, side, D(qty), D(price), D(fee), NOW)


def test_adding_moves_average_price_to_weighted_mean() -> None:
    p = Position("BTC/USDT")
    assert p.apply_fill(Side.BUY, D("1"), D("100"), D("0")) == 0
    assert p.apply_fill(Side.BUY, D("3"), D("120"), D("0")) == 0
    assert (p.qty, p.avg_price) == (D("4"), D("115"))


def test_reducing_a_long_realises_and_keeps_average() -> None:
    p = Position("BTC/USDT", qty=D("2"), avg_price=D("105"))
    assert p.apply_fill(Side.SELL, D("0.5"), D("120"), D("0.06")) == D("7.5")
    assert (p.qty, p.avg_price, p.realised_pnl, p.fees) == (D("1.5"), D("105"), D("7.5"), D("0.06"))


def test_reducing_a_short_realises_with_direction() -> None:
    p = Position("BTC/USDT")
    p.apply_fill(Side.SELL, D("2"), D("100"), D("0"))
    assert (p.qty, p.avg_price) == (D("-2"), D("100"))
    assert p.apply_fill(Side.BUY, D("1"), D("90"), D("0")) == D("10")
    assert (p.qty, p.avg_price) == (D("-1"), D("100"))


def test_crossing_through_zero_closes_then_opens_at_fill_price() -> None:
    p = Position("BTC/USDT", qty=D("1.5"), avg_price=D("105"))
    assert p.apply_fill(Side.SELL, D("2.5"), D("90"), D("0.1")) == D("-22.5")
    assert (p.qty, p.avg_price) == (D("-1"), D("90"))
    assert p.apply_fill(Side.BUY, D("1"), D("80"), D("0.2")) == D("10")
    assert (p.qty, p.avg_price, p.realised_pnl, p.fees) == (D("0"), D("0"), D("-12.5"), D("0.3"))


def test_fees_are_reported_apart_from_realised() -> None:
    p = Position("BTC/USDT")
    p.apply_fill(Side.BUY, D("1"), D("100"), D("0.1"))
    p.apply_fill(Side.SELL, D("1"), D("110"), D("0.11"))
    assert (p.realised_pnl, p.fees) == (D("10"), D("0.21"))
    assert p.net_pnl(D("999")) == D("9.79")


def test_unrealised_notional_and_net_for_long_and_short() -> None:
    long = Position("A", qty=D("2"), avg_price=D("100"), realised_pnl=D("5"), fees=D("1"))
    short = Position("B", qty=D("-2"), avg_price=D("100"))
    assert long.unrealised(D("90")) == D("-20")
    assert short.unrealised(D("90")) == D("20")
    assert short.notional(D("90")) == D("-180")
    assert long.net_pnl(D("110")) == D("24")


@pytest.mark.parametrize(("qty", "price"), [("0", "100"), ("-1", "100"), ("1", "0")])
def test_position_refuses_nonsense_fills(qty: str, price: str) -> None:
    with pytest.raises(InvalidInput):
        Position("A").apply_fill(Side.BUY, D(qty), D(price), D("0"))


def test_portfolio_round_trip_moves_cash_by_pnl_less_fees() -> None:
    pf = Portfolio(cash=D("1000"))
    assert pf.apply_fill(make_fill(Side.BUY, "2", "100", "0.2")) == 0
    assert pf.cash == D("799.8")
    assert pf.equity({"BTC/USDT": D("110")}) == D("1019.8")
    assert pf.exposure({"BTC/USDT": D("110")}) == D("220")
    assert pf.apply_fill(make_fill(Side.SELL, "2", "110", "0.22")) == D("20")
    assert pf.cash == D("1019.58")
    assert pf.pnl({}) == PnL(realised=D("20"), unrealised=D("0"), fees=D("0.42"))
    assert pf.pnl({}).net == pf.cash - D("1000")


def test_exposure_is_gross_and_equity_is_net() -> None:
    pf = Portfolio(cash=D("1000"))
    pf.apply_fill(make_fill(Side.BUY, "1", "100", symbol="A"))
    pf.apply_fill(make_fill(Side.SELL, "2", "50", symbol="B"))
    marks = {"A": D("110"), "B": D("40")}
    assert pf.cash == D("1000")
    assert pf.exposure(marks) == D("190")
    assert pf.equity(marks) == D("1030")


def test_missing_mark_for_open_position_raises() -> None:
    pf = Portfolio(cash=D("0"))
    pf.apply_fill(make_fill(Side.BUY, "1", "100", symbol="A"))
    with pytest.raises(InvalidInput, match="A"):
        pf.equity({})


def test_pnl_of_sums_positions() -> None:
    positions = [
        Position("A", qty=D("1"), avg_price=D("100"), realised_pnl=D("3"), fees=D("0.5")),
        Position("B", qty=D("0"), realised_pnl=D("-1"), fees=D("0.25")),
    ]
    pnl = pnl_of(positions, {"A": D("104")})
    assert pnl == PnL(realised=D("2"), unrealised=D("4"), fees=D("0.75"))
    assert pnl.net == D("5.25")


@pytest.mark.parametrize(
    ("equity", "peak", "expected"),
    [("90", "100", "0.1"), ("100", "100", "0"), ("120", "100", "0"), ("-5", "0", "0"), ("75", "300", "0.75")],
)
def test_drawdown_fraction(equity: str, peak: str, expected: str) -> None:
    assert drawdown(D(equity), D(peak)) == D(expected)
