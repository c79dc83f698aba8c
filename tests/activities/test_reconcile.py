"""Reconcile flags every difference between the venue and our books, and never overwrites ours."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.contracts import OrderOutcome, ReconcileInput, SymbolSnapshot
from activities.deps import Deps, utcnow
from activities.orders import OrderActivities
from activities.reconcile import ReconcileActivities
from exchanges.paper import PaperExchange
from exchanges.paper_margin import PaperMargin
from store import repo
from tests.exchanges.conftest import EPOCH, FakeClock, moves_spec
from tests.exchanges.test_exchanges_paper_margin import RISING
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


async def test_a_liquidation_at_the_venue_is_recorded_in_the_books_of_the_short_it_closed(
    deps: Deps, tmp_path: Path
) -> None:
    clock = FakeClock()
    venue = PaperExchange(
        tmp_path / "margin.db",
        series={"TEST/USD": moves_spec(tmp_path, RISING)},
        bars_per_second=1.0,
        start_bar=0,
        initial_balances={"USD": Decimal(10_000)},
        clock=clock,
        margin=PaperMargin(borrow_rate=Decimal(0), initial=Decimal("0.5"), maintenance=Decimal("0.25")),
    )
    deps._exchanges["paper"] = venue  # the deps close it
    cfg = make_config(symbols=["TEST/USD"], direction="long_short")
    await insert_strategy(deps, cfg)
    env = ActivityEnvironment()
    short = make_plan(cfg.strategy_id, symbol="TEST/USD", side="sell", qty=Decimal(190))
    assert (await env.run(OrderActivities(deps).place_order, short)).status == "filled"
    clock.now = EPOCH + timedelta(seconds=5)  # bar 3's close of 125 liquidated it

    async def reconcile(cycle: int) -> list[str]:
        t = await venue.ticker("TEST/USD")
        snap = SymbolSnapshot(symbol="TEST/USD", ts=t.ts, last=t.last, closes=[t.last])
        inp = ReconcileInput(config=cfg, cycle=cycle, outcomes=[], snapshots=[snap])
        return (await env.run(ReconcileActivities(deps).reconcile, inp)).mismatches

    assert await reconcile(2) == []  # the books agree with the venue again: nothing to flag
    async with deps.sessions() as s:
        (position,) = await repo.get_positions(s, strategy_id=cfg.strategy_id)
        liquidation = await repo.get_order(s, client_order_id="liquidation-3-TEST")
        (event,) = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="liquidated")
    assert position.qty == 0 and position.realised_pnl == (Decimal("99.95") - Decimal("125.07")) * 190
    assert liquidation is not None and (liquidation.side, liquidation.filled_qty) == ("buy", Decimal(190))
    assert "below the maintenance margin" in event.reason
    assert await reconcile(3) == []  # recorded once
    async with deps.sessions() as s:
        assert len(await repo.list_fills(s, strategy_id=cfg.strategy_id)) == 2
