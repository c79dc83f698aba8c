"""SIGKILL the worker while orders are in flight; a new worker finishes the work: none lost, none twice."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest
from activities.deps import Deps
from store import repo
from tests.procs import kill_group, spawn
from tests.reliability.crashing import fast_paper_worker, start_busy
from workflows.strategy import StrategyWorkflow

STRATEGIES = 4


async def _orders(deps: Deps) -> int:
    async with deps.sessions() as s:
        return len(await repo.list_orders(s, limit=100_000))


async def _wait_orders(deps: Deps, at_least: int, proc_log: Path, timeout: float = 90) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await _orders(deps) >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} orders:\n{proc_log.read_text(errors='replace')[-3000:]}")


async def _order_in_flight(client: Client, task_queue: str, attempts: int = 400) -> str:
    """Wait until an OrderWorkflow on ``task_queue`` is running; return its id ("" if none showed)."""
    query = f'WorkflowType = "OrderWorkflow" AND ExecutionStatus = "Running" AND TaskQueue = "{task_queue}"'
    for _ in range(attempts):
        async for wf in client.list_workflows(query, limit=1):
            return wf.id
        await asyncio.sleep(0.01)
    return ""


async def test_sigkill_worker_mid_flight_loses_nothing_and_duplicates_nothing(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    task_queue, env = fast_paper_worker(client, db_url, tmp_path, "crash")
    first = spawn(["worker"], home=tmp_path, log_name="worker1.log", env=env)
    second = None
    try:
        handles = await start_busy(client, deps, task_queue, prefix="crash", n=STRATEGIES)
        await _wait_orders(deps, 6, tmp_path / "worker1.log")
        in_flight = await _order_in_flight(client, task_queue)
        kill_group(first, signal.SIGKILL)  # mid-flight: an order workflow is running
        assert in_flight, "no order workflow was running when the worker was killed"
        killed_at = await _orders(deps)
        second = spawn(["worker"], home=tmp_path, log_name="worker2.log", env=env)
        await _wait_orders(deps, killed_at + 6, tmp_path / "worker2.log")
        for h in handles:
            await h.execute_update(StrategyWorkflow.stop, HaltRequest(reason="end of test"))
        for h in handles:
            assert (await asyncio.wait_for(h.result(), 60)).status == "stopped"
    finally:
        kill_group(first)
        if second is not None:
            kill_group(second, signal.SIGTERM)

    venue = deps.exchange("paper")
    venue_orders = await venue.orders()
    async with deps.sessions() as s:
        ours = await repo.list_orders(s, limit=100_000)
        fills = await repo.list_fills(s)
        positions = await repo.get_positions(s)
    ids = [o.client_order_id for o in ours]
    assert len(ids) == len(set(ids)), "a client order id was recorded twice"
    venue_ids = [o.client_order_id for o in venue_orders]
    assert len(venue_ids) == len(set(venue_ids)), "the venue has a duplicate order"
    placed = {o.client_order_id: o for o in ours if o.venue_order_id}
    assert set(placed) == set(venue_ids), "ours and the venue's orders differ"
    for v in venue_orders:
        assert placed[v.client_order_id].status == v.status.value
        assert placed[v.client_order_id].filled_qty == v.filled_qty
    assert sum(Counter(f.client_order_id for f in fills).values()) == sum(len(v.fills) for v in venue_orders)
    balances = await venue.balance()
    by_base: Counter[str] = Counter()
    for p in positions:
        by_base[p.symbol.split("/")[0]] += p.qty  # type: ignore[assignment]
    for asset, qty in by_base.items():
        assert balances.get(asset, 0) == qty, f"{asset}: ours {qty}, venue {balances.get(asset)}"
