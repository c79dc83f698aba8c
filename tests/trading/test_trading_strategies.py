"""Strategies on constructed close series, parameter validation and the registry."""

from decimal import Decimal
from typing import Any

import pytest

from trading.errors import InvalidInput, UnknownStrategyType
from trading.models import Target
from trading.strategies import (
    STRATEGIES,
    RsiReversionParams,
    Signal,
    SmaCrossParams,
    get_strategy,
)

SMA = get_strategy("sma_cross")
RSI = get_strategy("rsi_reversion")


def closes(*values: float) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


def sma_params(**raw: Any) -> SmaCrossParams:
    return SMA.parse_params({"fast": 2, "slow": 4, **raw})  # type: ignore[return-value]


def test_sma_cross_up_on_last_bar_goes_long() -> None:
    # last bar: fast (5+20)/2=12.5 over slow (7+6+5+20)/4=9.5; the bar before fast 5.5 < slow 6.5
    sig = SMA.evaluate(closes(10, 9, 8, 7, 6, 5, 20), sma_params())
    assert sig.target is Target.LONG
    assert sig.reason == "fast SMA 12.5 crossed above slow SMA 9.5"
    assert sig.indicators["fast_sma"] == 12.5 and sig.indicators["slow_sma"] == 9.5


def test_sma_still_above_reports_bars_since_cross() -> None:
    sig = SMA.evaluate(closes(10, 9, 8, 7, 6, 5, 20, 21, 22), sma_params())
    assert sig.target is Target.LONG
    assert sig.reason == "fast SMA 21.5 above slow SMA 17 since 3 bars"


def test_sma_above_for_all_known_history() -> None:
    sig = SMA.evaluate(closes(1, 2, 3, 4, 5, 6), sma_params())
    assert sig.target is Target.LONG
    assert sig.reason.endswith("since at least 3 bars")


def test_sma_with_only_warmup_bars_cannot_claim_a_cross() -> None:
    sig = SMA.evaluate(closes(1, 2, 3, 4), sma_params())
    assert sig.reason == "fast SMA 3.5 above slow SMA 2.5 since at least 1 bar"


def test_sma_cross_down_goes_flat() -> None:
    sig = SMA.evaluate(closes(1, 2, 3, 4, 5, 6, 0.5), sma_params())
    assert sig.target is Target.FLAT
    assert sig.reason == "fast SMA 3.25 crossed below slow SMA 3.875"


def test_sma_equal_averages_hold() -> None:
    assert SMA.evaluate(closes(5, 5, 5, 5, 5), sma_params()).target is Target.HOLD
    assert SMA.evaluate(closes(*[0.7] * 6), sma_params()).target is Target.HOLD  # no float-noise signal


def test_sma_warming_up_holds() -> None:
    sig = SMA.evaluate(closes(1, 2, 3), sma_params())
    assert (sig.target, sig.strength, sig.reason) == (Target.HOLD, 0.0, "warming up: have 3 of 4 bars")
    assert SMA.warmup(sma_params()) == 4


def test_sma_strength_grows_with_gap_and_is_clipped() -> None:
    small = SMA.evaluate(closes(100, 100, 100, 100, 100.4), sma_params())
    larger = SMA.evaluate(closes(100, 100, 100, 100, 101), sma_params())
    huge = SMA.evaluate(closes(100, 100, 100, 100, 200), sma_params())
    assert 0.0 < small.strength < larger.strength < 1.0
    assert huge.strength == 1.0


def test_sma_refuses_non_positive_closes() -> None:
    with pytest.raises(InvalidInput):
        SMA.evaluate(closes(1, 2, 0, 4), sma_params())


def rsi_params(**raw: Any) -> RsiReversionParams:
    return RSI.parse_params({"period": 2, **raw})  # type: ignore[return-value]


def test_rsi_oversold_goes_long_with_full_strength() -> None:
    sig = RSI.evaluate(closes(10, 9, 8, 7), rsi_params())
    assert sig.target is Target.LONG
    assert sig.strength == 1.0
    assert "oversold" in sig.reason and sig.indicators["rsi"] == 0.0


def test_rsi_overbought_goes_flat() -> None:
    sig = RSI.evaluate(closes(1, 2, 3, 4), rsi_params())
    assert sig.target is Target.FLAT
    assert sig.strength == 1.0
    assert "overbought" in sig.reason


