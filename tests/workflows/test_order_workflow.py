"""OrderWorkflow: idempotent placement, time in force, halted gate."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from activities.contracts import OrderOutcome, OrderPlan
from activities.deps import Deps
from store import repo
from tests.conftest import running_worker
from tests.factories import insert_strategy, make_config
from trading.models import ClientOrderId
from workflows.options import order_workflow_id
from workflows.order import OrderWorkflow


def make_plan(strategy_id: str, *, cycle: int = 1, leg: int = 0, **overrides: object) -> OrderPlan:
    fields: dict[str, object] = {
        "strategy_id": strategy_id,
        "exchange": "paper",
        "cycle": cycle,
        "leg": leg,
        "client_order_id": ClientOrderId.derive(strategy_id, cycle, leg).value,
        "symbol": "MSFT/USD",
        "side": "buy",
        "qty": Decimal(3),
        "ref_price": Decimal(100),
    }
    fields.update(overrides)
    return OrderPlan(**fields)  # type: ignore[arg-type]


async def run_order(env: WorkflowEnvironment, plan: OrderPlan, tq: str) -> OrderOutcome:
    return await env.client.execute_workflow(
        OrderWorkflow.run, plan, id=order_workflow_id(plan.client_order_id), task_queue=tq
    )


async def test_market_order_fills_and_rerun_places_nothing_twice(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    plan = make_plan(cfg.strategy_id)
    async with running_worker(dev_env.client, deps) as tq:
        first = await run_order(dev_env, plan, tq)
        again = await run_order(dev_env, plan, tq)  # same client order id: looked up, not placed
    assert first.status == "filled" and first.filled_qty == Decimal(3)
    assert again.status == "filled" and again.avg_price == first.avg_price
    venue = await deps.exchange("paper").orders()
    assert [o.client_order_id for o in venue] == [plan.client_order_id]
    async with deps.sessions() as s:
        fills = await repo.list_fills(s, strategy_id=cfg.strategy_id)
        positions = await repo.get_positions(s, strategy_id=cfg.strategy_id)
    assert len(fills) == 1
    assert positions[0].qty == Decimal(3)


async def test_limit_order_is_cancelled_when_time_in_force_ends(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    plan = make_plan(cfg.strategy_id, type="limit", price=Decimal("5.00"), time_in_force_s=3600)
    async with running_worker(time_env.client, deps) as tq:
        out = await run_order(time_env, plan, tq)  # an hour of polling, skipped
    assert out.status == "cancelled", out.reason
    open_orders = await deps.exchange("paper").open_orders()
    assert open_orders == []
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
    assert row is not None and row.status == "cancelled" and row.reason == "time in force"


async def test_closed_gate_blocks_placement(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg, status="halted")
    plan = make_plan(cfg.strategy_id)
    async with running_worker(dev_env.client, deps) as tq:
        out = await run_order(dev_env, plan, tq)
    assert out.status == "rejected" and "halted" in out.reason
    assert await deps.exchange("paper").orders() == []


async def test_venue_rejection_is_recorded_with_its_reason(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    plan = make_plan(cfg.strategy_id, qty=Decimal(10_000_000))  # far beyond the paper balance
    async with running_worker(dev_env.client, deps) as tq:
        out = await run_order(dev_env, plan, tq)
    assert out.status == "rejected" and "venue rejected" in out.reason
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
    assert row is not None and row.status == "rejected" and "is available" in row.reason
