"""Orders above the approval threshold wait for a human: real worker, real store, real paper venue.

Most tests run on the time-skipping server: time stands still while a test polls or sends
an Update, and skips ahead only while it awaits a workflow result (so an approval timeout
of minutes passes in milliseconds there). The restart test runs on the dev server.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.contracts import (
    ApprovalDecisionInput,
    ApprovalOutcome,
    ApprovalRequest,
    CycleInput,
    CycleResult,
    StrategyConfig,
)
from activities.deps import Deps, utcnow
from store import repo
from tests.api.live import poll
from tests.conftest import running_worker
from tests.factories import insert_strategy, make_config
from worker.runtime import make_worker
from workflows.cycle import CycleWorkflow
from workflows.options import cycle_workflow_id

# RSI below 99 means LONG: on the bundled data every symbol is LONG from the first cycle on,
# so cycle 1 always sizes a buy of 10 (MSFT ~ 13-31 USD, GOOGL and SPX far above 1000 USD).
ALWAYS_LONG = {"period": 2, "lower": 99, "upper": 99.5, "size": "10"}  # warm-up 41 bars
UPDATE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


def approval_config(**overrides: Any) -> StrategyConfig:
    """A strategy whose first cycle buys, every order of it above a tiny approval threshold."""
    fields: dict[str, Any] = {
        "type": "rsi_reversion",
        "params": ALWAYS_LONG,
        "approval_notional": Decimal("1"),
    }
    return make_config(**(fields | overrides))


async def start_cycle(client: Client, cfg: StrategyConfig, task_queue: str) -> WorkflowHandle[Any, Any]:
    """Start cycle 1 of the strategy on its own, as StrategyWorkflow would."""
    return await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(config=cfg, cycle=1),
        id=cycle_workflow_id(cfg.strategy_id, 1),
        task_queue=task_queue,
    )


async def pending(
    handle: WorkflowHandle[Any, Any], n: int = 1, timeout: float = 30.0
) -> list[ApprovalRequest]:
    """Poll the ``pending_approvals`` query until ``n`` approvals wait; return them."""
    deadline = time.monotonic() + timeout
    while True:
        waiting: list[ApprovalRequest] = await handle.query(CycleWorkflow.pending_approvals)
        if len(waiting) >= n:
            return waiting
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(waiting)} approvals pending after {timeout}s, expected {n}")
        await asyncio.sleep(0.05)


async def decide(
    handle: WorkflowHandle[Any, Any], approval_id: str, decision: str, **kw: str
) -> ApprovalOutcome:
    return await handle.execute_update(
        CycleWorkflow.decide, ApprovalDecisionInput(approval_id=approval_id, decision=decision, **kw)
    )


async def update_events(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    history = await handle.fetch_history()
    return [e.event_type for e in history.events if e.event_type in UPDATE_EVENTS]


async def test_an_approved_order_is_placed(time_env: WorkflowEnvironment, backend: tuple[Deps, str]) -> None:
    deps = backend[0]
    cfg = approval_config()
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        [req] = await pending(handle)
        async with deps.sessions() as s:
            row = await repo.get_approval(s, approval_id=req.approval_id)
            requested = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="approval_requested")
        assert row is not None and row.status == "pending" and row.workflow_id == handle.id
        assert row.notional == row.qty * row.price == req.notional > cfg.approval_notional  # type: ignore[operator]
        assert (row.expires_at - row.requested_at).total_seconds() == cfg.approval_timeout_s
        assert len(requested) == 1
        assert await deps.exchange("paper").orders() == []  # nothing placed while it waits

        outcome = await decide(handle, req.approval_id, "approve", reason="looks fine", actor="alice")
        assert (outcome.status, outcome.decided_by, outcome.reason) == ("approved", "alice", "looks fine")
        result: CycleResult = await handle.result()

    assert [(o.client_order_id, o.status) for o in result.orders] == [(req.plan.client_order_id, "filled")]
    assert result.rejections == []
    venue = await deps.exchange("paper").orders()
    assert [o.client_order_id for o in venue] == [req.plan.client_order_id]
    async with deps.sessions() as s:
        row = await repo.get_approval(s, approval_id=req.approval_id)
        events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="approval_approved")
    assert row is not None and row.status == "approved" and row.decided_by == "alice"
    assert row.decided_at is not None and row.decided_at == outcome.decided_at
    assert [e.reason for e in events] == ["looks fine"]


async def test_a_rejected_order_is_not_placed(time_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = approval_config()
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        [req] = await pending(handle)
        outcome = await decide(handle, req.approval_id, "reject", reason="too big", actor="bob")
        assert outcome.status == "rejected"
        result: CycleResult = await handle.result()

    assert result.orders == []
    [rejection] = result.rejections
    assert (rejection.symbol, rejection.side, rejection.qty) == (req.plan.symbol, "buy", req.plan.qty)
    assert rejection.reasons == [f"approval {req.approval_id} rejected by bob: too big"]
    assert await deps.exchange("paper").orders() == []
    async with deps.sessions() as s:
        row = await repo.get_approval(s, approval_id=req.approval_id)
        events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="approval_rejected")
        orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
    assert row is not None and (row.status, row.decided_by, row.reason) == ("rejected", "bob", "too big")
    assert len(events) == 1 and orders == []


async def test_an_undecided_order_expires_after_the_timeout(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = approval_config(approval_timeout_s=3600.0)
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        began = time.monotonic()
        result: CycleResult = await handle.result()  # an hour of waiting, skipped
        took = time.monotonic() - began

    assert took < 30
    assert (result.finished_at - result.started_at).total_seconds() >= cfg.approval_timeout_s
    assert result.orders == []
    [rejection] = result.rejections
    approval_id = f"apr-{cfg.strategy_id}-c1-l0"
    assert rejection.reasons == [f"approval {approval_id} expired by timeout: no decision within 3600s"]
    assert await deps.exchange("paper").orders() == []
    async with deps.sessions() as s:
        row = await repo.get_approval(s, approval_id=approval_id)
        events = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="approval_expired")
    assert row is not None and (row.status, row.decided_by) == ("expired", "timeout")
    assert len(events) == 1


async def test_the_validator_refuses_unknown_ids_and_decisions_without_a_trace(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = approval_config()
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        [req] = await pending(handle)
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await decide(handle, "apr-nope", "approve")
        assert "no approval 'apr-nope'" in str(unknown.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as bad:
            await decide(handle, req.approval_id, "maybe")
        assert "'approve' or 'reject'" in str(bad.value.cause)
        assert await update_events(handle) == []  # validator rejections leave no history
        assert [r.approval_id for r in await pending(handle)] == [req.approval_id]  # still waiting

        assert (await decide(handle, req.approval_id, "approve")).status == "approved"
        await handle.result()
    events = await update_events(handle)
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED not in events
    assert events.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1


async def test_approvals_wait_in_parallel_and_small_orders_go_at_once(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = approval_config(symbols=["MSFT/USD", "GOOGL/USD", "SPX/USD"], approval_notional=Decimal(1000))
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        waiting = await pending(handle, n=2)
        assert sorted(r.plan.symbol for r in waiting) == ["GOOGL/USD", "SPX/USD"]

        async def small_order_placed() -> list[str]:
            return [o.symbol for o in await deps.exchange("paper").orders()]

        # MSFT (under the threshold) is placed while both large orders still wait.
        assert await poll(small_order_placed, "the small order") == ["MSFT/USD"]
        assert len(await pending(handle, n=2)) == 2
        by_symbol = {r.plan.symbol: r for r in waiting}
        await decide(handle, by_symbol["SPX/USD"].approval_id, "reject", reason="no")
        await decide(handle, by_symbol["GOOGL/USD"].approval_id, "approve")
        result: CycleResult = await handle.result()

    assert sorted(o.symbol for o in result.orders) == ["GOOGL/USD", "MSFT/USD"]
    assert all(o.status == "filled" for o in result.orders)
    assert [r.symbol for r in result.rejections] == ["SPX/USD"]
    assert sorted(o.symbol for o in await deps.exchange("paper").orders()) == ["GOOGL/USD", "MSFT/USD"]
    async with deps.sessions() as s:
        decided = {r.symbol: r.status for r in await repo.list_approvals(s)}
    assert decided == {"GOOGL/USD": "approved", "SPX/USD": "rejected"}


async def test_a_waiting_approval_survives_a_worker_restart(dev_env: WorkflowEnvironment, deps: Deps) -> None:
    cfg = approval_config()
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start_cycle(dev_env.client, cfg, tq)
        [req] = await pending(handle)
    # The worker is gone; the cycle waits in the server. A new worker picks it up from history.
    async with make_worker(dev_env.client, deps, task_queue=tq):
        outcome = await decide(handle, req.approval_id, "approve", actor="carol")
        assert outcome.status == "approved"
        result: CycleResult = await handle.result()
    assert [(o.symbol, o.status) for o in result.orders] == [(req.plan.symbol, "filled")]
    assert [o.client_order_id for o in await deps.exchange("paper").orders()] == [req.plan.client_order_id]
    async with deps.sessions() as s:
        row = await repo.get_approval(s, approval_id=req.approval_id)
    assert row is not None and (row.status, row.decided_by) == ("approved", "carol")


async def test_an_order_approved_after_the_book_grew_is_judged_again_and_refused(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    cfg = approval_config(risk={"max_gross_exposure": "1000"})  # 10 MSFT (~200) is well within
    await insert_strategy(deps, cfg)
    async with running_worker(time_env.client, deps) as tq:
        handle = await start_cycle(time_env.client, cfg, tq)
        [req] = await pending(handle)
        async with deps.transaction() as s:  # while a human decides, the book grows past the limit
            await repo.upsert_position(
                s,
                strategy_id=cfg.strategy_id,
                symbol="GOOGL/USD",
                qty=Decimal(10),  # some 2900 at the replay's prices
                avg_price=Decimal(280),
                realised_pnl=Decimal(0),
                fees=Decimal(0),
                now=utcnow(),
            )
        await decide(handle, req.approval_id, "approve", actor="alice")
        result: CycleResult = await handle.result()
    assert result.orders == [] and await deps.exchange("paper").orders() == []
    [rejection] = result.rejections
    [reason] = rejection.reasons
    assert reason.startswith("approved by alice, but the risk limits refuse it now: gross exposure ")
    assert reason.endswith("after this order would exceed the limit of 1000")
    async with deps.sessions() as s:
        [event] = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="risk_rejected")
    assert event.reason.startswith("approved, but now: gross exposure")
