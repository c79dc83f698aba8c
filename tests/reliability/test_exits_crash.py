"""SIGKILL the worker while strategies with protective exits trade: after the restarts every
position has exactly one resting set of exits for its size (unless the halt that ends the run
closed the gate before its set went out: a halted strategy places nothing), and no exit rests
without a position."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest
from activities.deps import Deps
from store import repo
from store.models import FillRow, OrderRow
from tests.factories import make_config
from tests.procs import kill_group, spawn, until
from tests.reliability.crashing import fast_paper_worker, start_busy
from trading.exits import Exits
from trading.models import OrderStatus, VenueOrder
from worker.runtime import launch_strategy
from workflows.strategy import StrategyWorkflow

STRATEGIES = 3
KILLS = 3
# Wide levels: no exit fires during the run, so every set must rest until the position changes.
EXITS = Exits(stop_loss=Decimal("0.5"), take_profit=Decimal("5"))


async def _exit_rows(deps: Deps) -> int:
    async with deps.sessions() as s:
        return sum(1 for o in await repo.list_orders(s, limit=100_000) if o.exit_kind)


async def _wait(deps: Deps, at_least: int, log: Path) -> None:
    async def enough() -> bool | None:
        return await _exit_rows(deps) >= at_least or None

    await until(enough, what=f"{at_least} exits placed", log=log)


async def _idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the strategy has no cycle under way (each one begun has ended, well or not)."""

    async def idle() -> bool | None:
        st = await handle.query(StrategyWorkflow.status)
        return st.cycles_done + st.cycles_failed == st.next_cycle - 1 or None

    await until(idle, what=f"{handle.id} to end the cycle under way at its halt", timeout=60)


