"""The ``agent`` strategy live: the model's verdict trades, budgets fall back or halt, and the
recorded histories replay with the model gone (a replay never asks it again)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.contracts import HaltRequest, HubStatus, LlmBudget, StrategyStatus
from activities.deps import Deps
from store import repo
from tests.agents.support import llm_config
from tests.conftest import supervised
from tests.encryption import TEST_CONVERTER, plain_history
from tests.factories import insert_strategy, make_config
from tests.llm_emulator import LlmEmulator, serve_llm_emulator
from tests.workflows.test_replay import HISTORIES
from tests.workflows.test_strategy_workflow import eventually, start
from worker.runtime import WORKFLOWS
from workflows.neurohub import NeuroHubWorkflow
from workflows.options import cycle_workflow_id
from workflows.strategy import StrategyWorkflow

BUY = {
    "signal": "buy",
    "confidence": 0.9,
    "size": 0.5,
    "rationale": "the trend is up",
    "evidence": ["technical"],
}
# Small windows so the bundled daily bars give a full technical report at once.
PARAMS = {"fast": 5, "slow": 20, "rsi_period": 10, "size": "10", "min_confidence": 0.5}


async def status_of(handle: WorkflowHandle[Any, Any]) -> StrategyStatus:
    return await handle.query(StrategyWorkflow.status, result_type=StrategyStatus)


async def test_agent_strategy_trades_on_the_verdict_and_replays_without_the_model(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    client = dev_env.client
    async with serve_llm_emulator(responder=lambda body: BUY) as emu:
        deps.llm = llm_config(emu)
        async with supervised(client, deps) as (hub, tq):
            cfg = make_config(type="agent", params=PARAMS, hub_id=hub.id, interval_s=0.3)
            await insert_strategy(deps, cfg)
            handle = await start(client, cfg, tq)

            async def ordered() -> bool:
                async with deps.sessions() as s:
                    return bool(await repo.list_orders(s, strategy_id=cfg.strategy_id))

            await eventually(ordered, what="an order from the model's buy")
            await eventually(lambda: _reported(hub), what="NeuroHub to see the LLM spend")
            st = await status_of(handle)
            assert st.llm is not None and st.llm.tokens > 0 and st.llm.calls >= 1 and not st.llm.exhausted
            await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
            await handle.result()
        async with deps.sessions() as s:
            decisions = await repo.list_decisions(s, strategy_id=cfg.strategy_id)
            orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
        first = min(decisions, key=lambda d: d.cycle or 0)
        assert first.mode == "llm" and first.target == "long" and first.model == emu.model
        assert orders[0].side == "buy" and orders[0].qty == 5  # half the size, as the model suggested
        asked = len(emu.requests)
        assert asked == len(decisions)
    # The model is gone; the strategy's and a cycle's histories replay on the current code.
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=TEST_CONVERTER)
    for name, wid in (
        ("agent-strategy", handle.id),
        ("agent-cycle", cycle_workflow_id(cfg.strategy_id, orders[0].cycle)),
    ):
        history = await client.get_workflow_handle(wid).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None, wid
        if os.environ.get("ASTS_SAVE_HISTORIES"):  # kept for tests/workflows/test_replay.py
            (HISTORIES / f"{name}.json").write_text(plain_history(history).to_json())
        text = decoded(plain_history(history).to_json())
        assert "sk-test-secret" not in text  # the key never reaches a history
        if wid != handle.id:  # the cycle's history holds the decision record in full
            assert '"mode":"llm"' in text and '"prompt_hash":"' in text and emu.model in text
    assert len(emu.requests) == asked


def decoded(history_json: str) -> str:
    """Every payload of a history, base64-decoded, as one text (payloads are stored encoded)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "data" and isinstance(v, str):
                    found.append(base64.b64decode(v).decode(errors="replace"))
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(history_json))
    return "\n".join(found).replace(" ", "")


async def _reported(hub: WorkflowHandle[Any, Any]) -> bool:
    status = await hub.query(NeuroHubWorkflow.status, result_type=HubStatus)
    return any(e.last_report is not None and e.last_report.llm_tokens > 0 for e in status.strategies)


async def test_spent_budget_halts_the_strategy_when_asked(
    dev_env: WorkflowEnvironment, deps: Deps, emu: LlmEmulator
) -> None:
    emu.responder = lambda body: BUY
    deps.llm = llm_config(emu)
    budget = LlmBudget(daily_tokens=10, on_exhausted="halt")
    async with supervised(dev_env.client, deps) as (hub, tq):
        cfg = make_config(type="agent", params=PARAMS, hub_id=hub.id, interval_s=0.2, llm_budget=budget)
        await insert_strategy(deps, cfg)
        handle = await start(dev_env.client, cfg, tq)

        async def halted() -> bool:
            return (await status_of(handle)).status == "halted"

        await eventually(halted, what="the budget halt")
        st = await status_of(handle)
        assert st.status_reason.startswith("LLM budget for") and st.llm is not None and st.llm.exhausted
        async with deps.sessions() as s:
            row = await repo.get_strategy(s, strategy_id=cfg.strategy_id)
        assert row is not None and row.status == "halted"
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
    assert len(emu.requests) == 1  # one call spent the allowance; none after it


async def test_spent_budget_falls_back_and_says_so(
    dev_env: WorkflowEnvironment, deps: Deps, emu: LlmEmulator
) -> None:
    emu.responder = lambda body: BUY
    deps.llm = llm_config(emu)
    async with supervised(dev_env.client, deps) as (hub, tq):
        cfg = make_config(
            type="agent", params=PARAMS, hub_id=hub.id, interval_s=0.2, llm_budget=LlmBudget(daily_tokens=10)
        )
        await insert_strategy(deps, cfg)
        handle = await start(dev_env.client, cfg, tq)

        async def fell_back() -> bool:
            st = await status_of(handle)
            return st.cycles_done >= 2 and st.status_reason.startswith("LLM budget")

        await eventually(fell_back, what="the fallback note")
        assert (await status_of(handle)).status == "running"
        async with deps.sessions() as s:
            modes = {d.mode for d in await repo.list_decisions(s, strategy_id=cfg.strategy_id)}
        assert modes == {"llm", "budget_fallback"}
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
    assert len(emu.requests) == 1
