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
from tests.encryption import TEST_CODEC_ENV
from tests.factories import make_config
from tests.procs import kill_group, spawn
from trading.exits import Exits
from worker.runtime import launch_strategy
from workflows.strategy import StrategyWorkflow

STRATEGIES = 3
KILLS = 3
# Wide levels: no exit fires during the run, so every set must rest until the position changes.
EXITS = Exits(stop_loss=Decimal("0.5"), take_profit=Decimal("5"))


async def _exit_rows(deps: Deps) -> int:
    async with deps.sessions() as s:
        return sum(1 for o in await repo.list_orders(s, limit=100_000) if o.exit_kind)


async def _wait(deps: Deps, at_least: int, log: Path, timeout: float = 90) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await _exit_rows(deps) >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} exits placed:\n{log.read_text(errors='replace')[-3000:]}")


async def _idle(handle: WorkflowHandle[Any, Any], timeout: float = 60) -> None:
    """Wait until the strategy has no cycle under way (each one begun has ended, well or not)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        st = await handle.query(StrategyWorkflow.status)
        if st.cycles_done + st.cycles_failed == st.next_cycle - 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} still runs a cycle {timeout}s after its halt")


async def test_sigkill_leaves_exactly_one_exit_set_per_position(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    task_queue = f"exits-crash-{tmp_path.name}"
    env = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ASTS_TASK_QUEUE": task_queue,
        **TEST_CODEC_ENV,
        "ASTS_PAPER_BARS_PER_SECOND": "20",
        "ASTS_DATABASE_URL": db_url,
    }
    rng = random.Random(15)  # the moments of the kills
    handles = []
    worker = spawn(["worker"], home=tmp_path, log_name="worker0.log", env=env)
    try:
        for i in range(STRATEGIES):
            cfg = make_config(
                strategy_id=f"exitcrash{i}",
                symbols=["MSFT/USD", "GOOGL/USD"],
                interval_s=0.05,
                params={"fast": 2, "slow": 4, "size": str(i + 1)},
                exits=EXITS,
            )
            handles.append(await launch_strategy(client, deps.sessions, cfg, task_queue=task_queue))
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
