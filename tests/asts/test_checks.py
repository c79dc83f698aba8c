"""The look-ahead and recursion checks refuse leaking strategies, naming the bar and the difference."""

from __future__ import annotations

import numpy as np
import pytest

from asts.builtin.agent import Agent
from asts.builtin.rsi_reversion import RsiReversion
from asts.builtin.sma_cross import SmaCross
from asts.checks import CheckFailure, check_series, run_checks
from asts.strategy import Strategy
from tests.asts import leaky
from trading.errors import InvalidInput


@pytest.mark.parametrize("strategy", [SmaCross, RsiReversion, Agent])
def test_the_built_in_strategies_pass_both_checks(strategy: type[Strategy]) -> None:
    assert run_checks(strategy) is None


def test_a_strategy_that_peeks_one_bar_ahead_is_refused_at_the_first_bar_it_decides() -> None:
    found = run_checks(leaky.PeeksOneBarAhead)
    assert isinstance(found, CheckFailure)
    assert found.check == "look-ahead"
    assert found.bar == 1  # its first decision (warm-up 2) is already on the next bar's close
    assert "on the bars up to bar 1" in str(found) and "strength differs by 1" in str(found)


def test_a_strategy_normalising_by_the_whole_series_mean_is_refused_with_the_indicator_difference() -> None:
    found = run_checks(leaky.NormalisesByTheWholeSeries)
    assert isinstance(found, CheckFailure) and found.check == "look-ahead"
    assert "indicator 'z'" in found.detail  # by how much: the whole series' value against the prefix's


def test_a_too_short_warm_up_fails_the_recursion_check_where_the_slow_sma_first_exists() -> None:
    found = run_checks(leaky.TooShortWarmup)
    assert isinstance(found, CheckFailure) and found.check == "recursion"
    assert found.bar == 29  # the first bar the 30-bar SMA has on the whole series
    assert "warm-up window of 5 bars" in str(found)


def test_an_ema_remembering_bars_before_its_warm_up_fails_the_recursion_check() -> None:
    found = run_checks(leaky.EmaFromTheStart)
    assert isinstance(found, CheckFailure) and found.check == "recursion"
    assert "indicator 'fast_ema'" in found.detail


def test_a_strategy_answering_differently_to_the_same_bars_is_refused() -> None:
    found = run_checks(leaky.Remembers)
    assert isinstance(found, CheckFailure) and "when asked again" in str(found)


def test_the_bundled_series_is_the_same_on_every_run_and_trends_both_ways() -> None:
    a, b = check_series(), check_series()
    assert (a.close == b.close).all() and len(a) == 2_400
    first = float(a.close[0])
    assert float(a.close.max()) > 1.2 * first and float(a.close.min()) < first / 1.2  # up and down runs


def test_the_checks_report_their_progress_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    assert run_checks(SmaCross, progress=lambda done, total: seen.append((done, total))) is None
    assert seen[-1][0] == seen[-1][1] > 0


def test_the_sdk_indicators_read_only_their_bar_and_earlier_ones() -> None:
    from asts import indicators as ind

    x = [1.0, 3.0, 2.0, 5.0, 4.0]
    assert ind.rolling_max(x, 2)[1:].tolist() == [3.0, 3.0, 5.0, 5.0]
    assert ind.rolling_min(x, 3)[2:].tolist() == [1.0, 2.0, 2.0]
    assert ind.rolling_std([2.0, 2.0, 4.0], 2)[1:].tolist() == [0.0, 1.0]
    assert ind.shift(x, 2)[2:].tolist() == [1.0, 3.0, 2.0]
    assert np.isnan(ind.shift(x, 9)).all()
    e = ind.ema([1.0, 1.0, 4.0], 2)  # seeded with the mean of the first two, then alpha 2/3
    assert e[1] == 1.0 and e[2] == pytest.approx(3.0)
    assert ind.ema([1.0], 3).size == 1 and ind.rolling_max([1.0], 3).size == 1
    a, b = [1.0, 2.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0]
    assert ind.crossed_above(a, b).tolist() == [False, False, True, False]
    assert ind.crossed_below(a, b).tolist() == [False, False, False, True]
    for bad in (lambda: ind.shift(x, -1), lambda: ind.sma(x, 0), lambda: ind.rolling_max(x, True)):
        with pytest.raises(InvalidInput):
            bad()


def test_the_sdk_sma_skips_windows_with_a_gap_and_recovers_after_it() -> None:
    from asts import indicators as ind
    from trading.indicators import sma as engine_sma

    x = np.arange(1.0, 21.0)
    assert np.array_equal(ind.sma(x, 4), engine_sma(x, 4), equal_nan=True)  # bit for bit without gaps
    y = x.copy()
    y[:3] = np.nan
    y[10] = np.nan
    got = ind.sma(y, 2)
    assert np.isnan(got[:4]).all() and got[4] == 4.5 and np.isnan(got[10:12]).all() and got[12] == 12.5