async def test_sigkill_leaves_exactly_one_exit_set_per_position(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    task_queue, env = fast_paper_worker(client, db_url, tmp_path, "exits-crash")
    rng = random.Random(15)  # the moments of the kills
    worker = spawn(["worker"], home=tmp_path, log_name="worker0.log", env=env)
    try:
        handles = await start_busy(client, deps, task_queue, prefix="exitcrash", n=STRATEGIES, exits=EXITS)
        for k in range(1, KILLS + 1):
            await _wait(deps, 4 * k, tmp_path / f"worker{k - 1}.log")
            await asyncio.sleep(rng.uniform(0.0, 0.5))  # somewhere in a cycle: placing, protecting, ...
            kill_group(worker, signal.SIGKILL)
            worker = spawn(["worker"], home=tmp_path, log_name=f"worker{k}.log", env=env)
        await _wait(deps, 4 * (KILLS + 1), tmp_path / f"worker{KILLS}.log")
        for h in handles:  # the gate closes; open orders (the exits) stay where they are
            await h.execute_update(
                StrategyWorkflow.halt, HaltRequest(reason="check", cancel_open_orders=False)
            )
        for h in handles:  # a cycle under way when the gate closed finishes (however slow the box)
            await _idle(h)
        venue = deps.exchange("paper")
        resting = [o for o in await venue.open_orders() if o.oco_group]
        async with deps.sessions() as s:
            positions = [p for p in await repo.get_positions(s) if p.strategy_id.startswith("exitcrash")]
            ours = {o.client_order_id: o for o in await repo.list_orders(s, limit=100_000)}
        by_position: dict[tuple[str, str], list[str]] = defaultdict(list)
        for o in resting:
            owner = ours[o.client_order_id]  # every resting exit is in our books
            assert owner.status == o.status.value and owner.exit_kind
            by_position[(owner.strategy_id, o.symbol)].append(owner.exit_kind)
            held = next(
                p.qty for p in positions if (p.strategy_id, p.symbol) == (owner.strategy_id, o.symbol)
            )
            assert o.qty == held, f"{o.client_order_id} protects {o.qty}, the position is {held}"
        for p in positions:
            kinds = sorted(by_position.get((p.strategy_id, p.symbol), []))
            rows = [o for o in ours.values() if (o.strategy_id, o.symbol) == (p.strategy_id, p.symbol)]
            last = max((o for o in rows if o.exit_kind), key=lambda o: o.id, default=None)
            full = ["stop_loss", "take_profit"]
            if p.qty and kinds != full:  # only when the halt closed the gate before the set was out
                assert last is not None and last.status == "rejected", (p.strategy_id, p.symbol)
                assert "blocked at the gate: strategy halted" in last.reason, last.reason
                continue
            assert kinds == (full if p.qty else []), (p.strategy_id, p.symbol, kinds)
        assert len({o.oco_group for o in resting}) == len(by_position)  # one group per position
        for h in handles:
            await h.execute_update(StrategyWorkflow.stop, HaltRequest(reason="end of test"))
        for h in handles:
            assert (await asyncio.wait_for(h.result(), 60)).status == "stopped"
    finally:
        kill_group(worker, signal.SIGTERM)


async def _resting_set(deps: Deps, strategy_id: str, log: Path) -> list[OrderRow]:
    """The newest set of exits resting for the strategy, once there is one."""

    async def resting_set() -> list[OrderRow] | None:
        async with deps.sessions() as s:
            rows = [o for o in await repo.list_orders(s, limit=100_000) if o.strategy_id == strategy_id]
        resting = [o for o in rows if o.exit_kind and o.status in ("new", "open")]
        return resting if len(resting) == 2 and len({o.oco_group for o in resting}) == 1 else None

    return await until(resting_set, what="a resting set of exits", log=log)


async def test_a_stop_that_fires_while_no_worker_runs_is_recorded_with_its_fill(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    task_queue, env = fast_paper_worker(client, db_url, tmp_path, "exits-down")
    # Tight levels: within a few dozen bars the price leaves the band one way or the other.
    tight = Exits(stop_loss=Decimal("0.002"), take_profit=Decimal("0.002"))
    cfg = make_config(
        strategy_id="exitdown",
        symbols=["MSFT/USD"],
        interval_s=0.5,
        params={"fast": 2, "slow": 4},
        exits=tight,
    )
    worker = spawn(["worker"], home=tmp_path, log_name="worker0.log", env=env)
    try:
        handle = await launch_strategy(client, deps.sessions, cfg, task_queue=task_queue)
        exits = await _resting_set(deps, cfg.strategy_id, tmp_path / "worker0.log")
        kill_group(worker, signal.SIGKILL)  # nothing of ASTS runs from here on: only the venue
        venue = deps.exchange("paper")

        async def fired_at_venue() -> dict[str, VenueOrder] | None:
            at = {e.client_order_id: await venue.fetch_order(e.client_order_id, e.symbol) for e in exits}
            return at if any(o.status is OrderStatus.FILLED for o in at.values()) else None

        at_venue = await until(fired_at_venue, what="an exit to fire at the venue", timeout=60)
        states = sorted(o.status.value for o in at_venue.values())
        assert states == ["cancelled", "filled"], states  # the venue's OCO: one fired, the other went
        (fired,) = [o for o in at_venue.values() if o.status is OrderStatus.FILLED]

        worker = spawn(["worker"], home=tmp_path, log_name="worker1.log", env=env)

        async def in_the_books() -> tuple[dict[str, OrderRow], list[FillRow]] | None:
            async with deps.sessions() as s:
                rows = {o.client_order_id: o for o in await repo.list_orders(s, limit=100_000)}
                fills = await repo.list_fills(s, client_order_id=fired.client_order_id)
            recorded = all(rows[c].status == at_venue[c].status.value for c in at_venue)
            return (rows, fills) if recorded and fills else None

        rows, fills = await until(
            in_the_books, what="the fired exit in the books", log=tmp_path / "worker1.log"
        )
        assert sum(f.qty for f in fills) == fired.filled_qty == fired.qty
        assert {f.price for f in fills} == {fired.avg_price}
        group = [o for o in rows.values() if o.oco_group == exits[0].oco_group]
        assert len(group) == 2  # neither exit placed again after the restart
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="end of test"))
        assert (await asyncio.wait_for(handle.result(), 60)).status == "stopped"
    finally:
        kill_group(worker, signal.SIGTERM)
