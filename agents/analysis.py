"""The analysis graph (TACoreService): analysts, an optional LLM debate and verdict, a decision.

``technical → news → analysts → plan → [debate →] reason → decide``; ``plan`` routes straight to
``decide`` when no model is configured, the strategy does not use one, the bars are still
warming up, or the day's LLM budget is spent. Every read takes the run's ``as_of`` time (see
:class:`agents.context.AsOfData`). Rule strategies (``sma_cross``, ``rsi_reversion``) take
their rule's signal; the ``agent`` strategy weighs technical and news reports itself, or asks
the model. A model that fails or answers out of shape makes the decision an explicit hold.
Agents propose; the risk step and the workflow decide.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, TypedDict, TypeVar

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.context import AgentContext, AsOfData, BudgetSpent
from agents.llm import LlmInvalidAnswer, LlmRejected, LlmUnavailable, answer_schema, prompt_hash
from agents.prompts import DebatePoint, LlmVerdict, debate_messages, verdict_messages
from asts.bars import Bars
from asts.builtin.agent import AgentParams, run_analysts, window_of
from asts.registry import StrategyType, current
from trading.analysts import (
    AnalystView,
    NewsRef,
    NewsReport,
    TechnicalReport,
    Verdict,
    candles_report,
    combine,
    gate_confidence,
    news_report,
)

T = TypeVar("T", bound=BaseModel)
Mode = Literal["analysts", "llm", "budget_fallback", "failsafe_hold"]
NEWS_LIMIT = 20
# The custom analysts of one decision must all have answered within this.
ANALYSTS_TIMEOUT_S = 10.0


class AnalysisState(TypedDict, total=False):
    """State flowing through the graph (plain data: it is what the decision record is made of)."""

    symbol: str
    strategy_type: str
    params: dict[str, Any]
    as_of: datetime
    closes: list[Any]  # rule strategies: the closes the scan recorded
    technical: dict[str, Any]
    window: dict[str, Any]
    news: dict[str, Any]
    analysts: list[dict[str, Any]]  # the custom analysts' reports (or errors)
    mode: Mode
    debate: list[dict[str, Any]]
    llm: dict[str, Any]
    llm_error: str
    prompt_hash: str
    result: dict[str, Any]


Ctx = Runtime[AgentContext]


def _agent(state: AnalysisState) -> AgentParams | None:
    if state["strategy_type"] != "agent":
        return None
    return AgentParams.model_validate(state.get("params") or {})


def _strategy(state: AnalysisState, runtime: Ctx) -> StrategyType:
    """The strategy type deciding: the one the step resolved (its pinned version), else the loaded one."""
    t = runtime.context.strategy
    return t if t is not None else current().get(state["strategy_type"])


def _with_peers(bars: Bars, state: AnalysisState, runtime: Ctx) -> Bars:
    """``bars`` with the cycle's other symbols beside it, each cut to the bars closed at ``as_of``."""
    peers = {}
    for symbol, candles in runtime.context.peers.items():
        closed = AsOfData(candles=candles).bars(state["as_of"], limit=len(candles))
        if closed:
            peers[symbol] = Bars.from_candles(closed, symbol)
    return Bars(symbol=bars.symbol, columns=bars.columns, peers=peers) if peers else bars


def _window(bars: list[Any], runtime: Ctx) -> dict[str, Any]:
    """The data window a decision read: how many bars, the first and last, the interval."""
    interval = runtime.context.data.interval
    return {
        "bars": len(bars),
        "first": bars[0].ts.isoformat() if bars else None,
        "last": bars[-1].ts.isoformat() if bars else None,
        "interval_s": interval.total_seconds() if interval else None,
    }


