"""Custom analysts in the agent graph: loaded like strategies, weighed with the others, failures recorded."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.analysis import AnalysisState, run_analysis
from agents.context import AgentContext, AsOfData
from asts import registry
from asts.builtin.agent import Agent
from asts.checks import check_series
from asts.engine import targets_of
from tests.agents.support import HOUR, T0, trending
from trading.errors import InvalidInput

ANALYSTS = '''
from asts import AnalysisContext, Report, analyst


@analyst("bearish")
def bearish(ctx: AnalysisContext) -> Report:
    """Always sees a top."""
    return Report(score=-1.0, confidence=0.9, rationale=f"{ctx.symbol}: {len(ctx.bars)} bars, a top")


@analyst("broken")
def broken(ctx):
    """Fails every time."""
    raise RuntimeError("data source down")


@analyst("sloppy")
def sloppy(ctx):
    """Answers out of range."""
    return {"score": 7, "confidence": 0.5, "rationale": "?"}
'''
AS_OF = T0 + 200 * HOUR


@pytest.fixture
def with_analysts(tmp_path: Path) -> Iterator[registry.Registry]:
    (tmp_path / "analysts.py").write_text(textwrap.dedent(ANALYSTS))
    before = registry._current
    reg = registry.install(registry.load([tmp_path], entry_points=False, check=False))
    try:
        yield reg
    finally:
        registry._current = before


async def decide(**params: object) -> AnalysisState:
    state: AnalysisState = {
        "symbol": "MSFT/USD",
        "strategy_type": "agent",
        "params": dict(params),
        "as_of": AS_OF,
    }
    ctx = AgentContext(data=AsOfData(candles=trending(260, slope=0.2)))
    out, _ = await run_analysis(state, ctx)
    return out


def test_analysts_are_loaded_from_a_strategy_file(with_analysts: registry.Registry) -> None:
    a = with_analysts.analyst("bearish")
    assert a.source == "file" and a.description == "Always sees a top." and a.version.startswith("sha256:")


async def test_without_analysts_the_uptrend_is_a_buy(with_analysts: registry.Registry) -> None:
    out = await decide(use_llm=False)
    assert out["result"]["call"] == "buy" and "analysts" not in out


async def test_a_heavy_bearish_analyst_turns_the_decision_and_its_report_is_recorded(
    with_analysts: registry.Registry,
) -> None:
    out = await decide(use_llm=False, analysts={"bearish": 1.0}, technical_weight=0.2)
    [report] = out["analysts"]
    assert report["name"] == "bearish" and report["score"] == -1.0 and report["error"] == ""
    assert "a top" in report["rationale"] and report["version"].startswith("sha256:")
    assert out["result"]["call"] == "sell"
    assert "analyst:bearish" in out["result"]["evidence"]
    assert "bearish -1.00 (weight 1)" in out["result"]["rationale"]


async def test_a_failing_analyst_is_recorded_and_the_others_decide(with_analysts: registry.Registry) -> None:
    out = await decide(use_llm=False, analysts={"broken": 1.0, "sloppy": 1.0})
    errors = {r["name"]: r["error"] for r in out["analysts"]}
    assert errors["broken"] == "RuntimeError: data source down"
    assert "ValidationError" in errors["sloppy"]
    assert out["result"]["call"] == "buy"  # the technical analyst's uptrend stands


async def test_with_no_analyst_left_the_decision_is_a_hold(with_analysts: registry.Registry) -> None:
    out = await decide(use_llm=False, analysts={"broken": 1.0}, technical_weight=0.0)
    assert out["result"]["call"] == "hold" and "no analyst left" in out["result"]["rationale"]


def test_an_unknown_analyst_is_refused_naming_the_known_ones(with_analysts: registry.Registry) -> None:
    with pytest.raises(
        InvalidInput, match="unknown analyst 'nope' in analysts; known analysts: bearish, broken"
    ):
        Agent.parse_params({"analysts": {"nope": 0.5}})


def test_the_agent_s_backtest_weighs_the_same_analysts(with_analysts: registry.Registry) -> None:
    bars = check_series().window(0, 400)
    plain = targets_of(Agent, bars, {})
    bearish = targets_of(Agent, bars, {"analysts": {"bearish": 1.0}, "technical_weight": 0.1})
    assert (bearish != plain).any()
    assert not (bearish == 1).any()  # a constant, heavy bear never lets it buy
