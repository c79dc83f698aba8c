"""Worker processes trading on the Binance emulator die: a SIGKILL mid-placement leaves exactly one
order, and an order filled while no worker ran is rebuilt from the venue's own trades at restart."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.contracts import OrderPlan, VenueReconcileResult
from activities.deps import Deps
from exchanges.ccxt_exchange import CcxtExchange
from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from store import repo
from store.db import sqlite_url
from tests.exchanges.binance_venue import SLOW, binance_plan, credentials, venue_config, venue_env
from tests.factories import insert_strategy, make_config
from tests.procs import kill_group, spawn, worker_env
from trading.models import OrderRequest, OrderType, Side
from workflows.options import order_workflow_id
from workflows.order import OrderWorkflow
from workflows.venue_reconcile import venue_reconcile_id

ORDER = "/api/v3/order"


async def until(what: str, check: Any, timeout: float = 60.0) -> None:
    """Poll ``check`` (sync or async) until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = check()
        if asyncio.iscoroutine(out):
            out = await out
        if out:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def binance_worker_env(
    client: Client, emu: BinanceEmulator, db_url: str, tq: str, **venue: Any
) -> dict[str, str]:
    return worker_env(client, tq, db_url, **venue_env(emu, **venue))


async def start_order(
    client: Client, deps: Deps, tq: str, **plan: Any
) -> tuple[OrderPlan, WorkflowHandle[Any, Any]]:
    cfg = make_config(exchange="binance")
    await insert_strategy(deps, cfg)
    order = binance_plan(cfg.strategy_id, **({"qty": Decimal(4)} | plan))
    handle = await client.start_workflow(
        OrderWorkflow.run, order, id=order_workflow_id(order.client_order_id), task_queue=tq
    )
    return order, handle


@pytest.mark.parametrize("fault", ["delay_after_accept", "delay_before"])
async def test_sigkill_mid_placement_leaves_exactly_one_order(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path, fault: str
) -> None:
    """The worker dies while its order request is at the venue: accepted with the answer still
    pending, or not yet processed (the venue executes it after the worker is gone). On SQLite
    only: the restart test below runs on both databases."""
    db_url = sqlite_url(tmp_path / "asts.db")
    client = dev_env.client
    tq = f"kill-{uuid.uuid4().hex[:8]}"
    async with serve_binance_emulator(bars_per_second=SLOW) as emu:
        emu.faults.add(
            fault, method="POST", path=ORDER, times=1, seconds=2 if fault == "delay_before" else 30
        )
        env = binance_worker_env(client, emu, db_url, tq, timeout_ms=20_000, recv_window_ms=3_000)
        first = spawn(["worker"], home=tmp_path, log_name="worker1.log", env=env)
        second = None
        try:
            plan, handle = await start_order(client, deps, tq)  # a local activity, as strategies run it
            await until("the order request", lambda: emu.request_count("POST", ORDER) == 1)
            kill_group(first, signal.SIGKILL)
            second = spawn(["worker"], home=tmp_path, log_name="worker2.log", env=env)
            out = await asyncio.wait_for(handle.result(), 90)
        finally:
            kill_group(first)
            if second is not None:
                kill_group(second, signal.SIGTERM)
        assert out.status == "filled", out.reason
        venue = emu.orders()
        assert [o["clientOrderId"] for o in venue] == [plan.client_order_id]
        assert emu.request_count("POST", ORDER) == 1  # the new worker found it; it sent nothing
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
        fills = await repo.list_fills(s, strategy_id=plan.strategy_id)
    assert row is not None and row.status == "filled" and row.filled_qty == plan.qty
    assert [f.fill_id for f in fills] == [f"binance:MSFT/USD:{t['id']}" for t in venue[0]["fills"]]


async def test_an_order_filled_while_no_worker_ran_is_rebuilt_from_the_venue_at_restart(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    tq = f"restart-{uuid.uuid4().hex[:8]}"
    async with serve_binance_emulator(bars_per_second=SLOW) as emu:
        env = binance_worker_env(client, emu, db_url, tq)
        first = spawn(["worker"], home=tmp_path, log_name="worker1.log", env=env)
        second = None
        try:
            plan, handle = await start_order(
                client, deps, tq, type="limit", price=Decimal("5.00"), time_in_force_s=3600
            )

            async def resting() -> bool:
                async with deps.sessions() as s:
                    row = await repo.get_order(s, client_order_id=plan.client_order_id)
                return row is not None and row.status == "open"

            await until("the order resting at the venue", resting)
            kill_group(first, signal.SIGKILL)
            # While no worker runs: the order's workflow is gone (its retries could have run out),
            # the venue fills the order, and someone places an order by hand on the same account.
            await handle.terminate("gone while the worker was down")
            emu.fill_order(plan.client_order_id)
            by_hand = CcxtExchange("binance", venue_config(emu), credentials(emu))
            try:
                await by_hand.create_order(
                    OrderRequest(
                        client_order_id="manual-1",
                        symbol="MSFT/USD",
                        side=Side.BUY,
                        type=OrderType.LIMIT,
                        qty=Decimal(1),
                        price=Decimal("11.00"),
                    )
                )
            finally:
                await by_hand.close()
            killed_at = time.time()
            second = spawn(["worker"], home=tmp_path, log_name="worker2.log", env=env)
            reconcile = client.get_workflow_handle(
                venue_reconcile_id("binance"), result_type=VenueReconcileResult
            )

            async def restarted_run() -> bool:
                try:
                    desc = await reconcile.describe()
                except RPCError:  # not started yet
                    return False
                return desc.start_time.timestamp() > killed_at and desc.close_time is not None

            await until("the restart's reconciliation", restarted_run, timeout=90)
            result = await reconcile.result()
        finally:
            kill_group(first)
            if second is not None:
                kill_group(second, signal.SIGTERM)
        venue = {o["clientOrderId"]: o for o in emu.orders()}
    assert result.orders_checked == 1 and result.orders_updated == 1 and result.fills_added == 1
    assert result.venue_open_orders == 1
    assert any("manual-1" in m and "no record" in m for m in result.mismatches), result.mismatches
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
        fills = await repo.list_fills(s, strategy_id=plan.strategy_id)
        positions = await repo.get_positions(s, strategy_id=plan.strategy_id)
        events = await repo.list_events(s, kind="reconcile_mismatch")
    assert row is not None and row.status == "filled" and row.avg_price == Decimal("5.00")
    # Only the venue's own trade, never one made up from the order's totals.
    assert [f.fill_id for f in fills] == [
        f"binance:MSFT/USD:{t['id']}" for t in venue[plan.client_order_id]["fills"]
    ]
    assert positions[0].qty == plan.qty
    assert any("manual-1" in e.reason for e in events)
