"""The analysis graph: strategy signal → decision with confidence and rationale.

This is the seam the full agent graph (news, LLM reasoning, debate) plugs into: it
keeps the same input (a strategy and what the scan saw) and the same output (a
``target``, a ``confidence`` in [0, 1] and a ``rationale``). It runs without an LLM.
Agents propose; the risk step and the workflow decide.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from trading.strategies import get_strategy


class AnalysisState(TypedDict, total=False):
    """State flowing through the graph."""

    symbol: str
    strategy_type: str
    params: dict[str, Any]
    closes: list[Decimal]
    target: str
    strength: float
    signal_reason: str
    indicators: dict[str, float]
    confidence: float
    rationale: str


def signal_node(state: AnalysisState) -> AnalysisState:
    """Evaluate the strategy's rule on the closes the scan recorded."""
    spec = get_strategy(state["strategy_type"])
    params = spec.parse_params(state.get("params") or {})
    sig = spec.evaluate(state["closes"], params)
    return {
        "target": sig.target.value,
        "strength": float(sig.strength),
        "signal_reason": sig.reason,
        "indicators": {k: float(v) for k, v in sig.indicators.items()},
    }


def decide_node(state: AnalysisState) -> AnalysisState:
    """Turn the signal into a decision with a confidence and a rationale."""
    target = state["target"]
    strength = max(0.0, min(1.0, state.get("strength", 0.0)))
    # Holding is a decision too, made with whatever confidence the rule has in "no change".
    confidence = round(0.5 + 0.5 * strength, 4) if target != "hold" else round(1.0 - 0.5 * strength, 4)
    rationale = f"{state['strategy_type']} on {state['symbol']}: {state['signal_reason']} → {target}"
    return {"confidence": confidence, "rationale": rationale}


def make_analysis_graph() -> CompiledStateGraph:
    """Build the analysis graph (runnable without an LLM)."""
    graph = StateGraph(AnalysisState)
    graph.add_node("signal", signal_node)
    graph.add_node("decide", decide_node)
    graph.add_edge(START, "signal")
    graph.add_edge("signal", "decide")
    graph.add_edge("decide", END)
    return graph.compile()


@lru_cache(maxsize=1)
def analysis_graph() -> CompiledStateGraph:
    """The compiled graph, built once per process."""
    return make_analysis_graph()


async def analyse_symbol(
    *, symbol: str, strategy_type: str, params: dict[str, Any], closes: list[Decimal]
) -> AnalysisState:
    """Run the graph for one symbol and return its final state."""
    out = await analysis_graph().ainvoke(
        {"symbol": symbol, "strategy_type": strategy_type, "params": params, "closes": closes}
    )
    return AnalysisState(**out)  # type: ignore[typeddict-item]
