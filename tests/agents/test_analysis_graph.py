"""The analysis graph: strategy signal → decision, runnable without an LLM."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.analysis import analyse_symbol, make_analysis_graph
from trading.errors import InvalidInput, UnknownStrategyType


def closes(*values: float) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


RISING = closes(10, 10, 10, 10, 10, 10, 11, 12, 13, 14)
FALLING = closes(14, 14, 14, 14, 14, 14, 13, 12, 11, 10)


def test_graph_has_the_signal_then_decide_nodes() -> None:
    graph = make_analysis_graph().get_graph()
    assert {"signal", "decide"} <= set(graph.nodes)
    assert ("signal", "decide") in {(e.source, e.target) for e in graph.edges}


async def test_fast_above_slow_is_a_confident_long() -> None:
    out = await analyse_symbol(
        symbol="MSFT/USD", strategy_type="sma_cross", params={"fast": 2, "slow": 5}, closes=RISING
    )
    assert out["target"] == "long"
    assert 0.5 < out["confidence"] <= 1.0
    assert "sma_cross on MSFT/USD" in out["rationale"] and out["rationale"].endswith("→ long")
    assert out["indicators"]["fast_sma"] > out["indicators"]["slow_sma"]


async def test_fast_below_slow_is_flat() -> None:
    out = await analyse_symbol(
        symbol="MSFT/USD", strategy_type="sma_cross", params={"fast": 2, "slow": 5}, closes=FALLING
    )
    assert out["target"] == "flat"


async def test_too_few_bars_holds_and_says_why() -> None:
    out = await analyse_symbol(
        symbol="MSFT/USD", strategy_type="sma_cross", params={"fast": 2, "slow": 30}, closes=RISING
    )
    assert out["target"] == "hold"
    assert "warming up" in out["rationale"]


async def test_rsi_oversold_is_long() -> None:
    falling_hard = closes(*[100 - 3 * i for i in range(20)])
    out = await analyse_symbol(
        symbol="GOOGL/USD", strategy_type="rsi_reversion", params={"period": 5}, closes=falling_hard
    )
    assert out["target"] == "long"
    assert out["indicators"]["rsi"] < 30


async def test_bad_strategy_input_fails_clearly() -> None:
    with pytest.raises(UnknownStrategyType):
        await analyse_symbol(symbol="X/USD", strategy_type="nope", params={}, closes=RISING)
    with pytest.raises(InvalidInput, match="size"):
        await analyse_symbol(symbol="X/USD", strategy_type="sma_cross", params={"size": "-1"}, closes=RISING)
