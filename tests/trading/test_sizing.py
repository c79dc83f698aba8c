"""Sizing: each mode, the venue's step and minimums, the cash a commission leaves, the live
target rules, and the backtester sizing every entry exactly as the live risk step does."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from asts.engine import backtest
from asts.registry import current
from trading.backtest import BacktestConfig, Bars, run_backtest
from trading.errors import InvalidInput
from trading.models import Market, Side, Target, wanted
from trading.portfolio import Position
from trading.sizing import (
    EquityFraction,
    FixedNotional,
    FixedQty,
    RiskPerTrade,
    Sized,
    Sizing,
    check_tradable,
    choose_sizing,
    default_sizing,
    free_cash,
    order_for_target,
    round_step,
    size_entry,
    strategy_sizing,
)

DAY = 86_400 * 10**9
PLENTY = D(10**9)


def make_market(**overrides: Any) -> Market:
    fields: dict[str, Any] = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "min_qty": D("0.01"),
        "qty_step": D("0.001"),
        "price_step": D("0.01"),
    }
    return Market(**(fields | overrides))


EURUSD = make_market(symbol="EUR/USD", min_qty=D(1000), qty_step=D(1), min_notional=D(10))
SMA = current().get("sma_cross")


def order(target: Target, held: str, sizing: Sizing, market: Market | None = None, **kw: Any) -> Sized:
    """``order_for_target`` with ample cash at a price of 1 unless told otherwise."""
    facts = {"equity": PLENTY, "cash": PLENTY, "price": D(1)} | kw
    return order_for_target(target, D(held), sizing, market or make_market(), **facts)


def qty(q: str) -> FixedQty:
    return FixedQty(qty=D(q))


# The four modes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sizing", "expected"),
    [
        (FixedQty(qty=D(7)), "7"),
        (FixedNotional(notional=D(1000)), "40"),  # 1000 / 25
        (EquityFraction(fraction=D("0.5")), "100"),  # 0.5 x 5000 / 25
        (RiskPerTrade(risk=D("0.01"), stop=D("0.02")), "100"),  # loses 50 = 1% of 5000 at 2% below 25
        (FixedNotional(notional=D(1010), units="whole"), "40"),  # 40.4 -> whole units
        (FixedNotional(notional=D(1010)), "40.4"),  # the venue's step, 0.1
    ],
)
def test_each_mode_sizes_an_entry(sizing: Sizing, expected: str) -> None:
    got = size_entry(sizing, equity=D(5000), cash=D(5000), price=D(25), step=D("0.1"))
    assert got == Sized(D(expected))


def test_quantities_round_down_to_the_venues_step() -> None:
    got = size_entry(FixedQty(qty=D("0.12345")), equity=PLENTY, cash=PLENTY, price=D(1), step=D("0.001"))
    assert got.qty == D("0.123")
    whole = size_entry(FixedQty(qty=D("0.9"), units="whole"), equity=PLENTY, cash=PLENTY, price=D(1))
    assert whole.qty == 0 and whole.reason == "sized 0.9, under one step (1)"


@pytest.mark.parametrize(
    ("x", "step", "expected"),
    [("1.2345", "0.01", "1.23"), ("1.7", "0.5", "1.5"), ("3", "1", "3"), ("0.0099", "0.01", "0")],
)
def test_round_step_rounds_down(x: str, step: str, expected: str) -> None:
    assert round_step(D(x), D(step)) == D(expected)


def test_steps_and_sizes_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        round_step(D("1"), D("0"))
    with pytest.raises(InvalidInput, match="step must be positive"):
        size_entry(qty("1"), equity=PLENTY, cash=PLENTY, price=D(1), step=D(0))
    with pytest.raises(InvalidInput, match="price must be positive"):
        size_entry(qty("1"), equity=PLENTY, cash=PLENTY, price=D(0))
    with pytest.raises(ValidationError, match="greater than 0"):
        FixedQty(qty=D(0))
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        EquityFraction(fraction=D("1.5"))
    with pytest.raises(ValidationError, match="less than 1"):
        RiskPerTrade(risk=D("0.01"), stop=D(1))


# Minimums and cash ---------------------------------------------------------------------------


def test_a_quantity_under_the_venue_minimum_is_no_order_and_says_why() -> None:
    got = size_entry(
        FixedQty(qty=D(1)), equity=D(100_000), cash=D(100_000), price=D("1.2"), step=D(1), min_qty=D(1000)
    )
    assert got == Sized(D(0), "under the venue minimum 1000 (sized 1)")


def test_a_value_under_the_venue_minimum_notional_is_no_order_and_says_why() -> None:
    got = size_entry(qty("3"), equity=PLENTY, cash=PLENTY, price=D(2), step=D(1), min_notional=D(10))
    assert got == Sized(D(0), "under the venue minimum notional 10 (sized 3 at 2: 6)")
    assert size_entry(qty("5"), equity=PLENTY, cash=PLENTY, price=D(2), min_notional=D(10)).qty == 5


def test_no_cash_or_no_equity_is_no_order_and_says_why() -> None:
    assert size_entry(qty("1"), equity=D(10), cash=D(0), price=D(1)) == Sized(D(0), "no cash")
    half = EquityFraction(fraction=D("0.5"))
    assert size_entry(half, equity=D(-5), cash=D(10), price=D(1)) == Sized(D(0), "no equity")
    poor = size_entry(qty("5"), equity=D(10), cash=D("0.5"), price=D(1), step=D(1))
    assert poor == Sized(D(0), "the cash held (0.5) buys less than one step (1)")


def test_the_default_spends_all_the_cash_and_no_more_once_commission_is_paid() -> None:
    sizing = default_sizing()
    assert sizing == EquityFraction(fraction=D(1))
    got = size_entry(
        sizing, equity=D(1000), cash=D(1000), price=D(20), commission=D("0.01"), step=D("0.0001")
    )
    assert got.qty == D("49.5049")  # 1000 / (20 x 1.01), rounded down; 50 would cost 1010
    rng = np.random.default_rng(7)
    for _ in range(2000):
        cash, price = D(int(rng.integers(1, 10**8))) / 100, D(int(rng.integers(1, 10**8))) / 10**4
        fee = D(int(rng.integers(0, 200))) / 10**4
        step = D(10) ** int(rng.integers(-6, 2))
        got = size_entry(sizing, equity=cash, cash=cash, price=price, commission=fee, step=step)
        assert got.qty * price * (1 + fee) <= cash
        assert (got.qty + step) * price * (1 + fee) > cash  # and one more step would be too much


def test_a_fixed_quantity_is_capped_by_the_cash_it_has() -> None:
    got = size_entry(qty("10"), equity=D(1000), cash=D(1000), price=D(300), step=D(1))
    assert got.qty == 3


def test_a_strategys_cash_is_its_capital_less_what_its_positions_cost() -> None:
    long = Position("A/USD", qty=D(2), avg_price=D(100), realised_pnl=D(50), fees=D(1))
    short = Position("B/USD", qty=D(-1), avg_price=D(30))
    assert free_cash(D(1000), [long, short]) == D(1000) + 50 - 1 - 200 + 30


# Targets, live -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "position", "size", "expected"),
    [
        (Target.LONG, "0", "0.12345", (Side.BUY, D("0.123"))),
        (Target.LONG, "0.05", "0.2", (Side.BUY, D("0.15"))),
        (Target.LONG, "0.3", "0.1", (Side.SELL, D("0.2"))),
        (Target.LONG, "-0.1", "0.1", (Side.BUY, D("0.2"))),
        (Target.FLAT, "0.5", "1", (Side.SELL, D("0.5"))),
        (Target.FLAT, "-0.3", "1", (Side.BUY, D("0.3"))),
        (Target.LONG, "0.09", "0.1", (Side.BUY, D("0.01"))),  # exactly min_qty
    ],
)
def test_orders_that_reach_the_target(
    target: Target, position: str, size: str, expected: tuple[Side, D]
) -> None:
    got = order(target, position, qty(size))
    assert (got.side, got.qty) == expected


@pytest.mark.parametrize(
    ("target", "position", "size"),
    [
        (Target.HOLD, "0", "1"),
        (Target.HOLD, "5", "1"),
        (Target.LONG, "1", "1"),
        (Target.FLAT, "0", "1"),
        (Target.LONG, "0.095", "0.1"),  # 0.005 to buy is under min_qty 0.01
        (Target.FLAT, "0.0009", "1"),  # rounds down to 0
    ],
)
def test_no_order_when_nothing_tradable_is_needed(target: Target, position: str, size: str) -> None:
    assert order(target, position, qty(size)).qty == 0


def test_a_size_suggestion_scales_a_long_and_never_trims_one() -> None:
    m = Market("X/USD", "X", "USD", min_qty=D("0.1"), qty_step=D("0.1"), price_step=D("0.01"))
    assert order(Target.LONG, "0", qty("10"), m, fraction=0.25) == Sized(D("2.5"))
    assert order(Target.LONG, "3", qty("10"), m, fraction=0.25).qty == 0
    assert order(Target.LONG, "3", qty("10"), m, fraction=0.5) == Sized(D("2.0"))
    assert order(Target.FLAT, "3", qty("10"), m, fraction=0.5) == Sized(D("3.0"), side=Side.SELL)
    with pytest.raises(InvalidInput):
        order(Target.LONG, "0", qty("10"), m, fraction=1.5)


def test_a_position_sized_from_money_is_sized_once_when_it_opens() -> None:
    half = EquityFraction(fraction=D("0.5"))
    assert order(Target.LONG, "0", half, equity=D(1000), cash=D(1000), price=D(10)) == Sized(D(50))
    assert order(Target.LONG, "50", half, equity=D(2000), cash=D(1500), price=D(10)).qty == 0
    flat = order(Target.FLAT, "50", half, equity=D(2000), cash=D(1500), price=D(10))
    assert (flat.side, flat.qty) == (Side.SELL, D(50))


def test_an_entry_under_the_minimum_says_why_and_an_exit_of_dust_does_not() -> None:
    got = order(Target.LONG, "0", qty("1"), EURUSD, price=D("1.1"))
    assert got == Sized(D(0), "under the venue minimum 1000 (sized 1)")
    assert order(Target.FLAT, "5", qty("1"), EURUSD) == Sized(D(0))


# Refused at start ----------------------------------------------------------------------------


def test_a_size_that_can_never_trade_on_its_symbol_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput) as e:
        check_tradable(strategy_sizing(SMA.size_of({})), EURUSD, price=D("1.17"), capital=D(100_000))
    assert str(e.value) == (
        "EUR/USD: a fixed quantity of 1 cannot be traded at 1.17 with a capital of 100000: "
        "under the venue minimum 1000 (sized 1)"
    )
    check_tradable(FixedQty(qty=D(1000)), EURUSD, price=D("1.17"), capital=D(100_000))  # tradable
    check_tradable(EquityFraction(fraction=D("0.1")), EURUSD, price=D("1.17"), capital=D(100_000))


# Whose sizing --------------------------------------------------------------------------------


def test_a_strategys_own_sizing_is_its_config_then_its_size_then_the_default() -> None:
    notional = FixedNotional(notional=D(500))
    assert strategy_sizing(SMA.size_of({"size": "2.5"}), notional) == notional
    assert strategy_sizing(SMA.size_of({"size": "2.5"})) == FixedQty(qty=D("2.5"))
    assert strategy_sizing(SMA.size_of({})) == FixedQty(qty=D(1))  # the size parameter's default


def test_a_backtest_sizes_as_asked_else_as_the_strategy_else_with_all_its_equity() -> None:
    risk = RiskPerTrade(risk=D("0.01"), stop=D("0.05"))
    assert choose_sizing(D(10), given=risk, fraction=0.5) == risk
    assert choose_sizing(D(10), fraction=0.5) == EquityFraction(fraction=D("0.5"))
    assert choose_sizing(D(10), units="whole") == FixedQty(qty=D(10), units="whole")
    assert choose_sizing(SMA.size_of({"fast": 5}, named_only=True)) == default_sizing()
    assert SMA.size_of({"fast": 5}) == D(1)  # the default size, when not asked for one named
    with pytest.raises(InvalidInput, match="size"):
        SMA.size_of({"size": -1})


# Backtests -----------------------------------------------------------------------------------


def flat_bars(price: float, n: int = 3) -> Bars:
    p = np.full(n, price)
    return Bars(np.arange(n, dtype=np.int64) * DAY, p, p, p, p, np.ones(n))


def wave_bars(n: int = 300) -> Bars:
    close = 100 + 10 * np.sin(np.arange(n) / 6)
    open_ = np.concatenate(([100.0], close[:-1]))
    return Bars(
        np.arange(n, dtype=np.int64) * DAY,
        open_,
        np.maximum(open_, close) + 1,
        np.minimum(open_, close) - 1,
        close,
        np.ones(n),
    )


def test_a_backtest_of_a_strategy_with_a_size_holds_that_size() -> None:
    params = {"fast": 5, "slow": 20, "size": 10}
    cfg = BacktestConfig(cash=10_000.0, sizing=choose_sizing(SMA.size_of(params, named_only=True)))
    result = backtest(SMA, wave_bars(), params, cfg)
    assert len(result.trades) > 3 and {t.size for t in result.trades} == {10.0}
    assert "a fixed quantity of 10" in result.conventions


def test_a_backtest_respects_the_venues_step_and_minimums() -> None:
    targets = np.array([1, 2, 2], dtype=np.int8)
    cfg = BacktestConfig(cash=1000.0, sizing=FixedNotional(notional=D(555)), qty_step=0.5, min_qty=1.0)
    assert [t.size for t in run_backtest(flat_bars(10.0), targets, cfg).trades] == [55.5]
    under = BacktestConfig(cash=1000.0, sizing=FixedNotional(notional=D(5)), qty_step=0.5, min_qty=1.0)
    assert run_backtest(flat_bars(10.0), targets, under).trades == []
    small = BacktestConfig(cash=1000.0, sizing=qty("3"), min_notional=50.0)
    assert run_backtest(flat_bars(10.0), targets, small).trades == []


def test_a_backtest_config_refuses_what_is_not_a_sizing() -> None:
    with pytest.raises(InvalidInput, match="sizing must be one of FixedQty"):
        BacktestConfig(sizing={"mode": "fixed_qty", "qty": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="qty_step must be positive"):
        BacktestConfig(qty_step=0.0)


# The backtester and the live risk step agree --------------------------------------------------

UNITS = st.sampled_from(["whole", "fractional"])
TEN_THOUSANDTHS = st.integers(1, 9999).map(lambda n: D(n) / 10**4)
SIZINGS = st.one_of(
    st.builds(FixedQty, qty=st.integers(1, 10**8).map(lambda n: D(n) / 1000), units=UNITS),
    st.builds(FixedNotional, notional=st.integers(1, 10**9).map(lambda n: D(n) / 100), units=UNITS),
    st.builds(EquityFraction, fraction=st.integers(1, 10**4).map(lambda n: D(n) / 10**4), units=UNITS),
    st.builds(RiskPerTrade, risk=TEN_THOUSANDTHS, stop=TEN_THOUSANDTHS, units=UNITS),
)
STEPS = st.sampled_from(["0.0001", "0.001", "0.01", "0.1", "1", "10", "1000"]).map(D)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizing=SIZINGS,
    price=st.integers(1, 5 * 10**8).map(lambda n: D(n) / 10**4),
    step=STEPS,
    min_qty=st.one_of(st.just(D(0)), st.integers(1, 10**6).map(lambda n: D(n) / 1000)),
    min_notional=st.one_of(st.just(D(0)), st.integers(1, 1000).map(D)),
    fee=st.integers(0, 100).map(lambda n: D(n) / 10**4),
    data=st.data(),
)
def test_the_backtester_sizes_an_entry_as_the_live_risk_step_does(
    sizing: Sizing, price: D, step: D, min_qty: D, min_notional: D, fee: D, data: st.DataObject
) -> None:
    # At most a million steps' worth of cash: beyond, float quantities carry noise of a step's 1e-9.
    most = max(1, min(10**9, int(price * step * 10**8)))
    equity = D(data.draw(st.integers(1, most), label="equity in cents")) / 100
    market = make_market(qty_step=step, min_qty=min_qty, min_notional=min_notional)
    live = order_for_target(
        Target.LONG, D(0), sizing, market, equity=equity, cash=equity, price=price, commission=fee
    )
    cfg = BacktestConfig(
        cash=float(equity),
        commission=float(fee),
        sizing=sizing,
        qty_step=float(step),
        min_qty=float(min_qty),
        min_notional=float(min_notional),
        close_at_end=False,
    )
    trades = run_backtest(flat_bars(float(price)), np.array([1, 2, 2], dtype=np.int8), cfg).trades
    if live.qty == 0:
        assert trades == [], live.reason
        assert live.reason  # something was wanted: the reason says why nothing is traded
    else:
        assert live.side is Side.BUY and live.qty * price * (1 + fee) <= equity
        [trade] = trades
        assert trade.size == pytest.approx(float(live.qty), rel=1e-12)


# Shorts (a long_short strategy's FLAT) ---------------------------------------------------------


def test_flat_means_short_only_to_a_long_short_strategy() -> None:
    assert wanted(Target.FLAT, "long_short") is Target.SHORT
    assert wanted(Target.FLAT, "long") is Target.FLAT
    assert wanted(Target.LONG, "long_short") is Target.LONG
    assert wanted(Target.HOLD, "long_short") is Target.HOLD


@pytest.mark.parametrize(
    ("held", "expected_qty", "expected_side"),
    [
        ("0", "10", Side.SELL),  # opens the short
        ("-4", "6", Side.SELL),  # a fixed quantity tops the short up
        ("-10", "0", Side.SELL),  # already there
        ("-12", "2", Side.BUY),  # and trims it back
        ("10", "20", Side.SELL),  # a reversal: closes the long and opens the short in one order
    ],
)
def test_a_short_target_sizes_a_fixed_quantity_like_a_long_one(
    held: str, expected_qty: str, expected_side: Side
) -> None:
    got = order(Target.SHORT, held, qty("10"))
    assert got.qty == D(expected_qty)
    if got.qty:
        assert got.side is expected_side


def test_a_long_target_reverses_a_short_in_one_buy() -> None:
    got = order(Target.LONG, "-3", qty("10"))
    assert (got.qty, got.side) == (D(13), Side.BUY)


def test_a_short_sized_from_money_is_sized_once_and_from_the_cash_a_reversal_leaves() -> None:
    frac = EquityFraction(fraction=D("0.5"))
    assert order(Target.SHORT, "0", frac, equity=D(1000), cash=D(1000), price=D(10)).qty == D(50)
    assert order(Target.SHORT, "-50", frac, equity=D(1000), cash=D(1500), price=D(10)).qty == 0
    # long 100 bought with all the cash: the close frees 1000, which then sizes the short
    flip = order(Target.SHORT, "100", FixedNotional(notional=D(400)), equity=D(1000), cash=D(0), price=D(10))
    assert (flip.qty, flip.side) == (D(140), Side.SELL)
    # with no cash left after the close, the reversal only closes, and says why it did not enter
    broke = order(Target.SHORT, "100", qty("10"), equity=D(0), cash=D(-1000), price=D(10))
    assert (broke.qty, broke.side, broke.reason) == (D(100), Side.SELL, "no cash")


def test_flat_buys_a_short_back() -> None:
    got = order(Target.FLAT, "-7", qty("10"))
    assert (got.qty, got.side) == (D(7), Side.BUY)
