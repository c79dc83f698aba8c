"""The backtester's paper-venue fill model (``fill="close"``, ``price_step``): targets fill at the
bar's close, exits rest from the next bar through the exit bar, a take-profit fills at its price,
and every fill and level sits on the venue's price step, against the trader."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trading.test_backtest import make_bars, only, run
from trading.backtest import BacktestConfig, BacktestResult, Bars
from trading.errors import InvalidInput

# The moves the paper venue's trigger tests use: a rally to 106, a fall to 97, a gap down to 90.
OPENS = [100, 100, 101, 105, 102, 90, 91]
HIGHS = [101, 102, 106, 105, 103, 92, 96]
LOWS = [99, 99, 100, 101, 97, 89, 90]
CLOSES = [100, 101, 105, 102, 98, 91, 95]


def moves() -> Bars:
    return make_bars(OPENS, CLOSES, HIGHS, LOWS)


def paper(targets: str, **cfg: Any) -> BacktestResult:
    fields: dict[str, Any] = {"fill": "close", "price_step": 0.01, "units": "whole"}
    return run(moves(), targets, **(fields | cfg))


def test_a_target_fills_at_its_own_bars_close_with_slippage_on_the_price_step() -> None:
    t = only(paper(".L.F...", slippage_bps=5))
    assert (t.entry_ts, t.exit_ts) == (moves().ts[1], moves().ts[3])
    assert t.entry_price == pytest.approx(101.06)  # 101 plus 5 bp is 101.0505: a buy rounds up
    assert t.exit_price == pytest.approx(101.94)  # 102 less 5 bp is 101.949: a sell rounds down
    assert t.exit_reason == "signal"
    assert only(run(moves(), ".L.F...", slippage_bps=5)).entry_price == pytest.approx(
        101 * 1.0005
    )  # next open


def test_a_target_on_the_first_bar_fills_at_its_close() -> None:
    t = only(paper("LF....."))
    assert (t.entry_ts, t.entry_price, t.exit_price) == (moves().ts[0], 100.0, 101.0)


def test_a_stop_rests_from_the_next_bar_and_fills_at_its_level_or_at_a_gapped_open() -> None:
    stop = only(paper("..L....", stop_loss=0.05, close_at_end=False))
    assert (stop.exit_ts, stop.exit_price, stop.exit_reason) == (moves().ts[4], 99.75, "stop_loss")
    gap = only(paper("..L....", stop_loss=0.08, close_at_end=False))  # 96.60: bar 5 opened at 90
    assert (gap.exit_ts, gap.exit_price, gap.exit_reason) == (moves().ts[5], 90.0, "stop_loss")


def test_the_exit_bars_range_comes_before_its_close() -> None:
    # the signal leaves at bar 4's close, but its low of 97 went through the 97.97 stop first
    t = only(paper(".L..F..", stop_loss=0.03))
    assert (t.exit_ts, t.exit_price, t.exit_reason) == (moves().ts[4], 97.97, "stop_loss")
    signal = only(paper(".L..F..", stop_loss=0.04))  # 96.96: not touched, the signal exits
    assert (signal.exit_price, signal.exit_reason) == (98.0, "signal")


def test_a_take_profit_is_a_limit_order_filling_at_its_price_with_no_slippage() -> None:
    t = only(paper("L......", take_profit=0.04, slippage_bps=5, close_at_end=False))
    assert t.entry_price == pytest.approx(100.05)
    assert (t.exit_ts, t.exit_reason) == (moves().ts[2], "take_profit")
    assert t.exit_price == pytest.approx(104.06)  # 100.05 plus 4 % is 104.052: a sell's level rounds up


def test_a_trailing_stop_trails_on_the_price_step_and_fills_like_a_stop() -> None:
    t = only(paper("L......", trailing=0.04, slippage_bps=5, close_at_end=False))
    # best 106 after bar 2: 101.76 for bar 3, whose low of 101 goes through it; sold 5 bp lower
    assert (t.exit_ts, t.exit_reason) == (moves().ts[3], "trailing_stop")
    assert t.exit_price == pytest.approx(101.70)


def test_a_fill_model_it_does_not_know_is_refused() -> None:
    with pytest.raises(InvalidInput, match="fill must be 'next_open' or 'close'"):
        BacktestConfig(fill="midpoint")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="price_step must be positive"):
        BacktestConfig(price_step=0.0)
