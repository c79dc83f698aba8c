"""Reconcile flags every difference between the venue and our books, and never overwrites ours."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.contracts import OrderOutcome, ReconcileInput, SymbolSnapshot
from activities.deps import Deps, utcnow
from activities.orders import OrderActivities
from activities.reconcile import ReconcileActivities
from store import repo
from tests.factories import insert_strategy, make_config
from tests.workflows.test_order_workflow import make_plan
from trading.models import OrderRequest, OrderType, Side


async def _snapshot(deps: Deps, symbol: str) -> SymbolSnapshot:
    t = await deps.exchange("paper").ticker(symbol)
    return SymbolSnapshot(symbol=symbol, ts=t.ts, last=t.last, closes=[t.last])


async def test_reconcile_records_pnl_and_flags_mismatches_without_overwriting(deps: Deps) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    env = ActivityEnvironment()
    plan = make_plan(cfg.strategy_id, qty=Decimal(4))
    placed = await env.run(OrderActivities(deps).place_order, plan)
    assert placed.status == "filled"
    snap = await _snapshot(deps, "MSFT/USD")
    rec = ReconcileActivities(deps)

    clean = await env.run(
        rec.reconcile, ReconcileInput(config=cfg, cycle=1, outcomes=[placed], snapshots=[snap])
    )
    assert clean.mismatches == []
    assert clean.fees == placed.fee
    assert clean.unrealised == (snap.last - placed.avg_price) * 4  # type: ignore[operator]
    assert clean.equity == cfg.capital + clean.realised + clean.unrealised - clean.fees

    # Our books drift from the venue: a position we think is 7, and an order only the venue knows.
    async with deps.sessions.begin() as s:
        await repo.upsert_position(
            s,
            strategy_id=cfg.strategy_id,
            symbol="MSFT/USD",
            qty=Decimal(7),
            avg_price=Decimal(1),
            realised_pnl=Decimal(0),
            fees=Decimal(0),
            now=utcnow(),
        )
    stray = await deps.exchange("paper").create_order(
        OrderRequest(
            client_order_id="stray-1", symbol="MSFT/USD", side=Side.BUY, type=OrderType.MARKET, qty=Decimal(1)
        )
    )
    unknown = OrderOutcome(client_order_id=stray.client_order_id, symbol="MSFT/USD", status="filled")
    drift = await env.run(
        rec.reconcile, ReconcileInput(config=cfg, cycle=2, outcomes=[placed, unknown], snapshots=[snap])
    )
    assert any("balance MSFT: ours 7, venue 5" in m for m in drift.mismatches), drift.mismatches
    assert any("stray-1" in m and "no record" in m for m in drift.mismatches), drift.mismatches
    async with deps.sessions() as s:
        events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="reconcile_mismatch")
        positions = await repo.get_positions(s, strategy_id=cfg.strategy_id)
        snapshots = await repo.list_pnl(s, strategy_id=cfg.strategy_id)
    assert {e.reason for e in events} == set(drift.mismatches)
    assert positions[0].qty == Decimal(7), "reconcile must flag, not overwrite"
    assert [p.cycle for p in snapshots] == [2, 1]

    again = await env.run(  # a retried reconcile records nothing twice
        rec.reconcile, ReconcileInput(config=cfg, cycle=2, outcomes=[placed, unknown], snapshots=[snap])
    )
    async with deps.sessions() as s:
        assert len(await repo.list_events(s, strategy_id=cfg.strategy_id, kind="reconcile_mismatch")) == len(
            events
        )
        assert len(await repo.list_pnl(s, strategy_id=cfg.strategy_id)) == 2
    assert again.mismatches == drift.mismatches