async def technical_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """The technical analyst: the rule's signal, or trend/momentum/volatility/volume on closed bars."""
    p = _agent(state)
    if p is None:
        t = _strategy(state, runtime)
        params = t.parse_params(state.get("params") or {})
        candles = runtime.context.data.bars(state["as_of"], limit=t.cls.warmup_of(params))
        if candles:
            sig = t.cls.latest(
                _with_peers(Bars.from_candles(candles, state["symbol"]), state, runtime), params
            )
            rule = {"target": sig.target.value, "strength": float(sig.strength), "reason": sig.reason}
        else:
            rule = {"target": "hold", "strength": 0.0, "reason": "warming up: no closed bar yet"}
            sig = None
        tech = {"rule": rule, "indicators": dict(sig.indicators) if sig else {}, "code_version": t.version}
        return {"technical": tech, "window": _window(candles, runtime)}
    bars = runtime.context.data.bars(state["as_of"], limit=window_of(p))
    report = candles_report(bars, fast=p.fast, slow=p.slow, rsi_period=p.rsi_period)
    window = _window(bars, runtime)
    tech = {
        "bars": report.bars,
        "score": report.score,
        "confidence": report.confidence,
        "indicators": report.indicators,
        "summary": report.summary,
        "warming_up": report.warming_up,
    }
    return {"technical": tech, "window": window}


async def news_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """The news analyst: items published before ``as_of`` within the lookback, recency-weighted."""
    p = _agent(state)
    if p is None:
        return {}
    as_of = state["as_of"]
    items = runtime.context.data.news(as_of, timedelta(hours=p.news_lookback_h), NEWS_LIMIT)
    report = news_report(items, as_of=as_of, half_life=timedelta(hours=p.news_half_life_h))
    return {
        "news": {
            "score": report.score,
            "summary": report.summary,
            "items": [
                {
                    "id": n.id,
                    "published_at": n.published_at.isoformat(),
                    "title": n.title,
                    "sentiment": n.sentiment,
                    "source": n.source,
                }
                for n in report.items
            ],
        }
    }


async def analysts_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """The custom analysts the agent's params name, on the same closed bars and news; each report
    (or its error) goes into the decision record. They run off the event loop, within a time limit."""
    p = _agent(state)
    if p is None or not p.analysts:
        return {}
    as_of, data = state["as_of"], runtime.context.data
    candles = data.bars(as_of, limit=window_of(p))
    if not candles:
        failed = [
            {"name": n, "weight": w, "error": "no closed bar yet"} for n, w in sorted(p.analysts.items())
        ]
        return {
            "analysts": [
                {**r, "score": 0.0, "confidence": 0.0, "rationale": "", "version": ""} for r in failed
            ]
        }
    news = tuple(data.news(as_of, timedelta(hours=p.news_lookback_h), NEWS_LIMIT))
    bars = Bars.from_candles(candles, state["symbol"])
    try:
        reports = await asyncio.wait_for(
            asyncio.to_thread(run_analysts, p, bars, as_of, news), ANALYSTS_TIMEOUT_S
        )
    except TimeoutError:
        error = f"the analysts took longer than {ANALYSTS_TIMEOUT_S:g} s"
        reports = [
            {
                "name": n,
                "weight": w,
                "version": "",
                "score": 0.0,
                "confidence": 0.0,
                "rationale": "",
                "error": error,
            }
            for n, w in sorted(p.analysts.items())
        ]
    return {"analysts": reports}


def _views(state: AnalysisState) -> list[AnalystView]:
    """The custom analysts' reports that count: those that did not fail."""
    return [
        AnalystView(r["name"], r["score"], r["confidence"], r["weight"])
        for r in state.get("analysts") or []
        if not r.get("error")
    ]


def plan_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """Whether the model is asked: configured, wanted, data enough, and budget left."""
    p, ctx = _agent(state), runtime.context
    if p is None or not p.use_llm or ctx.llm is None or state["technical"].get("warming_up"):
        return {"mode": "analysts"}
    return {"mode": "budget_fallback" if ctx.budget.spent else "llm"}


def _route_plan(state: AnalysisState) -> str:
    if state["mode"] != "llm":
        return "decide"
    p = _agent(state)
    return "debate" if p is not None and p.debate_rounds > 0 else "reason"


