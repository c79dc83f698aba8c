"""The analysis graph: rule strategies, the agent with and without a model, fail-safe holds, budgets."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from agents.analysis import AnalysisState, make_analysis_graph, run_analysis
from agents.context import AgentContext, AsOfData, Budget
from agents.llm import CallLog, LlmClient, LlmUnavailable
from tests.agents.support import HOUR, T0, llm_config, news, trending
from tests.llm_emulator import LlmEmulator
from trading.errors import InvalidInput, UnknownStrategyType
from trading.models import Candle

BUY = {"signal": "buy", "confidence": 0.9, "size": 0.4, "rationale": "uptrend and good news", "evidence": []}
AS_OF = T0 + 200 * HOUR  # 200 hourly bars have closed


def closes(*values: float) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


RISING = closes(10, 10, 10, 10, 10, 10, 11, 12, 13, 14)
FALLING = closes(14, 14, 14, 14, 14, 14, 13, 12, 11, 10)


def bars_of(values: list[Decimal]) -> list[Candle]:
    """Hourly bars with these closes, the last one closed at ``T0``."""
    n = len(values)
    return [Candle(T0 - (n - i) * HOUR, v, v, v, v, Decimal(1)) for i, v in enumerate(values)]


async def rule(strategy_type: str, params: dict[str, Any], values: list[Decimal]) -> dict[str, Any]:
    state: AnalysisState = {
        "symbol": "MSFT/USD",
        "strategy_type": strategy_type,
        "params": params,
        "as_of": T0,
    }
    out, _ = await run_analysis(state, AgentContext(data=AsOfData(candles=bars_of(values))))
    return out["result"]


def agent_state(**params: Any) -> AnalysisState:
    return {"symbol": "MSFT/USD", "strategy_type": "agent", "params": params, "as_of": AS_OF}


def ctx(llm: LlmClient | None = None, *, slope: float = 0.2, items: Any = (), **kw: Any) -> AgentContext:
    return AgentContext(data=AsOfData(candles=trending(260, slope=slope), news=list(items)), llm=llm, **kw)


def test_graph_has_the_analysts_the_model_and_the_decision() -> None:
    graph = make_analysis_graph().get_graph()
    assert {"technical", "news", "analysts", "plan", "debate", "reason", "decide"} <= set(graph.nodes)
    edges = {(e.source, e.target) for e in graph.edges}
    expected = {("technical", "news"), ("news", "analysts"), ("analysts", "plan"), ("plan", "decide")}
    assert expected | {("reason", "decide")} <= edges


async def test_rule_strategy_fast_above_slow_is_a_confident_long() -> None:
    out = await rule("sma_cross", {"fast": 2, "slow": 5}, RISING)
    assert out["target"] == "long" and out["mode"] == "analysts"
    assert 0.5 < out["confidence"] <= 1.0
    assert out["rationale"].startswith("sma_cross on MSFT/USD") and out["rationale"].endswith("→ long")


async def test_rule_strategy_fast_below_slow_is_flat_and_warming_up_holds() -> None:
    assert (await rule("sma_cross", {"fast": 2, "slow": 5}, FALLING))["target"] == "flat"
    out = await rule("sma_cross", {"fast": 2, "slow": 30}, RISING)
    assert out["target"] == "hold" and "warming up" in out["rationale"]


async def test_bad_strategy_or_params_are_refused() -> None:
    with pytest.raises(UnknownStrategyType):
        await rule("nope", {}, RISING)
    with pytest.raises(InvalidInput, match="slow"):
        await rule("sma_cross", {"fast": 5, "slow": 2}, RISING)


async def test_agent_without_a_model_is_deterministic_and_explains_itself() -> None:
    items = [news(1, 190, "Microsoft beats estimates", 0.8)]
    first, _ = await run_analysis(agent_state(), ctx(items=items))
    again, _ = await run_analysis(agent_state(), ctx(items=items))
    assert first["result"] == again["result"]
    res = first["result"]
    assert res["mode"] == "analysts" and res["call"] == "buy" and res["target"] == "long"
    assert "news:1" in res["evidence"] and "technical" in res["evidence"]
    assert first["window"]["bars"] == 120 and first["window"]["interval_s"] == 3600
    assert first["news"]["items"][0]["id"] == 1


async def test_agent_falling_market_sells_and_flat_market_holds() -> None:
    down, _ = await run_analysis(agent_state(), ctx(slope=-0.3))
    assert down["result"]["call"] == "sell" and down["result"]["target"] == "flat"
    flat, _ = await run_analysis(agent_state(threshold=0.99), ctx(slope=0.0))
    assert flat["result"]["call"] == "hold"


async def test_agent_with_a_model_takes_its_validated_verdict(emu: LlmEmulator, llm: LlmClient) -> None:
    emu.answer(BUY | {"evidence": ["technical", "news:1", "news:999"]})
    items = [news(1, 190, "Microsoft beats estimates", 0.8)]
    c = ctx(llm, items=items)
    out, _ = await run_analysis(agent_state(), c)
    res = out["result"]
    assert res["mode"] == "llm" and res["call"] == "buy" and res["size"] == 0.4
    assert res["evidence_unknown"] == ["news:999"]  # cited, but never shown to the model
    assert res["analysts"]["mode"] == "analysts"
    assert len(out["prompt_hash"]) == 64
    [body] = emu.requests
    assert body["response_format"]["type"] == "json_schema"
    prompt = body["messages"][1]["content"]
    assert "news:1" in prompt and "Microsoft beats estimates" in prompt
    assert "sk-test-secret" not in str(body)
    [call] = c.log.calls
    assert call.ok and call.tokens_in > 0 and call.purpose == "reason"


async def test_low_confidence_verdict_becomes_a_hold(emu: LlmEmulator, llm: LlmClient) -> None:
    emu.answer(BUY | {"confidence": 0.3})
    out, _ = await run_analysis(agent_state(min_confidence=0.55), ctx(llm))
    assert out["result"]["call"] == "hold" and "below 0.55" in out["result"]["rationale"]


async def test_malformed_answer_is_repaired_once(emu: LlmEmulator, llm: LlmClient) -> None:
    emu.script("malformed", "ok")
    emu.answer(BUY)
    c = ctx(llm)
    out, _ = await run_analysis(agent_state(), c)
    assert out["result"]["mode"] == "llm" and out["result"]["call"] == "buy"
    assert [x.purpose for x in c.log.calls] == ["reason", "reason:repair"]
    assert not c.log.calls[0].ok and "invalid answer" in c.log.calls[0].error
    assert "invalid" in emu.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("behaviours", [("malformed", "invalid"), ("401",)])
async def test_a_failed_answer_is_an_explicit_hold_never_a_trade(
    emu: LlmEmulator, llm: LlmClient, behaviours: tuple[Any, ...]
) -> None:
    emu.script(*behaviours)
    c = ctx(llm, final_attempt=False)  # not retried: retrying cannot fix these
    out, _ = await run_analysis(agent_state(), c)
    res = out["result"]
    assert res["mode"] == "failsafe_hold" and res["call"] == "hold" and res["confidence"] == 0.0
    assert out["llm_error"] and "holding" in res["rationale"]
    assert res["analysts"]["call"] == "buy"  # what the analysts alone would have done is kept


@pytest.mark.parametrize("behaviour", ["500", "429", "timeout"])
async def test_unreachable_model_is_retried_then_holds(emu: LlmEmulator, behaviour: Any) -> None:
    emu.delay_s = 5.0
    llm = LlmClient(llm_config(emu, timeout_s=0.5))
    try:
        emu.script(behaviour)
        with pytest.raises(LlmUnavailable):
            await run_analysis(agent_state(), ctx(llm, final_attempt=False))
        emu.script(behaviour)
        out, _ = await run_analysis(agent_state(), ctx(llm, final_attempt=True))
        assert out["result"]["mode"] == "failsafe_hold" and out["result"]["call"] == "hold"
    finally:
        await llm.close()


async def test_spent_budget_falls_back_to_the_analysts(emu: LlmEmulator, llm: LlmClient) -> None:
    out, _ = await run_analysis(agent_state(), ctx(llm, budget=Budget(tokens_left=0)))
    assert out["result"]["mode"] == "budget_fallback" and out["result"]["call"] == "buy"
    assert out["result"]["rationale"].startswith("LLM budget spent")
    assert emu.requests == []
    held, _ = await run_analysis(
        agent_state(), ctx(llm, budget=Budget(cost_left=Decimal(0)), hold_when_spent=True)
    )
    assert held["result"]["call"] == "hold"


async def test_budget_spent_mid_debate_stops_asking(emu: LlmEmulator, llm: LlmClient) -> None:
    c = ctx(llm, budget=Budget(tokens_left=1))  # the first call uses it up
    out, _ = await run_analysis(agent_state(debate_rounds=2), c)
    assert len(emu.requests) == 1 and out["result"]["mode"] == "budget_fallback"
    assert c.budget.spent and c.log.tokens > 1


async def test_debate_rounds_come_before_the_verdict(emu: LlmEmulator, llm: LlmClient) -> None:
    emu.answer(
        {"argument": "trend is up", "evidence": ["technical"]},
        {"argument": "overbought", "evidence": ["rsi"]},
        BUY,
    )
    c = ctx(llm)
    out, _ = await run_analysis(agent_state(debate_rounds=1), c)
    assert [p["side"] for p in out["debate"]] == ["bull", "bear"]
    assert [x.purpose for x in c.log.calls] == ["bull", "bear", "reason"]
    assert "bear: overbought" in emu.requests[2]["messages"][1]["content"]
    assert out["result"]["mode"] == "llm"


async def test_no_look_ahead_planted_future_bars_and_news_are_not_used(
    emu: LlmEmulator, llm: LlmClient
) -> None:
    past = trending(200)  # exactly the bars closed at AS_OF
    crash = [c.__class__(c.ts, *(Decimal(1),) * 4, Decimal(10**6)) for c in trending(60, start=AS_OF)]
    # The bar opened one hour before AS_OF closes at AS_OF; one opened at AS_OF is still forming.
    assert past[-1].ts + HOUR == AS_OF and crash[0].ts == AS_OF
    known = [news(1, 150, "Microsoft beats estimates", 0.8)]
    planted = [news(2, 200.5, "PLANTED: Microsoft collapses", -1.0), news(3, 400, "PLANTED later", -1.0)]
    clean = AgentContext(data=AsOfData(candles=past, news=known), llm=llm)
    dirty = AgentContext(data=AsOfData(candles=past + crash, news=known + planted), llm=llm)
    a, _ = await run_analysis(agent_state(), clean)
    b, _ = await run_analysis(agent_state(), dirty)
    assert a["technical"] == b["technical"] and a["window"] == b["window"] and a["news"] == b["news"]
    assert a["result"] == b["result"] and a["prompt_hash"] == b["prompt_hash"]
    assert [n["id"] for n in b["news"]["items"]] == [1]
    prompts = " ".join(str(r["messages"]) for r in emu.requests)
    assert "PLANTED" not in prompts and "1000000" not in prompts
    # Move the clock forward and the planted data is seen: the test can fail.
    later: AnalysisState = agent_state() | {"as_of": AS_OF + timedelta(hours=40)}
    c, _ = await run_analysis(later, AgentContext(data=AsOfData(candles=past + crash, news=known + planted)))
    assert 2 in [n["id"] for n in c["news"]["items"]] and c["result"]["call"] != "buy"


async def test_call_log_totals(emu: LlmEmulator, llm: LlmClient) -> None:
    log = CallLog()
    c = ctx(llm, log=log)
    await run_analysis(agent_state(), c)
    assert log.tokens == log.calls[0].tokens_in + log.calls[0].tokens_out
    assert log.cost == Decimal(0)  # no price configured: a local model is free


async def test_the_api_key_never_reaches_the_logs(
    emu: LlmEmulator, llm: LlmClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.script("500")
    await run_analysis(agent_state(), ctx(llm))  # a failure too: errors are logged and recorded
    assert caplog.records  # the openai client and ours did log
    assert all("sk-test-secret" not in r.getMessage() for r in caplog.records)
    assert "sk-test-secret" not in repr(llm.config) and "sk-test-secret" not in str(llm.config.model_dump())


@pytest.mark.parametrize("form", ["json_object", "tools"])
async def test_other_structured_forms_reach_the_same_verdict(emu: LlmEmulator, form: Any) -> None:
    client = LlmClient(llm_config(emu, structured=form))
    try:
        emu.answer(BUY)
        out, _ = await run_analysis(agent_state(), ctx(client))
    finally:
        await client.close()
    assert out["result"]["mode"] == "llm" and out["result"]["call"] == "buy"
    body = emu.requests[-1]
    if form == "tools":
        assert body["tool_choice"]["function"]["name"] == "llmverdict" and "response_format" not in body
    else:
        assert body["response_format"]["type"] == "json_object" and "schema" in body["response_format"]


async def test_an_overlong_rationale_is_invalid_and_repaired(emu: LlmEmulator, llm: LlmClient) -> None:
    emu.answer(BUY | {"rationale": "x" * 2001}, BUY)
    c = ctx(llm)
    out, _ = await run_analysis(agent_state(), c)
    assert out["result"]["mode"] == "llm" and "at most 2000" in c.log.calls[0].error
