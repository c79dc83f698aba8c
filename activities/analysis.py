"""The analyse step (TACoreService): run the analysis graph per symbol and record each decision.

A decision is recorded once, in the store and (as this activity's result) in the workflow's
history; a retry or a replay returns the recorded one and never asks the model again. Every LLM
call is recorded with its tokens and cost, also when the decision is then retried, and the
strategy's daily budget is the sum of those records.
"""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Coroutine
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.contracts import (
    AnalyseInput,
    AnalyseResult,
    AnalyzeRequest,
    Decision,
    LlmBudget,
    LlmSpend,
    StrategyConfig,
    SymbolSnapshot,
)
from activities.deps import Deps, translate_errors, utcnow
from activities.llm_calls import call_rows, count_calls
from activities.metrics import DECISIONS
from activities.strategy_code import strategy_type
from agents.analysis import AnalysisState, run_analysis
from agents.context import AgentContext, AsOfData, Budget
from agents.llm import CallLog
from asts.builtin.agent import AgentParams
from store import repo
from store.models import DecisionRow
from trading.analysts import NewsRef
from trading.errors import InvalidInput
from trading.models import Candle

# Symbols analysed at once in one step (each may wait seconds on the model).
CONCURRENCY = 4
# Attempts before an unreachable model makes the decision a hold (when the retry policy has none).
DEFAULT_ATTEMPTS = 3
NEWS_LIMIT = 20
# Seconds of the step's timeout kept for recording the decision after the last model call.
DEADLINE_MARGIN_S = 10.0


