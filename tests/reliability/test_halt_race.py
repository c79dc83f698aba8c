"""Halts raced against strategies placing orders back to back: nothing is placed after a halt returns.

Placement is slowed by a stand-in registered under the real activity name (it waits,
then calls the real one), so halts land while placements are on their way.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest, StatusChanged, StrategyState
from activities.deps import Deps
from store import repo
from tests.factories import insert_strategy, make_config
from tests.reliability.slowed import slowed_placement
from worker.runtime import serve_workers
from workflows.options import strategy_workflow_id
from workflows.strategy import StrategyWorkflow

STRATEGIES = 6


async def test_no_order_is_placed_after_any_halt_returned(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    configs = [
        make_config(
            strategy_id=f"race{i}",
            symbols=["MSFT/USD", "GOOGL/USD", "SPX/USD"],
            interval_s=0.0,
            params={"fast": 2, "slow": 3, "size": "1"},
        )
        for i in range(STRATEGIES)
    ]
    acts, waiting = slowed_placement(deps, 0.3)
    tq = f"race-{uuid.uuid4()}"
    async with serve_workers(dev_env.client, deps, task_queue=tq, activities=acts):
        handles = []
        for cfg in configs:
            await insert_strategy(deps, cfg)
            handles.append(
                await dev_env.client.start_workflow(
                    StrategyWorkflow.run,
                    StrategyState(config=cfg),
                    id=strategy_workflow_id(cfg.strategy_id),
                    task_queue=tq,
                )
            )
        for _ in range(600):  # until every strategy has traded
            async with deps.sessions() as s:
                orders = await repo.list_orders(s, limit=100_000)
            if {o.strategy_id for o in orders} == {c.strategy_id for c in configs} and len(waiting) >= 3:
                break  # every strategy has traded, and several placements are on their way
            await asyncio.sleep(0.01)
        assert len(waiting) >= 3, "the race needs placements in flight"
        halts: list[StatusChanged] = await asyncio.gather(
            *(
                h.execute_update(StrategyWorkflow.halt, HaltRequest(reason="race"), result_type=StatusChanged)
                for h in handles
            )
        )
        await asyncio.sleep(1.0)  # anything still under way would land now
        venue_orders = await deps.exchange("paper").orders()
        for h in handles:
            await h.execute_update(StrategyWorkflow.stop, HaltRequest(reason="end"))
    halted_at = {h.strategy_id: h.at for h in halts}
    assert len(venue_orders) >= STRATEGIES
    late = [
        (o.client_order_id, o.created_at, halted_at[sid])
        for o in venue_orders
        for sid in [o.client_order_id.split("-c")[0]]
        if o.created_at > halted_at[sid]
    ]
    assert late == [], f"orders placed after their strategy's halt returned: {late}"
