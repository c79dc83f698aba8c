"""Protective exits in a running strategy: real dev server, real store, the paper venue."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest, OrderPlan, StatusChanged
from activities.deps import Deps
from activities.orders import OrderActivities
from store import repo
from tests.activities.test_exits_binance import entry as binance_entry
from tests.conftest import running_worker
from tests.exchanges.test_ccxt_exchange_triggers import SYMBOL, moves
from tests.factories import insert_strategy, make_config
from tests.workflows.test_strategy_workflow import eventually, start
from trading.errors import ExchangeUnavailable
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


async def place_retrying(deps: Deps, plan: OrderPlan) -> None:
    """Place as the order workflow would: again after a temporary refusal (same client order id)."""
    for _ in range(10):
        try:
            await OrderActivities(deps).place(plan)
            return
        except ExchangeUnavailable:  # e.g. its short request window passed on a loaded machine
            await asyncio.sleep(0.2)
    raise AssertionError(f"{plan.client_order_id} was not placed")


async def test_an_exit_asts_holds_fires_between_cycles_and_a_stop_ends_the_watch(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path
) -> None:
    # Binance holds the take-profit and the stop-loss as one order list; ASTS the trailing stop.
    # The next cycle is five minutes away: only the watch between cycles can fire it.
    exits = Exits(stop_loss=Decimal("0.5"), take_profit=Decimal("0.5"), trailing=Decimal("0.03"))
    cfg = make_config(
        exchange="binance", symbols=[SYMBOL], exits=exits, interval_s=300, params={"fast": 2, "slow": 10}
    )
    await insert_strategy(deps, cfg)
    async with moves(tmp_path) as venue:
        deps._exchanges["binance"] = venue.ex
        try:
            await place_retrying(deps, binance_entry(cfg))  # long 10 at 100.05
            async with running_worker(dev_env.client, deps) as tq:
                handle = await start(dev_env.client, cfg, tq)

                async def watching() -> bool:
                    async with deps.sessions() as s:
                        held = await repo.held_exits(s, strategy_id=cfg.strategy_id)
                    return len(held) == 1 and len(await venue.ex.open_orders(SYMBOL)) == 2

                await eventually(watching, what="the pair at the venue and the trailing stop held")
                venue.emu.pin_price(SYMBOL, "96")  # 4 % under the entry: through the 3 % trail

                async def fired() -> bool:
                    async with deps.sessions() as s:
                        (pos,) = await repo.get_positions(s, strategy_id=cfg.strategy_id)
                    return pos.qty == 0

                await eventually(
                    fired, timeout=30, what="the held trailing stop to fire before the next cycle"
                )
                status = await handle.query(StrategyWorkflow.status)
                assert status.next_cycle == 2  # still waiting for cycle 2: the watch sent it
                assert await venue.ex.open_orders(SYMBOL) == []  # the venue's pair was cancelled
                await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="test done"))
                await asyncio.wait_for(handle.result(), 30)  # a stop ends the wait and the watch
        finally:
            deps._exchanges.pop("binance", None)
    async with deps.sessions() as s:
        orders = {o.client_order_id[-3:]: o for o in await repo.list_orders(s, strategy_id=cfg.strategy_id)}
    assert orders["e0r"].type == "market" and orders["e0r"].status == "filled"
    assert orders["e0r"].exit_kind == "trailing"
    assert (orders["e0s"].status, orders["e0t"].status) == ("cancelled", "cancelled")
