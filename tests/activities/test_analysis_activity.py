"""The analyse step records each decision once; a re-run returns what was recorded first."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.analysis import AnalysisActivities
from activities.contracts import AnalyseInput, AnalyzeRequest, Bar, LlmBudget, SymbolSnapshot
from activities.deps import Deps
from exchanges.data import SeriesSpec
from store import repo
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from store.models import LlmCallRow
from tests.agents.support import HOUR, T0, llm_config, trending
from tests.factories import make_config
from tests.llm_emulator import LlmEmulator
from trading.news import make_news_item

AS_OF = T0 + 200 * HOUR


def snapshot(*closes: int) -> SymbolSnapshot:
    values = [Decimal(c) for c in closes]
    return SymbolSnapshot(
        symbol="MSFT/USD", ts=datetime(2020, 1, 1, tzinfo=UTC), last=values[-1], closes=values
    )


async def test_a_rerun_with_newer_prices_returns_the_first_decision(deps: Deps) -> None:
    cfg = make_config(params={"fast": 2, "slow": 5, "size": "1"})
    act = AnalysisActivities(deps).analyse
    env = ActivityEnvironment()
    first = await env.run(
        act, AnalyseInput(config=cfg, cycle=7, snapshots=[snapshot(10, 10, 10, 10, 11, 12, 13)])
    )
    rerun = await env.run(
        act, AnalyseInput(config=cfg, cycle=7, snapshots=[snapshot(13, 13, 13, 13, 12, 11, 10)])
    )
    assert first.decisions[0].target == "long"
    assert rerun.decisions == first.decisions
    nxt = await env.run(
        act, AnalyseInput(config=cfg, cycle=8, snapshots=[snapshot(13, 13, 13, 13, 12, 11, 10)])
    )
    assert nxt.decisions[0].target == "flat"
    async with deps.sessions() as s:
        rows = await repo.list_decisions(s, strategy_id=cfg.strategy_id)
    assert sorted((r.cycle, r.target) for r in rows) == [(7, "long"), (8, "flat")]


# ---- the agent: model, records, retries, budgets, no look-ahead -------------------------------

BUY = {"signal": "buy", "confidence": 0.9, "size": 0.5, "rationale": "up", "evidence": ["technical"]}


def agent_snapshot(n: int = 200, *, symbol: str = "MSFT/USD") -> SymbolSnapshot:
    bars = [Bar.model_validate(c, from_attributes=True) for c in trending(n)]
    return SymbolSnapshot(
        symbol=symbol, ts=bars[-1].ts, last=bars[-1].close, closes=[b.close for b in bars], bars=bars
    )


def env_at(attempt: int, most: int = 3) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=attempt,
        retry_policy=RetryPolicy(maximum_attempts=most),
        start_to_close_timeout=timedelta(minutes=5),
        started_time=datetime.now(UTC),
    )
    return env


async def llm_rows(deps: Deps, strategy_id: str) -> list[LlmCallRow]:
    async with deps.sessions() as s:
        return list((await s.scalars(select(LlmCallRow).where(LlmCallRow.strategy_id == strategy_id))).all())


async def test_agent_decision_is_recorded_in_full_and_never_asked_twice(deps: Deps, emu: LlmEmulator) -> None:
    deps.llm = llm_config(emu)
    emu.answer(BUY)
    cfg = make_config(type="agent", params={})
    inp = AnalyseInput(config=cfg, cycle=1, snapshots=[agent_snapshot()], as_of=AS_OF)
    first = await env_at(1).run(AnalysisActivities(deps).analyse, inp)
    [d] = first.decisions
    assert d.mode == "llm" and d.target == "long" and d.size == 0.5 and d.model == emu.model
    assert d.tokens_in > 0 and d.prompt_hash and d.as_of == AS_OF and d.id is not None
    assert d.inputs["window"]["bars"] == 120 and d.output["llm"]["signal"] == "buy"
    assert first.llm is not None and first.llm.tokens == d.tokens_in + d.tokens_out
    again = await env_at(2).run(AnalysisActivities(deps).analyse, inp)
    assert again.decisions == first.decisions and len(emu.requests) == 1
    [row] = await llm_rows(deps, cfg.strategy_id)
    assert row.ok and row.purpose == "reason" and row.tokens_in == d.tokens_in
    async with deps.sessions() as s:
        full = await repo.get_decision(s, decision_id=d.id)
    assert full is not None and full.output is not None and full.output["calls"][0]["ok"]
    await deps.close()


async def test_unreachable_model_retries_then_records_a_hold(deps: Deps, emu: LlmEmulator) -> None:
    deps.llm = llm_config(emu)
    emu.script("500", "500")
    cfg = make_config(type="agent", params={})
    inp = AnalyseInput(config=cfg, cycle=1, snapshots=[agent_snapshot()], as_of=AS_OF)
    with pytest.raises(ApplicationError) as err:
        await env_at(1).run(AnalysisActivities(deps).analyse, inp)
    assert err.value.type == "LlmUnavailable" and not err.value.non_retryable
    async with deps.sessions() as s:
        assert await repo.cycle_decisions(s, strategy_id=cfg.strategy_id, cycle=1) == []
    out = await env_at(3).run(AnalysisActivities(deps).analyse, inp)
    [d] = out.decisions
    assert d.mode == "failsafe_hold" and d.target == "hold" and "HTTP 500" in d.error
    rows = await llm_rows(deps, cfg.strategy_id)
    assert sorted(r.call_key.split("/")[-2] for r in rows) == ["a1", "a3"] and not any(r.ok for r in rows)
    await deps.close()


async def test_spent_budget_falls_back_and_says_so(deps: Deps, emu: LlmEmulator) -> None:
    deps.llm = llm_config(emu)
    cfg = make_config(type="agent", params={}, llm_budget=LlmBudget(daily_tokens=50))
    act = AnalysisActivities(deps).analyse
    one = await env_at(1).run(
        act, AnalyseInput(config=cfg, cycle=1, snapshots=[agent_snapshot()], as_of=AS_OF)
    )
    assert one.decisions[0].mode == "llm"
    assert one.llm is not None and one.llm.exhausted and one.llm.action == "fallback" and one.llm.tokens > 50
    two = await env_at(1).run(
        act, AnalyseInput(config=cfg, cycle=2, snapshots=[agent_snapshot()], as_of=AS_OF)
    )
    assert two.decisions[0].mode == "budget_fallback" and two.decisions[0].target == "long"
    assert len(emu.requests) == 1
    halting = cfg.model_copy(update={"llm_budget": LlmBudget(daily_tokens=50, on_exhausted="halt")})
    three = await env_at(1).run(
        act, AnalyseInput(config=halting, cycle=3, snapshots=[agent_snapshot()], as_of=AS_OF)
    )
    assert three.decisions[0].target == "hold" and three.llm is not None and three.llm.action == "halt"
    await deps.close()


async def test_no_look_ahead_through_the_store_and_the_price_history(
    tmp_path: Path, emu: LlmEmulator
) -> None:
    """Future bars planted in the price file and future news planted in the store are not used."""
    rows = ["ts,open,high,low,close,volume"]
    for c in trending(200):  # closed by AS_OF
        rows.append(f"{c.ts:%Y-%m-%dT%H:%M:%SZ},{c.open},{c.high},{c.low},{c.close},{c.volume}")
    for i in range(100):  # planted: a crash after AS_OF
        ts = AS_OF + i * HOUR
        rows.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},1,1,1,1,1000000")
    path = tmp_path / "TEST-USD-1h.csv"
    path.write_text("\n".join(rows) + "\n")
    spec = SeriesSpec("TEST/USD", path, "TEST", "USD", Decimal("0.01"), Decimal("0.01"), Decimal("0.01"))
    url = sqlite_url(tmp_path / "a.db")
    await migrate(url)
    engine = make_engine(url)
    deps = Deps(
        sessions=make_sessionmaker(engine),
        home=tmp_path,
        exchange_options={"series": {"TEST/USD": spec}},
        llm=llm_config(emu),
    )
    aliases = {"TEST/USD": ["Testco"]}
    stories = [
        ("Testco beats estimates and raises guidance", AS_OF - 10 * HOUR),
        ("PLANTED Testco collapses in fraud scandal", AS_OF + HOUR),
        ("PLANTED Testco bankrupt", AS_OF + 50 * HOUR),
    ]
    items = [
        make_news_item(
            source="t", title=t, summary="", published_at=at, now=AS_OF + 1000 * HOUR, aliases=aliases
        )
        for t, at in stories
    ]
    async with deps.transaction() as s:
        await repo.add_news_items(s, items=[i for i in items if i is not None], now=AS_OF)
    try:
        act = AnalysisActivities(deps).analyze_once
        d = await env_at(1).run(act, AnalyzeRequest(analysis_id="nolook", symbol="TEST/USD", as_of=AS_OF))
        assert d.mode == "llm" and d.inputs["window"]["last"] == (AS_OF - HOUR).isoformat()
        assert len(d.news_ids) == 1 and d.inputs["news"]["items"][0]["title"].startswith("Testco beats")
        prompt = json.dumps(emu.requests)
        assert "PLANTED" not in prompt and "1000000" not in prompt
        later = await env_at(1).run(
            act, AnalyzeRequest(analysis_id="later", symbol="TEST/USD", as_of=AS_OF + 60 * HOUR)
        )
        assert len(later.news_ids) == 3 and "PLANTED" in json.dumps(emu.requests[-1])  # the test can fail
    finally:
        await deps.close()
        await engine.dispose()


async def test_symbols_at_once_share_one_budget_and_never_overspend_together(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu)
    symbols = ["MSFT/USD", "GOOGL/USD", "SPX/USD"]
    cfg = make_config(type="agent", params={}, symbols=symbols, llm_budget=LlmBudget(daily_tokens=10))
    snaps = [agent_snapshot(symbol=s) for s in symbols]
    out = await env_at(1).run(
        AnalysisActivities(deps).analyse, AnalyseInput(config=cfg, cycle=1, snapshots=snaps, as_of=AS_OF)
    )
    assert len(emu.requests) == 1  # the first call spent it; the others waited their turn and saw that
    assert sorted(d.mode for d in out.decisions) == ["budget_fallback", "budget_fallback", "llm"]
    await deps.close()


async def test_one_symbols_unreachable_model_keeps_the_others_decisions_and_every_call(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu)
    symbols = ["MSFT/USD", "GOOGL/USD"]
    cfg = make_config(type="agent", params={}, symbols=symbols)
    inp = AnalyseInput(
        config=cfg, cycle=1, snapshots=[agent_snapshot(symbol=s) for s in symbols], as_of=AS_OF
    )
    emu.script("500")
    with pytest.raises(ApplicationError):
        await env_at(1).run(AnalysisActivities(deps).analyse, inp)
    rows = await llm_rows(deps, cfg.strategy_id)
    assert sorted(r.ok for r in rows) == [False, True] and sum(r.tokens_in for r in rows) > 0
    async with deps.sessions() as s:
        kept = await repo.cycle_decisions(s, strategy_id=cfg.strategy_id, cycle=1)
    assert len(kept) == 1 and kept[0].mode == "llm"
    out = await env_at(2).run(AnalysisActivities(deps).analyse, inp)
    assert len(out.decisions) == 2 and len(emu.requests) == 3  # the retry asked only for the other
    await deps.close()


async def test_no_time_left_in_the_step_means_a_hold_not_a_timed_out_step(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu)
    cfg = make_config(type="agent", params={})
    env = env_at(3)
    env.info = dataclasses.replace(env.info, start_to_close_timeout=timedelta(seconds=11))
    out = await env.run(
        AnalysisActivities(deps).analyse,
        AnalyseInput(config=cfg, cycle=1, snapshots=[agent_snapshot()], as_of=AS_OF),
    )
    [d] = out.decisions
    assert d.mode == "failsafe_hold" and "no time left" in d.error and emu.requests == []
    await deps.close()
