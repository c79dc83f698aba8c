"""StrategyWorkflow, CycleWorkflow and OrderWorkflow against the real dev server, real store, real venue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest, StatusChanged, StrategyConfig, StrategyState, StrategyStatus
from activities.deps import Deps
from api.temporal import signal_latest
from store import repo
from tests.conftest import running_worker
from tests.factories import insert_strategy, make_config
from workflows.options import strategy_workflow_id
from workflows.strategy import StrategyWorkflow


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition"
) -> None:
    """Poll ``check`` until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def start(client: Client, cfg: StrategyConfig, task_queue: str, **state: object) -> WorkflowHandle:
    """Start the strategy; the handle follows the workflow id across continue-as-new."""
    started = await client.start_workflow(
        StrategyWorkflow.run,
        StrategyState(config=cfg, **state),  # type: ignore[arg-type]
        id=strategy_workflow_id(cfg.strategy_id),
        task_queue=task_queue,
    )
    return client.get_workflow_handle_for(
        StrategyWorkflow.run, started.id, first_execution_run_id=started.result_run_id
    )


async def status(handle: WorkflowHandle) -> StrategyStatus:
    return await handle.query(StrategyWorkflow.status)


@pytest.mark.parametrize("step_mode", ["local", "activity"])
async def test_strategy_trades_then_halt_stops_every_order(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str], step_mode: str
) -> None:
    deps = backend[0]
    cfg = make_config(step_mode=step_mode, symbols=["MSFT/USD", "GOOGL/USD"])
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)

        async def traded() -> bool:
            async with deps.sessions() as s:
                return len(await repo.list_orders(s, strategy_id=cfg.strategy_id)) >= 2

        await eventually(traded, what="two orders")
        changed = await handle.execute_update(
            StrategyWorkflow.halt, HaltRequest(reason="test halt"), result_type=StatusChanged
        )
        assert changed.status == "halted"
        st = await status(handle)
        assert st.status == "halted" and st.status_reason == "test halt"
        cycles_at_halt = st.cycles_done
        await asyncio.sleep(1.5)  # several intervals: nothing may happen now
        venue_orders = await deps.exchange("paper").orders()
        assert venue_orders, "the venue saw orders before the halt"
        assert all(o.created_at <= changed.at for o in venue_orders)
        assert (await status(handle)).cycles_done <= cycles_at_halt + 1

        async with deps.sessions() as s:
            orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
            decisions = await repo.list_decisions(s, strategy_id=cfg.strategy_id)
            pnl = await repo.list_pnl(s, strategy_id=cfg.strategy_id)
            positions = await repo.get_positions(s, strategy_id=cfg.strategy_id)
            events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="halt")
        placed = {o.client_order_id for o in orders if o.venue_order_id}
        assert placed == {o.client_order_id for o in venue_orders}
        assert decisions and all(0 <= d.confidence <= 1 and d.rationale for d in decisions)
        assert pnl and all(p.equity == cfg.capital + p.realised + p.unrealised - p.fees for p in pnl)
        assert positions
        assert [e.reason for e in events] == ["test halt"]

        resumed = await handle.execute_update(
            StrategyWorkflow.resume, HaltRequest(reason="go"), result_type=StatusChanged
        )
        assert resumed.status == "running"
        await eventually(lambda: _more_cycles(handle, cycles_at_halt + 1), what="cycles after resume")
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        final = await handle.result()
        assert final.status == "stopped"


async def _more_cycles(handle: WorkflowHandle, n: int) -> bool:
    return (await status(handle)).cycles_done > n


async def test_continue_as_new_keeps_state_and_signals(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = make_config(interval_s=0.05)
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq, cycles_per_run=2)
        sizes = [str(Decimal(i)) for i in range(1, 31)]
        for size in sizes:  # a stream of signals across several continue-as-new boundaries
            await signal_latest(handle, StrategyWorkflow.update_params, {"fast": 2, "slow": 5, "size": size})
            await asyncio.sleep(0.03)

        async def rolled() -> bool:
            st = await status(handle)
            return st.runs >= 3 and st.params["size"] == sizes[-1]

        await eventually(rolled, what="three runs with the last signal applied")
        st = await status(handle)
        assert st.cycles_done >= 4
        desc = await handle.describe()
        assert desc.run_id != handle.first_execution_run_id
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        assert (await handle.result()).status == "stopped"


async def test_risk_rejection_is_recorded_and_no_order_is_sent(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = make_config(risk={"max_order_notional": "1"})
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)

        async def rejected() -> bool:
            async with deps.sessions() as s:
                return bool(await repo.list_events(s, strategy_id=cfg.strategy_id, kind="risk_rejected"))

        await eventually(rejected, what="a risk rejection")
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        await handle.result()
    async with deps.sessions() as s:
        events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="risk_rejected")
        orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
    assert "notional" in events[0].reason
    assert orders == []
    assert await deps.exchange("paper").orders() == []


async def test_a_failing_cycle_does_not_kill_the_strategy(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = make_config(symbols=["NOPE/USD"])  # bypasses the API's check: the scan fails non-retryably
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)

        async def failed_twice() -> bool:
            return (await status(handle)).cycles_failed >= 2

        await eventually(failed_twice, what="two failed cycles")
        st = await status(handle)
        assert st.last_cycle is not None and "NOPE/USD" in st.last_cycle.error
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        await handle.result()


async def test_halt_and_resume_signals_change_the_gate_without_waiting(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)
        await handle.signal(StrategyWorkflow.halt_signal, HaltRequest(reason="by signal"))

        async def gate_closed() -> bool:
            async with deps.sessions() as s:
                row = await repo.get_strategy(s, strategy_id=cfg.strategy_id)
            return row is not None and row.status == "halted" and (await status(handle)).status == "halted"

        await eventually(gate_closed, what="the gate closed by the halt signal")
        await handle.signal(StrategyWorkflow.resume_signal, HaltRequest(reason="go on"))

        async def reopened() -> bool:
            return (await status(handle)).status == "running"

        await eventually(reopened, what="the strategy running again")
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        await handle.result()
    async with deps.sessions() as s:
        events = await repo.list_events(s, strategy_id=cfg.strategy_id)
    # Newest first; a cycle already under way when the gate closed may add a risk rejection.
    assert [e.kind for e in events if e.kind != "risk_rejected"] == ["stop", "resume", "halt"]
