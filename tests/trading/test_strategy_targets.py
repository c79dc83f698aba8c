"""The vectorised ``targets`` give, bar for bar, what the live ``evaluate`` gives on the prefix."""

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from exchanges.data import DATA_DIR, load_candles
from trading.errors import InvalidInput
from trading.indicators import sma, to_floats
from trading.strategies import (
    CODE_FLAT,
    CODE_HOLD,
    CODE_LONG,
    CODE_TARGETS,
    StrategySpec,
    get_strategy,
    rsi_reversion_codes,
    sma_cross_codes,
)


def bundled_closes(file: str, start: int, n: int) -> list[Decimal]:
    return [c.close for c in load_candles(DATA_DIR / file)][start : start + n]


def live_codes(spec: StrategySpec, closes: list[Decimal], params: Any) -> list[int]:
    return [CODE_TARGETS.index(spec.evaluate(closes[: t + 1], params).target) for t in range(len(closes))]


@pytest.mark.parametrize(
    ("type_", "raw", "file", "start", "n"),
    [
        ("sma_cross", {"fast": 2, "slow": 5}, "MSFT-USD-1d.csv", 0, 400),
        ("sma_cross", {"fast": 10, "slow": 30}, "SPX-USD-1d.csv", 500, 500),
        ("sma_cross", {"fast": 1, "slow": 50}, "EUR-USD-1h.csv", 1000, 400),
        ("sma_cross", {"fast": 20, "slow": 21}, "GOOGL-USD-1d.csv", 0, 400),
        ("rsi_reversion", {"period": 2}, "MSFT-USD-1d.csv", 0, 300),
        ("rsi_reversion", {}, "SPX-USD-1d.csv", 800, 400),
        ("rsi_reversion", {"period": 5, "lower": 45, "upper": 55}, "EUR-USD-1h.csv", 0, 400),
        ("agent", {}, "MSFT-USD-1d.csv", 100, 150),
        ("agent", {"fast": 3, "slow": 8, "rsi_period": 3, "threshold": 0.1}, "EUR-USD-1h.csv", 0, 150),
    ],
)
def test_targets_equal_live_evaluate_on_every_prefix(
    type_: str, raw: dict[str, Any], file: str, start: int, n: int
) -> None:
    spec = get_strategy(type_)
    params = spec.parse_params(raw)
    closes = bundled_closes(file, start, n)
    codes = spec.targets(to_floats(closes), params)
    assert codes.dtype == np.int8 and codes.shape == (n,)
    assert codes.tolist() == live_codes(spec, closes, params)
    # the series must exercise the rule, not only its warm-up
    assert {CODE_LONG, CODE_FLAT} <= set(codes.tolist()) or type_ == "agent"
    assert (codes[: spec.warmup(params) - 1] == CODE_HOLD).all()


def test_agent_series_has_both_directions() -> None:
    spec = get_strategy("agent")
    params = spec.parse_params({"fast": 3, "slow": 8, "rsi_period": 3, "threshold": 0.1})
    codes = spec.targets(to_floats(bundled_closes("EUR-USD-1h.csv", 0, 150)), params)
    assert {CODE_LONG, CODE_FLAT, CODE_HOLD} <= set(codes.tolist())


def test_equal_smas_hold_in_both() -> None:
    spec = get_strategy("sma_cross")
    params = spec.parse_params({"fast": 2, "slow": 4})
    closes = [Decimal("0.7")] * 6 + [Decimal("1"), Decimal("0.5")]
    codes = spec.targets(to_floats(closes), params)
    assert codes.tolist() == live_codes(spec, closes, params)
    assert codes.tolist()[:6] == [CODE_HOLD] * 6


def test_shared_rules_on_hand_values() -> None:
    fast = np.array([np.nan, 2.0, 1.0, 3.0])
    slow = np.array([np.nan, 1.0, 1.0, 4.0])
    assert sma_cross_codes(fast, slow).tolist() == [CODE_HOLD, CODE_LONG, CODE_HOLD, CODE_FLAT]
    r = np.array([np.nan, 10.0, 30.0, 50.0, 70.0, 90.0])
    assert rsi_reversion_codes(r, 30, 70).tolist() == [2, 1, 2, 2, 2, 0]


def test_vectorised_sma_matches_indicator_bit_for_bit() -> None:
    from trading.backtest import sma_table

    x = to_floats(bundled_closes("EUR-USD-1h.csv", 0, 3000))
    table = sma_table(x, [1, 7, 30, 7])
    assert sorted(table) == [1, 7, 30]
    for w, a in table.items():
        assert np.array_equal(a, sma(x, w), equal_nan=True)


@pytest.mark.parametrize("bad", [[1.0, 0.0, 2.0], [1.0, float("nan")], [[1.0, 2.0]]])
def test_targets_refuse_bad_closes(bad: Any) -> None:
    spec = get_strategy("sma_cross")
    with pytest.raises(InvalidInput):
        spec.targets(np.array(bad), spec.parse_params({"fast": 1, "slow": 2}))


def test_targets_refuse_other_strategys_params() -> None:
    with pytest.raises(InvalidInput):
        get_strategy("sma_cross").targets(np.ones(5), get_strategy("rsi_reversion").parse_params({}))
