"""Determinism: recorded histories replay on the current workflow code.

Histories saved under ``histories/`` were recorded from real runs; a change to workflow
code that would break running workflows (a new command without ``workflow.patched``)
fails here. Record them again on purpose with ``ASTS_SAVE_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.contracts import ControlResult, HaltRequest, HubCommand, StrategyState
from activities.deps import Deps
from store import repo
from tests.conftest import running_worker
from tests.encryption import TEST_CONVERTER, plain_history
from tests.factories import insert_strategy, make_config
from worker.runtime import WORKFLOWS, ensure_hub
from workflows.neurohub import NeuroHubWorkflow
from workflows.options import cycle_workflow_id, strategy_workflow_id
from workflows.strategy import StrategyWorkflow

HISTORIES = Path(__file__).parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=list(WORKFLOWS), data_converter=TEST_CONVERTER)


async def test_live_histories_replay(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    hub_id = f"hub-replay-{uuid.uuid4()}"
    cfg = make_config(
        strategy_id="replay1",
        symbols=["MSFT/USD", "GOOGL/USD"],
        hub_id=hub_id,
        breakers={"daily_loss": "1000000"},
        approval_notional="1000000",
    )
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        hub = await ensure_hub(dev_env.client, hub_id=hub_id, task_queue=tq)
        handle = await dev_env.client.start_workflow(
            StrategyWorkflow.run,
            StrategyState(config=cfg),
            id=strategy_workflow_id(cfg.strategy_id),
            task_queue=tq,
        )
        for _ in range(300):
            async with deps.sessions() as s:
                orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
            if orders:
                break
            await asyncio.sleep(0.1)
        assert orders, "no order was placed"
        command = HubCommand(reason="replay", flatten=True, wait="all", ack_timeout_s=30)
        halted = await hub.execute_update(NeuroHubWorkflow.halt, command, result_type=ControlResult)
        assert halted.unacknowledged == []
        await hub.execute_update(NeuroHubWorkflow.resume, HubCommand(reason="replay", wait="all"))
        await handle.execute_update(StrategyWorkflow.halt, HaltRequest(reason="replay", wait="all"))
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="replay"))
        await handle.result()
    order = orders[-1]
    ids = {
        "strategy": strategy_workflow_id(cfg.strategy_id),
        "cycle": cycle_workflow_id(cfg.strategy_id, order.cycle),
        "order": f"order-{order.client_order_id}",
        "neurohub": hub_id,
    }
    for name, wid in ids.items():
        history = await dev_env.client.get_workflow_handle(wid).fetch_history()
        result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, name
        if os.environ.get("ASTS_SAVE_HISTORIES"):
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(plain_history(history).to_json())  # kept in clear


@pytest.mark.parametrize("name", ["strategy", "cycle", "order", "neurohub", "agent-strategy", "agent-cycle"])
async def test_saved_histories_replay(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(f"{name}-saved", path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