def _candles(snap: SymbolSnapshot) -> list[Candle]:
    """The snapshot's bars; a scan recorded by an older version has closes only (a strategy that
    ran across the upgrade): those become one-second bars ending at the scan's time, enough
    for a rule over closes to decide on what that scan saw."""
    if snap.bars or not snap.closes:
        return [Candle(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in snap.bars]
    n, second = len(snap.closes), timedelta(seconds=1)
    return [Candle(snap.ts - (n - i) * second, c, c, c, c, Decimal(0)) for i, c in enumerate(snap.closes)]


def final_attempt() -> bool:
    """Whether this is the activity's last attempt (then an unreachable model means hold)."""
    info = activity.info()
    policy = info.retry_policy
    most = policy.maximum_attempts if policy is not None and policy.maximum_attempts > 0 else DEFAULT_ATTEMPTS
    return info.attempt >= most


def step_deadline() -> float | None:
    """``time.monotonic()`` by which the last model call must have started: the step's own
    timeout less a margin, so a slow model ends in a hold rather than a timed-out step."""
    info = activity.info()
    limit = info.start_to_close_timeout
    if not limit:
        return None
    elapsed = (utcnow() - info.started_time).total_seconds() if info.started_time else 0.0
    return clock.monotonic() + limit.total_seconds() - max(0.0, elapsed) - DEADLINE_MARGIN_S


def budget_day(now: datetime) -> datetime:
    """Start of the UTC day a budget counts from."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


def _left(budget: LlmBudget | None, tokens: int, cost: Decimal) -> Budget:
    """What ``budget`` leaves once ``tokens`` and ``cost`` are spent (no budget: no limit)."""
    if budget is None:
        return Budget()
    return Budget(
        tokens_left=None if budget.daily_tokens is None else budget.daily_tokens - tokens,
        cost_left=None if budget.daily_cost is None else budget.daily_cost - cost,
    )


def to_decision(row: DecisionRow) -> Decision:
    """The contract form of a recorded decision (its whole record)."""
    signal = row.signal or {}
    return Decision(
        id=row.id,
        symbol=row.symbol,
        target=row.target,  # type: ignore[arg-type]
        confidence=row.confidence,
        rationale=row.rationale,
        indicators=signal.get("indicators", {}),
        size=signal.get("size"),
        mode=row.mode,  # type: ignore[arg-type]
        as_of=row.as_of,
        model=row.model,
        prompt_hash=row.prompt_hash,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost=row.cost,
        latency_ms=row.latency_ms,
        error=row.error,
        code_version=row.code_version,
        news_ids=(row.inputs or {}).get("news_ids", []),
        inputs=row.inputs or {},
        output=row.output or {},
    )


class AnalysisActivities:
    """Agent activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="analyse")
    @translate_errors
    async def analyse(self, inp: AnalyseInput) -> AnalyseResult:
        """One decision per symbol of a strategy's cycle, recorded once."""
        cfg = inp.config
        async with self.deps.sessions() as s:
            done = {
                r.symbol: r
                for r in await repo.cycle_decisions(s, strategy_id=cfg.strategy_id, cycle=inp.cycle)
            }
        as_of = inp.as_of or utcnow()
        kind = await strategy_type(self.deps, cfg.type, cfg.code_version)
        budget, spend = await self._budget(cfg)
        todo = [snap for snap in inp.snapshots if snap.symbol not in done]
        if todo:
            logs: dict[str, CallLog] = {snap.symbol: CallLog() for snap in todo}
            # Every symbol's bars: a strategy may read the others' (``bars.peer``) beside its own.
            bars_of = {snap.symbol: _candles(snap) for snap in inp.snapshots}
            news = await self._news(cfg.type, cfg.params, [s.symbol for s in todo], as_of)
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(snap: Any) -> tuple[str, AnalysisState, float]:
                async with gate:
                    candles = bars_of[snap.symbol]
                    state: AnalysisState = {
                        "symbol": snap.symbol,
                        "strategy_type": cfg.type,
                        "params": cfg.params,
                        "as_of": as_of,
                        "closes": snap.closes,
                    }
                    ctx = self._context(candles, news.get(snap.symbol, []), budget, logs[snap.symbol])
                    ctx.strategy = kind
                    ctx.peers = {sym: c for sym, c in bars_of.items() if sym != snap.symbol}
                    ctx.hold_when_spent = cfg.llm_budget is not None and cfg.llm_budget.on_exhausted == "halt"
                    return await self._one(snap.symbol, state, ctx)

            key = f"{cfg.strategy_id}/{inp.cycle}"
            results, failure = await self._run_all([one(snap) for snap in todo], cfg.strategy_id, key, logs)
            now = utcnow()
            async with self.deps.transaction() as s:
                for symbol, out, ms in results:
                    row = await repo.record_decision(
                        s,
                        strategy_id=cfg.strategy_id,
                        cycle=inp.cycle,
                        symbol=symbol,
                        now=now,
                        **self._record(out, ms, logs[symbol], kind.version),
                    )
                    done[symbol] = row  # a re-run (after a crash) saw newer prices: the first stands
            if failure is not None:  # the symbols decided are kept: a retry asks only for the rest
                raise failure
            spend = spend.model_copy(
                update={
                    "tokens": spend.tokens + sum(log.tokens for log in logs.values()),
                    "cost": spend.cost + sum((log.cost for log in logs.values()), Decimal(0)),
                    "calls": spend.calls + sum(len(log.calls) for log in logs.values()),
                }
            )
        decisions = [to_decision(done[snap.symbol]) for snap in inp.snapshots if snap.symbol in done]
        for d in decisions:
            DECISIONS.labels(d.target).inc()
        budgeted = cfg.llm_budget
        if budgeted is not None:
            exhausted = budget.spent
            spend = spend.model_copy(
                update={"exhausted": exhausted, "action": budgeted.on_exhausted if exhausted else ""}
            )
        return AnalyseResult(decisions=decisions, llm=spend if self.deps.llm is not None else None)

    @activity.defn(name="analyze_once")
    @translate_errors
    async def analyze_once(self, req: AnalyzeRequest) -> Decision:
        """One analysis outside any strategy, recorded once under its analysis id."""
        async with self.deps.sessions() as s:
            row = await repo.get_decision(s, analysis_id=req.analysis_id)
        if row is not None:
            return to_decision(row)
        kind = await strategy_type(self.deps, req.strategy_type)
        need = max(kind.cls.warmup_of(kind.parse_params(req.params)) + 2, 120)
        ex = self.deps.exchange(req.exchange)
        if req.as_of is None:
            # Now: the venue's latest bar may still be forming; the as-of rule leaves it out.
            candles = await ex.ohlcv(req.symbol, limit=need + 1)
            as_of = utcnow()
        else:
            history = getattr(ex, "history", None)
            if history is None:
                raise InvalidInput(f"as_of needs stored price history, which exchange {req.exchange!r} lacks")
            as_of = req.as_of
            candles = await history(req.symbol, until=as_of, limit=need + 1)  # the last may be forming
        news = await self._news(req.strategy_type, req.params, [req.symbol], as_of, live=req.as_of is None)
        state: AnalysisState = {
            "symbol": req.symbol,
            "strategy_type": req.strategy_type,
            "params": req.params,
            "as_of": as_of,
            "closes": [c.close for c in candles if c.ts <= as_of],
        }
        log = CallLog()
        budget = await self._adhoc_budget(req.llm_budget)
        ctx = self._context(candles, news.get(req.symbol, []), budget, log)
        ctx.strategy = kind
        results, failure = await self._run_all(
            [self._one(req.symbol, state, ctx)], None, req.analysis_id, {req.symbol: log}
        )
        if failure is not None:
            raise failure
        [(_, out, ms)] = results
        async with self.deps.transaction() as s:
            row = await repo.record_decision(
                s,
                strategy_id=None,
                cycle=None,
                analysis_id=req.analysis_id,
                symbol=req.symbol,
                now=utcnow(),
                **self._record(out, ms, log, kind.version),
            )
        decision = to_decision(row)
        DECISIONS.labels(decision.target).inc()
        return decision

    # ---- helpers ------------------------------------------------------------------------------

    @staticmethod
    async def _one(symbol: str, state: AnalysisState, ctx: AgentContext) -> tuple[str, AnalysisState, float]:
        out, ms = await run_analysis(state, ctx)
        return symbol, out, ms

    async def _run_all(
        self,
        runs: list[Coroutine[Any, Any, tuple[str, AnalysisState, float]]],
        strategy_id: str | None,
        key: str,
        logs: dict[str, CallLog],
    ) -> tuple[list[tuple[str, AnalysisState, float]], BaseException | None]:
        """Run the graphs; record every model call whatever happens (failure, cancellation).

        Every run finishes before the calls are recorded, so no call is still under way
        (unrecorded) when the step gives up. Returns the runs that succeeded and the first
        failure, for the caller to raise once it has recorded the decisions taken.
        """
        try:
            results = await asyncio.gather(*runs, return_exceptions=True)
        finally:
            # Shielded: a cancelled step (its timeout) still records what its calls cost.
            await asyncio.shield(self._record_calls(strategy_id, key, logs))
        failed = [r for r in results if isinstance(r, BaseException)]
        return [r for r in results if not isinstance(r, BaseException)], (failed[0] if failed else None)

    def _context(
        self, candles: list[Candle], news: list[NewsRef], budget: Budget, log: CallLog
    ) -> AgentContext:
        return AgentContext(
            data=AsOfData(candles=candles, news=news),
            llm=self.deps.llm_client(),
            budget=budget,
            log=log,
            final_attempt=final_attempt(),
            deadline=step_deadline(),
        )

    async def _budget(self, cfg: StrategyConfig) -> tuple[Budget, LlmSpend]:
        """What is left of today's allowance, and what has been spent."""
        day = budget_day(utcnow())
        async with self.deps.sessions() as s:
            tokens, cost, calls = await repo.llm_spend(s, strategy_id=cfg.strategy_id, since=day)
        spend = LlmSpend(day=day.date().isoformat(), tokens=tokens, cost=cost, calls=calls)
        return _left(cfg.llm_budget, tokens, cost), spend

    async def _adhoc_budget(self, budget: LlmBudget | None) -> Budget:
        """What is left today of the allowance every ad-hoc analysis shares."""
        if budget is None:
            return Budget()
        async with self.deps.sessions() as s:
            tokens, cost, _ = await repo.llm_spend(s, strategy_id=None, since=budget_day(utcnow()))
        return _left(budget, tokens, cost)

    async def _news(
        self,
        strategy_type: str,
        params: dict[str, Any],
        symbols: list[str],
        as_of: datetime,
        *,
        live: bool = True,
    ) -> dict[str, list[NewsRef]]:
        """News per symbol as of the decision time (only the agent reads news); a live decision
        sees only what had been ingested by then, a historical one what had been published."""
        if strategy_type != "agent":
            return {}
        p = AgentParams.model_validate(params)
        lookback = timedelta(hours=p.news_lookback_h)
        out: dict[str, list[NewsRef]] = {}
        async with self.deps.sessions() as s:
            for sym in symbols:
                rows = await repo.news_as_of(
                    s,
                    symbol=sym,
                    as_of=as_of,
                    lookback=lookback,
                    limit=NEWS_LIMIT,
                    known_by=as_of if live else None,
                )
                out[sym] = [NewsRef(r.id, r.published_at, r.title, r.sentiment, r.source) for r in rows]
        return out

    @staticmethod
    def _record(out: AnalysisState, ms: float, log: CallLog, code_version: str) -> dict[str, Any]:
        """The decision record: result, inputs, model output, usage, and the code version that decided."""
        result = out["result"]
        news_ids = [n["id"] for n in (out.get("news") or {}).get("items", [])]
        tech = out.get("technical") or {}
        model = log.calls[0].model if log.calls else ""
        return {
            "target": result["target"],
            "confidence": result["confidence"],
            "rationale": result["rationale"],
            "signal": {
                "indicators": tech.get("indicators", {}),
                "call": result["call"],
                "size": result["size"] if out["strategy_type"] == "agent" else None,
                "evidence": result["evidence"],
            },
            "record": {
                "mode": result["mode"],
                "as_of": out["as_of"],
                "inputs": {
                    "as_of": out["as_of"].isoformat(),
                    "strategy_type": out["strategy_type"],
                    "params": out.get("params") or {},
                    "window": out.get("window") or {"closes": len(out.get("closes") or [])},
                    "technical": tech,
                    "news": out.get("news") or {},
                    "analysts": out.get("analysts") or [],
                    "news_ids": news_ids,
                },
                "output": {
                    **result,
                    "llm": out.get("llm"),
                    "debate": out.get("debate") or [],
                    "calls": [
                        {
                            "purpose": c.purpose,
                            "tokens_in": c.tokens_in,
                            "tokens_out": c.tokens_out,
                            "cost": str(c.cost),
                            "latency_ms": c.latency_ms,
                            "ok": c.ok,
                            "error": c.error,
                        }
                        for c in log.calls
                    ],
                },
                "model": model,
                "prompt_hash": out.get("prompt_hash", ""),
                "tokens_in": sum(c.tokens_in for c in log.calls),
                "tokens_out": sum(c.tokens_out for c in log.calls),
                "cost": log.cost,
                "latency_ms": ms,
                "error": out.get("llm_error", ""),
                "code_version": code_version,
            },
        }

    async def _record_calls(self, strategy_id: str | None, key: str, logs: dict[str, CallLog]) -> None:
        """Record every call made, in a transaction of its own (a decision's rollback keeps them)."""
        count_calls(self.deps.llm, logs)
        rows = call_rows(key, strategy_id, logs)
        if rows:
            async with self.deps.transaction() as s:
                await repo.record_llm_calls(s, calls=rows, now=utcnow())
