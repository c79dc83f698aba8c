"""The built-in strategies on the SDK: their rules, reasons, params, and live = backtest on real data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from asts import Bars, BarSignal
from asts.builtin.agent import Agent
from asts.builtin.rsi_reversion import RsiReversion, RsiReversionParams
from asts.builtin.sma_cross import SmaCross, SmaCrossParams, grid
from asts.engine import backtest, targets_of
from asts.strategy import Strategy
from exchanges.data import DATA_DIR, load_candles
from trading.backtest import BacktestConfig
from trading.errors import InvalidInput
from trading.models import Target
from trading.rules import CODE_FLAT, CODE_HOLD, CODE_LONG, CODE_TARGETS, rsi_reversion_codes, sma_cross_codes


def latest(strategy: type[Strategy], values: list[float], **raw: Any) -> BarSignal:
    return strategy.latest(Bars.from_arrays(close=values), strategy.parse_params(raw))


def sma(values: list[float], **raw: Any) -> BarSignal:
    return latest(SmaCross, values, **({"fast": 2, "slow": 4} | raw))


def test_sma_cross_up_on_the_last_bar_goes_long_and_says_so() -> None:
    sig = sma([10, 9, 8, 7, 6, 5, 20])  # fast (5+20)/2 = 12.5 over slow (7+6+5+20)/4 = 9.5
    assert sig.target is Target.LONG and sig.reason == "fast SMA 12.5 crossed above slow SMA 9.5"
    assert sig.indicators["fast_sma"] == 12.5 and sig.indicators["slow_sma"] == 9.5


def test_sma_still_above_reports_the_bars_since_the_cross() -> None:
    assert sma([10, 9, 8, 7, 6, 5, 20, 21, 22]).reason == "fast SMA 21.5 above slow SMA 17 since 3 bars"
    assert sma([1, 2, 3, 4, 5, 6]).reason.endswith("since at least 3 bars")


def test_sma_cross_down_goes_flat_equal_smas_hold_and_the_warm_up_holds() -> None:
    assert sma([1, 2, 3, 4, 5, 6, 0.5]).target is Target.FLAT
    assert sma([0.7] * 6).target is Target.HOLD  # no float-noise signal
    sig = sma([1, 2, 3])
    assert (sig.target, sig.strength, sig.reason) == (Target.HOLD, 0.0, "warming up: have 3 of 4 bars")


def test_sma_strength_grows_with_the_gap_and_is_clipped() -> None:
    small, larger, huge = sma([100] * 4 + [100.4]), sma([100] * 4 + [101]), sma([100] * 4 + [200])
    assert 0.0 < small.strength < larger.strength < 1.0 == huge.strength


def test_rsi_oversold_is_long_overbought_flat_between_holds() -> None:
    flat = [10.0] * 41
    down = latest(RsiReversion, [*flat, 9, 8, 7], period=2)
    assert down.target is Target.LONG and down.strength == 1.0 and "oversold" in down.reason
    up = latest(RsiReversion, [*flat, 11, 12, 13], period=2)
    assert up.target is Target.FLAT and "overbought" in up.reason
    assert latest(RsiReversion, flat, period=2).target is Target.HOLD  # RSI 50 on a market that never moved


def test_rsi_warm_up_covers_wilder_smoothing_memory() -> None:
    p = RsiReversion.parse_params({})
    assert RsiReversion.warmup_of(p) == 281  # 20 periods of 14, plus the first change
    assert latest(RsiReversion, [10.0] * 280).reason == "warming up: have 280 of 281 bars"


def test_defaults_and_frozen_params() -> None:
    assert SmaCross.parse_params({}) == SmaCrossParams(fast=10, slow=30, size=Decimal("1"))
    assert RsiReversion.parse_params(None) == RsiReversionParams()
    with pytest.raises(ValueError):
        SmaCross.parse_params({}).fast = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("strategy", "raw", "field"),
    [
        (SmaCross, {"size": -1}, "size"),
        (SmaCross, {"fast": 10, "slow": 10}, "slow"),
        (SmaCross, {"fast": 0}, "fast"),
        (SmaCross, {"fast": True}, "fast"),
        (SmaCross, {"window": 3}, "unknown parameter 'window'"),
        (RsiReversion, {"lower": 70, "upper": 30}, "lower"),
        (RsiReversion, {"period": 1}, "period"),
        (RsiReversion, {"size": "abc"}, "size"),
        (Agent, {"fast": 30, "slow": 10}, "slow"),
        (Agent, {"debate_rounds": 9}, "debate_rounds"),
    ],
)
def test_bad_params_are_refused_naming_the_field(
    strategy: type[Strategy], raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        strategy.parse_params(raw)
    assert field in str(exc.value) and "pydantic" not in str(exc.value) and "\n" not in str(exc.value)


def test_parse_params_refuses_what_is_not_an_object() -> None:
    with pytest.raises(InvalidInput, match="must be an object"):
        SmaCross.parse_params([1, 2])  # type: ignore[arg-type]


def test_the_agent_s_rule_buys_a_rise_and_sells_a_fall_after_its_window() -> None:
    rising = [100.0 + i for i in range(130)]
    assert Agent.warmup_of(Agent.parse_params({})) == 120
    assert latest(Agent, rising).target is Target.LONG
    assert latest(Agent, rising[::-1]).target is Target.FLAT
    assert latest(Agent, rising[:100]).target is Target.HOLD


def bundled(file: str, start: int, n: int) -> Bars:
    return Bars.from_candles(load_candles(DATA_DIR / file)[start : start + n])


@pytest.mark.parametrize(
    ("strategy", "raw", "file", "start", "n"),
    [
        (SmaCross, {"fast": 2, "slow": 5}, "MSFT-USD-1d.csv", 0, 400),
        (SmaCross, {"fast": 10, "slow": 30}, "SPX-USD-1d.csv", 500, 500),
        (SmaCross, {"fast": 1, "slow": 50}, "EUR-USD-1h.csv", 1000, 400),
        (RsiReversion, {"period": 2}, "MSFT-USD-1d.csv", 0, 300),
        (RsiReversion, {}, "SPX-USD-1d.csv", 800, 600),
        (RsiReversion, {"period": 5, "lower": 45, "upper": 55}, "EUR-USD-1h.csv", 0, 400),
        (Agent, {"fast": 3, "slow": 8, "rsi_period": 3, "threshold": 0.1}, "EUR-USD-1h.csv", 0, 200),
    ],
)
def test_the_backtest_s_targets_are_the_live_decisions_on_every_prefix_of_real_data(
    strategy: type[Strategy], raw: dict[str, Any], file: str, start: int, n: int
) -> None:
    bars = bundled(file, start, n)
    p = strategy.parse_params(raw)
    whole = strategy.targets(bars, p).target
    live = [CODE_TARGETS.index(strategy.latest(bars.window(0, t + 1), p).target) for t in range(n)]
    assert whole.tolist() == live
    assert {CODE_LONG, CODE_FLAT} <= set(whole.tolist())  # the series exercises the rule
    assert (whole[: strategy.warmup_of(p) - 1] == CODE_HOLD).all()


def test_the_sma_grid_gives_each_pair_s_single_backtest() -> None:
    bars = bundled("MSFT-USD-1d.csv", 0, 800).columns
    cfg = BacktestConfig(commission=0.001)
    results = grid(bars, [(5, 20), (10, 50), (2, 3)], cfg)
    for (fast, slow), res in results.items():
        alone = backtest(SmaCross, bars, {"fast": fast, "slow": slow}, cfg)
        assert res.metrics == alone.metrics
    with pytest.raises(InvalidInput, match="slow"):
        grid(bars, [(5, 5)], cfg)


def test_the_shared_rules_on_hand_values() -> None:
    fast, slow = np.array([np.nan, 2.0, 1.0, 3.0]), np.array([np.nan, 1.0, 1.0, 4.0])
    assert sma_cross_codes(fast, slow).tolist() == [CODE_HOLD, CODE_LONG, CODE_HOLD, CODE_FLAT]
    r = np.array([np.nan, 10.0, 30.0, 50.0, 70.0, 90.0])
    assert rsi_reversion_codes(r, 30, 70).tolist() == [2, 1, 2, 2, 2, 0]


def test_targets_refuse_a_signal_of_the_wrong_length() -> None:
    class Short(SmaCross):
        name = "short_signal"

        def signal(self, bars: Bars, p: Any) -> Any:
            return super().signal(bars.window(1, len(bars)), p)

    with pytest.raises(InvalidInput, match="gave 9 targets for 10 bars"):
        targets_of(Short, Bars.from_arrays(close=[1.0 + i for i in range(10)]), {"fast": 1, "slow": 2})


def test_a_long_short_grid_with_stops_is_each_pair_s_single_backtest() -> None:
    bars = bundled("MSFT-USD-1d.csv", 0, 3000).columns
    cfg = BacktestConfig(stop_loss=0.05, direction="long_short")
    results = grid(bars, [(5, 20), (10, 50)], cfg)
    for (fast, slow), res in results.items():
        alone = backtest(SmaCross, bars, {"fast": fast, "slow": slow}, cfg)
        assert np.array_equal(res.equity, alone.equity) and res.trades == alone.trades


def test_rsi_and_agent_strategies_backtest_over_real_data() -> None:
    bars = bundled("MSFT-USD-1d.csv", 2700, 300)
    assert backtest(RsiReversion, bars, {"period": 2}).metrics.trades > 5
    agent = backtest(Agent, bars, {"fast": 3, "slow": 8, "rsi_period": 3})
    assert len(agent.equity) == 300