async def _ask(ctx: AgentContext, messages: list[dict[str, Any]], schema: type[T], purpose: str) -> T:
    """One structured answer, charged to the budget whatever happens."""
    if ctx.llm is None:
        raise LlmRejected(f"{purpose}: the analysis runs in llm mode but has no model client")
    if ctx.deadline is not None and time.monotonic() + ctx.llm.config.timeout_s > ctx.deadline:
        raise LlmUnavailable(f"{purpose}: no time left in this step for another model call")
    async with ctx.budget.turn():
        if ctx.budget.spent:
            raise BudgetSpent(purpose)
        before = len(ctx.log.calls)
        try:
            return await ctx.llm.structured(messages, schema, purpose=purpose, log=ctx.log)
        finally:
            ctx.budget.charge(ctx.log.calls[before:])


def _failed(ctx: AgentContext, e: Exception) -> AnalysisState:
    """A model failure: spent budget falls back; otherwise retry (not the last attempt) or hold."""
    if isinstance(e, BudgetSpent):
        return {"mode": "budget_fallback"}
    if isinstance(e, LlmUnavailable) and not ctx.final_attempt:
        raise e
    return {"llm_error": str(e)}


LLM_FAILURES = (BudgetSpent, LlmUnavailable, LlmRejected, LlmInvalidAnswer)


async def debate_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """Bull and bear argue for ``debate_rounds`` rounds, each seeing the debate so far."""
    p, ctx = _agent(state), runtime.context
    if p is None:  # routed here only for the agent strategy
        raise TypeError(f"the debate needs the agent strategy, not {state['strategy_type']!r}")
    transcript: list[dict[str, Any]] = []
    for rnd in range(1, p.debate_rounds + 1):
        for side in ("bull", "bear"):
            try:
                point = await _ask(ctx, debate_messages(dict(state), side, transcript), DebatePoint, side)
            except LLM_FAILURES as e:
                return {"debate": transcript, **_failed(ctx, e)}
            transcript.append({"side": side, "round": rnd, **point.model_dump()})
    return {"debate": transcript}


def _route_debate(state: AnalysisState) -> str:
    return "reason" if state["mode"] == "llm" and not state.get("llm_error") else "decide"


async def reason_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """The reasoner: both reports (and the debate) in, a validated verdict out."""
    ctx = runtime.context
    messages = verdict_messages(dict(state))
    if ctx.llm is None:
        raise LlmRejected("reason: the analysis runs in llm mode but has no model client")
    digest = prompt_hash(ctx.llm.config.model, messages, answer_schema(LlmVerdict))
    try:
        verdict = await _ask(ctx, messages, LlmVerdict, "reason")
    except LLM_FAILURES as e:
        return {"prompt_hash": digest, **_failed(ctx, e)}
    return {"llm": verdict.model_dump(), "prompt_hash": digest}


def _tech_report(state: AnalysisState) -> TechnicalReport:
    t = state["technical"]
    return TechnicalReport(
        t["bars"], t["score"], t["confidence"], t["indicators"], t["summary"], t["warming_up"]
    )


def _news(state: AnalysisState) -> NewsReport:
    """The news analyst's report as the news node left it in the state."""
    news = state.get("news") or {}
    items = tuple(
        NewsRef(n["id"], datetime.fromisoformat(n["published_at"]), n["title"], n["sentiment"], n["source"])
        for n in news.get("items", [])
    )
    return NewsReport(items, news.get("score", 0.0), news.get("summary", "no news"))


def _verdict_dict(v: Verdict, mode: Mode, **extra: Any) -> dict[str, Any]:
    return {
        "call": v.call,
        "target": v.target.value,
        "confidence": v.confidence,
        "size": v.size,
        "rationale": v.rationale,
        "evidence": list(v.evidence),
        "mode": mode,
        **extra,
    }


