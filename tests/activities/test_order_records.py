"""Order records follow the venue forward only; the risk step sizes nothing on top of an unfinished order."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.contracts import Decision, RiskInput, SymbolSnapshot
from activities.deps import Deps
from activities.orders import OrderActivities, record_venue_order
from activities.risk import RiskActivities
from store import repo
from tests.factories import insert_strategy, make_config
from tests.workflows.test_order_workflow import make_plan
from trading.models import OrderStatus


async def test_a_stale_venue_view_never_moves_an_order_backwards(deps: Deps) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    plan = make_plan(cfg.strategy_id)
    await ActivityEnvironment().run(OrderActivities(deps).place_order, plan)
    filled = await deps.exchange("paper").fetch_order(plan.client_order_id)
    stale = dataclasses.replace(filled, status=OrderStatus.OPEN, filled_qty=Decimal(0), fills=())
    async with deps.transaction() as s:
        await record_venue_order(s, plan, stale)
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
    assert row is not None and row.status == "filled" and row.filled_qty == Decimal(3)


async def test_risk_sizes_nothing_while_an_order_of_the_symbol_is_unfinished(deps: Deps) -> None:
    cfg = make_config(symbols=["MSFT/USD", "GOOGL/USD"])
    await insert_strategy(deps, cfg)
    resting = make_plan(cfg.strategy_id, type="limit", price=Decimal("5.00"), qty=Decimal(3))
    out = await ActivityEnvironment().run(OrderActivities(deps).place_order, resting)
    assert out.status == "open"
    ex = deps.exchange("paper")
    snaps = [
        SymbolSnapshot(symbol=sym, ts=t.ts, last=t.last, closes=[t.last])
        for sym in cfg.symbols
        for t in [await ex.ticker(sym)]
    ]
    longs = [Decision(symbol=sym, target="long", confidence=0.9, rationale="test") for sym in cfg.symbols]
    result = await ActivityEnvironment().run(
        RiskActivities(deps).risk_approve, RiskInput(config=cfg, cycle=2, decisions=longs, snapshots=snaps)
    )
    assert [p.symbol for p in result.approved] == ["GOOGL/USD"]
    assert result.approved[0].client_order_id == f"{cfg.strategy_id}-c2-l1"
