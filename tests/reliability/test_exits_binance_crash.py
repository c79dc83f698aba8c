"""SIGKILL the worker while it is recording a protective exit the venue filled: the Binance
emulator fills the stop-loss of an OCO pair, and the worker dies in the middle of reading it back
(the venue's answer held up). After the restart the fill is in the books once, with the venue's
own trade, the pair's other order ended as the venue says, and no exit is placed again."""

from __future__ import annotations

import asyncio
import signal
import uuid
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest
from activities.deps import Deps
from exchanges.emulator import serve_binance_emulator
from store import repo
from tests.exchanges.binance_venue import SLOW
from tests.factories import make_config
from tests.procs import kill_group, spawn, until
from tests.reliability.test_binance_restart import binance_worker_env
from trading.exits import Exits
from worker.runtime import launch_strategy
from workflows.strategy import StrategyWorkflow

ORDER = "/api/v3/order"


async def test_sigkill_while_a_venue_filled_stop_is_recorded_records_it_once(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], tmp_path: Path
) -> None:
    deps, db_url = backend
    client = dev_env.client
    tq = f"stop-fill-{uuid.uuid4().hex[:8]}"
    # the replay stands still at a bar where the strategy is long: it buys once and is protected
    cfg = make_config(
        exchange="binance",
        symbols=["MSFT/USD"],
        interval_s=0.5,
        params={"fast": 2, "slow": 5, "size": "5"},
        exits=Exits(stop_loss=Decimal("0.05"), take_profit=Decimal("0.5")),
    )
    async with serve_binance_emulator(bars_per_second=SLOW) as emu:
        env = binance_worker_env(client, emu, db_url, tq, timeout_ms=20_000, recv_window_ms=3_000)
        log = tmp_path / "worker1.log"
        worker = spawn(["worker"], home=tmp_path, log_name=log.name, env=env)
        try:
            handle = await launch_strategy(client, deps.sessions, cfg, task_queue=tq)

            async def pair() -> list[dict[str, object]] | None:
                listed = [o for o in emu.orders() if o["orderListId"] != -1 and o["status"] == "NEW"]
                return listed if len(listed) == 2 else None

            resting = await until(pair, what="the OCO pair at the venue", log=log)
            (stop,) = [o for o in resting if str(o["type"]).startswith("STOP_LOSS")]
            (take,) = [o for o in resting if o is not stop]
            reads = emu.request_count("GET", ORDER)
            emu.faults.add("delay_before", method="GET", path=ORDER, times=1, seconds=30)
            emu.fill_order(str(stop["clientOrderId"]))  # the venue fills the stop (its sibling expires)

            async def reading() -> bool | None:
                return emu.request_count("GET", ORDER) > reads or None

            await until(reading, what="the worker reading the filled stop back", log=log)
            kill_group(worker, signal.SIGKILL)  # mid-read: the fill is at the venue, not in our books
            emu.faults.clear()
            log = tmp_path / "worker2.log"
            worker = spawn(["worker"], home=tmp_path, log_name=log.name, env=env)

            async def recorded() -> bool | None:
                async with deps.sessions() as s:
                    (pos,) = await repo.get_positions(s, strategy_id=cfg.strategy_id)
                    row = await repo.get_order(s, client_order_id=str(stop["clientOrderId"]))
                return (pos.qty == 0 and row is not None and row.status == "filled") or None

            await until(recorded, what="the stop's fill in the books after the restart", log=log)
            await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="end of test"))
            assert (await asyncio.wait_for(handle.result(), 60)).status == "stopped"
        finally:
            kill_group(worker, signal.SIGTERM)
        venue = {str(o["clientOrderId"]): o for o in emu.orders()}
    async with deps.sessions() as s:
        rows = {o.client_order_id: o for o in await repo.list_orders(s, strategy_id=cfg.strategy_id)}
        fills = await repo.list_fills(s, client_order_id=str(stop["clientOrderId"]))
        downs = await repo.stood_down(s, strategy_id=cfg.strategy_id)
    trades = venue[str(stop["clientOrderId"])]["fills"]
    assert [f.fill_id for f in fills] == [f"binance:MSFT/USD:{t['id']}" for t in trades]  # once
    assert sum(f.qty for f in fills) == Decimal(5)
    assert rows[str(take["clientOrderId"])].status == "expired"  # as Binance ends an OCO's other order
    assert set(rows) == set(venue)  # nothing at the venue our books lack, and no exit placed again
    assert sorted(o.exit_kind for o in rows.values() if o.exit_kind) == ["stop_loss", "take_profit"]
    assert downs == {"MSFT/USD": "long"}  # the signal is still long: no re-entry into the same move