def test_rsi_strength_by_distance_beyond_threshold() -> None:
    # RSI 75 (see the indicator test) with upper 70 -> (75 - 70) / 30
    sig = RSI.evaluate(closes(1, 2, 3, 2, 3), rsi_params(upper=70))
    assert sig.target is Target.FLAT
    assert sig.strength == pytest.approx(5 / 30)


def test_rsi_between_levels_holds() -> None:
    sig = RSI.evaluate(closes(1, 2, 3, 2), rsi_params())  # RSI 50
    assert (sig.target, sig.strength) == (Target.HOLD, 0.0)


def test_rsi_warming_up() -> None:
    params = RSI.parse_params({})
    sig = RSI.evaluate(closes(*range(1, 15)), params)
    assert sig.reason == "warming up: have 14 of 15 bars"
    assert RSI.warmup(params) == 15


def test_defaults() -> None:
    assert SMA.parse_params({}) == SmaCrossParams(fast=10, slow=30, size=Decimal("1"))
    assert RSI.parse_params(None) == RsiReversionParams()


def test_size_accepts_strings_as_decimal() -> None:
    assert sma_params(size="0.25").size == Decimal("0.25")


@pytest.mark.parametrize(
    ("spec", "raw", "field"),
    [
        (SMA, {"size": -1}, "size"),
        (SMA, {"size": 0}, "size"),
        (SMA, {"fast": 10, "slow": 10}, "slow"),
        (SMA, {"fast": 20, "slow": 5}, "slow"),
        (SMA, {"fast": 0}, "fast"),
        (SMA, {"fast": True}, "fast"),
        (SMA, {"window": 3}, "'window'"),
        (RSI, {"lower": 70, "upper": 30}, "lower"),
        (RSI, {"upper": 100}, "upper"),
        (RSI, {"period": 1}, "period"),
        (RSI, {"size": "abc"}, "size"),
    ],
)
def test_parse_params_errors_name_the_field(spec: Any, raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        spec.parse_params(raw)
    msg = str(exc.value)
    assert field in msg
    assert "pydantic" not in msg and "validation error" not in msg.lower() and "\n" not in msg


def test_unknown_key_is_called_unknown_parameter() -> None:
    with pytest.raises(InvalidInput, match="unknown parameter 'window'"):
        SMA.parse_params({"window": 3})


def test_parse_params_refuses_non_mapping() -> None:
    with pytest.raises(InvalidInput):
        SMA.parse_params([1, 2])  # type: ignore[arg-type]


def test_evaluate_refuses_other_strategys_params() -> None:
    with pytest.raises(InvalidInput):
        SMA.evaluate(closes(1, 2, 3, 4), rsi_params())


def test_params_are_frozen() -> None:
    with pytest.raises(ValueError):
        sma_params().fast = 3


def test_signal_strength_must_be_in_unit_range() -> None:
    with pytest.raises(InvalidInput):
        Signal(Target.LONG, 1.5, "too strong", {})


def test_registry() -> None:
    assert set(STRATEGIES) == {"sma_cross", "rsi_reversion", "agent"}
    assert all(spec.type == name for name, spec in STRATEGIES.items())
    with pytest.raises(UnknownStrategyType) as exc:
        get_strategy("macd")
    assert "macd" in str(exc.value) and "sma_cross" in str(exc.value) and "rsi_reversion" in str(exc.value)


def test_agent_params_and_its_technical_rule() -> None:
    spec = get_strategy("agent")
    p = spec.parse_params({})
    assert spec.warmup(p) == 31 and spec.needs_candles and not get_strategy("sma_cross").needs_candles
    with pytest.raises(InvalidInput, match="slow"):
        spec.parse_params({"fast": 30, "slow": 10})
    with pytest.raises(InvalidInput, match="debate_rounds"):
        spec.parse_params({"debate_rounds": 9})
    rising = [Decimal(100 + i) for i in range(40)]
    assert spec.evaluate(rising, p).target is Target.LONG
    assert spec.evaluate(rising[::-1], p).target is Target.FLAT
    assert spec.evaluate(rising[:10], p).target is Target.HOLD