def decide_node(state: AnalysisState, runtime: Ctx) -> AnalysisState:
    """Merge: the rule's signal, the model's verdict, or the analysts' own call; hold on failure."""
    p = _agent(state)
    if p is None:
        rule = state["technical"]["rule"]
        target, strength = rule["target"], max(0.0, min(1.0, rule["strength"]))
        # Holding is a decision too, made with whatever confidence the rule has in "no change".
        confidence = round(0.5 + 0.5 * strength, 4) if target != "hold" else round(1.0 - 0.5 * strength, 4)
        rationale = f"{state['strategy_type']} on {state['symbol']}: {rule['reason']} → {target}"
        call = {"long": "buy", "flat": "sell", "hold": "hold"}[target]
        return {
            "result": {
                "call": call,
                "target": target,
                "confidence": confidence,
                "size": 1.0,
                "rationale": rationale,
                "evidence": ["technical"],
                "mode": "analysts",
            }
        }
    news = _news(state)
    analysts = gate_confidence(
        combine(
            _tech_report(state),
            news,
            news_weight=p.news_weight,
            threshold=p.threshold,
            others=_views(state),
            technical_weight=p.technical_weight,
        ),
        p.min_confidence,
    )
    if state.get("llm_error"):
        why = f"the model failed ({state['llm_error']}); holding, as a failed answer never trades"
        held = Verdict("hold", 0.0, 0.0, why)
        return {"result": _verdict_dict(held, "failsafe_hold", analysts=_verdict_dict(analysts, "analysts"))}
    answer = state.get("llm")
    if answer is None:
        mode: Mode = state.get("mode", "analysts")
        if mode == "budget_fallback" and runtime.context.hold_when_spent:
            why = "LLM budget spent and the strategy halts on a spent budget; holding"
            return {"result": _verdict_dict(Verdict("hold", 0.0, 0.0, why), mode)}
        if mode == "budget_fallback":
            analysts = Verdict(
                analysts.call,
                analysts.confidence,
                analysts.size,
                f"LLM budget spent; analysts alone: {analysts.rationale}",
                analysts.evidence,
            )
        return {"result": _verdict_dict(analysts, mode)}
    known = {
        "technical",
        *state["technical"]["indicators"],
        *(f"news:{n.id}" for n in news.items),
        *(f"analyst:{v.name}" for v in _views(state)),
    }
    unknown = [e for e in answer["evidence"] if e not in known]
    verdict = gate_confidence(
        Verdict(
            answer["signal"],
            answer["confidence"],
            answer["size"],
            answer["rationale"],
            tuple(answer["evidence"]),
        ),
        p.min_confidence,
    )
    extra = {"analysts": _verdict_dict(analysts, "analysts"), "evidence_unknown": unknown}
    return {"result": _verdict_dict(verdict, "llm", **extra)}


Graph = CompiledStateGraph[AnalysisState, AgentContext, AnalysisState, AnalysisState]


def make_analysis_graph() -> Graph:
    """Build the analysis graph (runs without an LLM: the model's nodes are then skipped)."""
    graph = StateGraph(AnalysisState, context_schema=AgentContext)
    graph.add_node("technical", technical_node)
    graph.add_node("news", news_node)
    graph.add_node("plan", plan_node)
    graph.add_node("debate", debate_node)
    graph.add_node("reason", reason_node)
    graph.add_node("decide", decide_node)
    graph.add_edge(START, "technical")
    graph.add_node("analysts", analysts_node)
    graph.add_edge("technical", "news")
    graph.add_edge("news", "analysts")
    graph.add_edge("analysts", "plan")
    graph.add_conditional_edges("plan", _route_plan, ["debate", "reason", "decide"])
    graph.add_conditional_edges("debate", _route_debate, ["reason", "decide"])
    graph.add_edge("reason", "decide")
    graph.add_edge("decide", END)
    return graph.compile()


@lru_cache(maxsize=1)
def analysis_graph() -> Graph:
    """The compiled graph, built once per process."""
    return make_analysis_graph()


async def run_analysis(state: AnalysisState, ctx: AgentContext) -> tuple[AnalysisState, float]:
    """Run the graph once; returns its final state and how long it took (ms)."""
    started = time.perf_counter()
    out = await analysis_graph().ainvoke(state, context=ctx)
    return AnalysisState(**out), round((time.perf_counter() - started) * 1000, 3)  # type: ignore[typeddict-item]
