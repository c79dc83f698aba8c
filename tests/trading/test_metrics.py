"""Backtest metrics on tiny hand-computed equity curves and trade lists."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from trading.backtest import BacktestConfig, Bars, ExitReason, Trade
from trading.errors import InvalidInput
from trading.metrics import Metrics, compute_metrics, drawdowns, ratio

DAY = 86_400 * 10**9


def make_bars(closes: list[float]) -> Bars:
    c = np.array(closes, dtype=np.float64)
    return Bars(np.arange(c.size, dtype=np.int64) * DAY, c, c, c, c, np.ones(c.size))


def metrics(
    equity: list[float], trades: list[Trade] | None = None, closes: list[float] | None = None, **cfg: Any
) -> Metrics:
    bars = make_bars(closes if closes is not None else [10.0] * len(equity))
    return compute_metrics(
        equity, trades or [], bars, BacktestConfig(**({"cash": 100.0, "bars_per_year": 3.0} | cfg))
    )


def make_trade(
    entry: int, exit_: int | None, pnl: float, reason: ExitReason = "signal", commission: float = 0.0
) -> Trade:
    return Trade(
        entry * DAY,
        None if exit_ is None else exit_ * DAY,
        "long",
        1.0,
        10.0,
        None if exit_ is None else 10.0,
        pnl,
        commission,
        reason,
    )


def test_returns_risk_and_ratios_by_hand() -> None:
    # returns +10%, -10%, +2/9 (99 -> 121); one year of 3 bars
    m = metrics([110.0, 99.0, 121.0])
    mean = (0.1 - 0.1 + 2 / 9) / 3
    sd = math.sqrt(((0.1 - mean) ** 2 + (-0.1 - mean) ** 2 + (2 / 9 - mean) ** 2) / 2)
    assert (m.final_equity, m.total_return, m.annual_return) == (
        121.0,
        pytest.approx(0.21),
        pytest.approx(0.21),
    )
    assert m.annual_volatility == pytest.approx(sd * math.sqrt(3))
    assert m.annual_volatility == pytest.approx(0.281749, abs=1e-6)
    assert m.sharpe == pytest.approx(mean * 3 / (sd * math.sqrt(3)))
    # downside deviation sqrt(0.01 / 3) per bar, 0.1 a year; mean 2/9 a year
    assert m.sortino == pytest.approx((2 / 9) / 0.1)
    assert (m.max_drawdown, m.max_drawdown_duration) == (pytest.approx(0.1), 1)
    assert m.calmar == pytest.approx(0.21 / 0.1)


def test_annual_return_compounds_over_the_years() -> None:
    m = metrics([100.0, 105.0, 110.0, 112.0, 115.0, 121.0])  # 6 bars at 3 a year: 2 years
    assert m.annual_return == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("equity", "depth", "bars"),
    [
        ([100.0, 90.0, 95.0, 100.0, 80.0, 101.0], 0.2, 2),  # two bars below, later one deeper bar
        ([100.0, 120.0, 90.0, 95.0], 0.25, 2),  # still under water at the end
        ([90.0, 95.0, 99.0], 0.1, 3),  # the starting cash is the first peak
        ([100.0, 100.0, 101.0], 0.0, 0),
    ],
)
def test_drawdown_depth_and_duration(equity: list[float], depth: float, bars: int) -> None:
    assert drawdowns(np.array(equity), 100.0) == (pytest.approx(depth), bars)


def test_trade_statistics_and_exposure() -> None:
    trades = [
        make_trade(0, 2, 30.0, "signal", 1.0),  # filled at bar 2's open: bars 0, 1
        make_trade(2, 3, -10.0, "stop_loss", 1.0),  # stopped within bar 3: bars 2, 3
        make_trade(5, None, 5.0, "open", 0.5),  # open: bars 5, 6, 7
    ]
    m = metrics([100.0] * 8, trades, closes=[10, 11, 12, 13, 14, 15, 16, 12.5])
    assert (m.trades, m.win_rate, m.profit_factor) == (3, 0.5, pytest.approx(3.0))  # open trade not counted
    assert m.exposure == pytest.approx(7 / 8)
    assert m.commissions == pytest.approx(2.5)
    assert m.buy_and_hold_return == pytest.approx(0.25)


def test_end_exit_holds_its_last_bar() -> None:
    m = metrics([100.0] * 4, [make_trade(2, 3, 1.0, "end")])
    assert m.exposure == pytest.approx(2 / 4)


def test_flat_equity_has_no_ratios() -> None:
    m = metrics([100.0, 100.0, 100.0])
    assert (m.annual_volatility, m.sharpe, m.sortino, m.calmar, m.max_drawdown) == (0, 0, 0, 0, 0)
    assert (m.trades, m.win_rate, m.profit_factor, m.exposure, m.total_return) == (0, 0, 0, 0, 0)


def test_no_downside_no_drawdown_no_losing_trade_is_infinite() -> None:
    m = metrics([101.0, 102.0, 103.0], [make_trade(0, 1, 2.0)])
    assert math.isfinite(m.sharpe) and m.sharpe > 0
    assert (m.sortino, m.calmar, m.profit_factor, m.win_rate) == (math.inf, math.inf, math.inf, 1.0)


def test_single_bar() -> None:
    m = metrics([100.0])
    assert (m.annual_volatility, m.sharpe, m.max_drawdown_duration) == (0.0, 0.0, 0)


def test_equity_gone_below_zero() -> None:
    m = metrics([50.0, -10.0, -10.0, -10.0])
    assert m.annual_return == -1.0 and m.total_return == pytest.approx(-1.1)
    assert m.max_drawdown == pytest.approx(1.1) and m.calmar == pytest.approx(-1 / 1.1)
    assert not any(math.isnan(v) for v in vars(m).values())


def test_ratio_rule() -> None:
    assert (ratio(1.0, 2.0), ratio(1.0, 0.0), ratio(0.0, 0.0), ratio(-1.0, 0.0)) == (0.5, math.inf, 0.0, 0.0)


def test_refuses_mismatched_inputs() -> None:
    with pytest.raises(InvalidInput, match="one value per bar"):
        metrics([100.0, 101.0], closes=[10.0, 10.0, 10.0])
    with pytest.raises(InvalidInput, match="finite"):
        metrics([100.0, float("nan")])
    with pytest.raises(InvalidInput, match="entry time"):
        metrics([100.0, 100.0], [Trade(DAY // 2, None, "long", 1.0, 1.0, None, 0.0, 0.0, "open")])
    with pytest.raises(InvalidInput, match="exit time"):
        metrics([100.0, 100.0], [make_trade(0, 7, 1.0)])
