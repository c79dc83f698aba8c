"""Protective exits in a running strategy: real dev server, real store, the paper venue."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest, StatusChanged
from activities.deps import Deps
from store import repo
from tests.conftest import running_worker
from tests.factories import insert_strategy, make_config
from tests.workflows.test_strategy_workflow import eventually, start
from trading.exits import Exits
from workflows.strategy import StrategyWorkflow


async def test_every_position_rests_protected_signal_exits_pass_and_flatten_takes_the_exits(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    # wide levels, so the signal decides the exits of this run and the venue-held set stays put
    exits = Exits(stop_loss=Decimal("0.5"), take_profit=Decimal("5"))
    cfg = make_config(exits=exits)
    await insert_strategy(deps, cfg)
    venue = deps.exchange("paper")
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)

        async def protected_after_a_signal_exit() -> bool:
            async with deps.sessions() as s:
                orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
                positions = await repo.get_positions(s, strategy_id=cfg.strategy_id)
            sold = [o for o in orders if not o.exit_kind and o.side == "sell" and o.status == "filled"]
            held = sum((p.qty for p in positions), Decimal(0))
            resting = [o for o in await venue.open_orders() if o.oco_group]
            return bool(sold) and held > 0 and sorted(o.qty for o in resting) == [held, held]

        await eventually(protected_after_a_signal_exit, timeout=90, what="a re-entry protected again")
        changed = await handle.execute_update(
            StrategyWorkflow.halt,
            HaltRequest(reason="test flatten", flatten=True, wait="all"),
            result_type=StatusChanged,
        )
        assert changed.status == "halted"

        async def flat() -> bool:
            async with deps.sessions() as s:
                positions = await repo.get_positions(s, strategy_id=cfg.strategy_id)
            return all(p.qty == 0 for p in positions) and await venue.open_orders() == []

        await eventually(flat, what="flat with no exit left")
    async with deps.sessions() as s:
        orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
    refused = [o for o in orders if o.status == "rejected"]
    assert refused == [], [(o.client_order_id, o.reason) for o in refused]
    exit_rows = [o for o in orders if o.exit_kind]
    assert exit_rows and all(o.status == "cancelled" for o in exit_rows)
    # one set per protected position: each cycle's placements are one stop and one target
    by_cycle: dict[int, list[str]] = {}
    for o in exit_rows:
        by_cycle.setdefault(o.cycle, []).append(o.exit_kind)
    assert all(sorted(kinds) == ["stop_loss", "take_profit"] for kinds in by_cycle.values())
