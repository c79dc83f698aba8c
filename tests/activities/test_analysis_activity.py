"""The analyse step records each decision once; a re-run returns what was recorded first."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.analysis import AnalysisActivities
from activities.contracts import AnalyseInput, SymbolSnapshot
from activities.deps import Deps
from store import repo
from tests.factories import make_config


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
