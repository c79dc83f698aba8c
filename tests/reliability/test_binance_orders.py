"""Orders on the Binance emulator through the whole path (workflow → activity → ccxt → venue) while
the venue misbehaves: lost answers, slow processing, 5xx and 429 storms. Never a second order."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.contracts import OrderOutcome, OrderPlan
from activities.deps import Deps
from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from store import repo
from tests.conftest import running_worker
from tests.exchanges.binance_venue import SLOW, binance_plan, venue_config
from tests.factories import insert_strategy, make_config
from workflows.options import order_workflow_id
from workflows.order import OrderWorkflow

ORDER = "/api/v3/order"


@asynccontextmanager
async def on_binance(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any] | None = None, **emulator: Any
) -> AsyncIterator[BinanceEmulator]:
    """An emulator, and ``deps`` trading on it as "binance" with its keys from the environment."""
    emulator.setdefault("bars_per_second", SLOW)
    async with serve_binance_emulator(**emulator) as emu:
        monkeypatch.setenv("ASTS_EXCHANGE_BINANCE_API_KEY", emu.api_key)
        monkeypatch.setenv("ASTS_EXCHANGE_BINANCE_SECRET", emu.secret)
        deps.venues["binance"] = venue_config(emu, **(config or {}))
        try:
            yield emu
        finally:
            await deps.close()


async def place(env: WorkflowEnvironment, deps: Deps, **plan: Any) -> tuple[OrderPlan, OrderOutcome]:
    """Run one OrderWorkflow for a fresh strategy on binance and return its plan and outcome."""
    cfg = make_config(exchange="binance")
    await insert_strategy(deps, cfg)
    order = binance_plan(cfg.strategy_id, **({"step_mode": "activity"} | plan))
    async with running_worker(env.client, deps) as tq:
        out = await env.client.execute_workflow(
            OrderWorkflow.run, order, id=order_workflow_id(order.client_order_id), task_queue=tq
        )
    return order, out


async def assert_one_order(deps: Deps, emu: BinanceEmulator, plan: OrderPlan, out: OrderOutcome) -> None:
    """Exactly one order at the venue, filled, and our books hold exactly its trades."""
    venue = [o for o in emu.orders() if o["clientOrderId"] == plan.client_order_id]
    assert len(venue) == 1, venue
    assert len(emu.orders()) == 1
    assert out.status == "filled" and out.filled_qty == plan.qty
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=plan.client_order_id)
        fills = await repo.list_fills(s, strategy_id=plan.strategy_id)
        positions = await repo.get_positions(s, strategy_id=plan.strategy_id)
    assert row is not None and row.status == "filled" and row.venue_order_id == str(venue[0]["orderId"])
    assert sorted(f.fill_id for f in fills) == sorted(
        f"binance:MSFT/USD:{t['id']}" for t in venue[0]["fills"]
    )
    assert positions[0].qty == plan.qty


@pytest.mark.parametrize("fault", ["drop_after_accept", "delay_after_accept"])
async def test_an_accepted_order_whose_answer_is_lost_is_found_not_placed_again(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    async with on_binance(deps, monkeypatch) as emu:
        # The answer is dropped, or comes after ccxt's 2 s timeout: the outcome is unknown.
        emu.faults.add(fault, method="POST", path=ORDER, times=1, seconds=3)
        started = time.monotonic()
        plan, out = await place(dev_env, deps)
        assert emu.request_count("POST", ORDER) == 1  # the retry looked it up and found it
        assert time.monotonic() - started >= 2.0  # it waited out the first request's window
        await assert_one_order(deps, emu, plan, out)


async def test_a_request_the_venue_processes_late_is_waited_for_not_duplicated(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ccxt gives up after 1 s; the venue executes the request at 2 s, inside its 3 s window. A
    lookup at once would find nothing and place a second market order (Binance refuses a duplicate
    client order id only while the first is open). The retry waits until the window has closed."""
    async with on_binance(deps, monkeypatch, {"timeout_ms": 1_000, "recv_window_ms": 3_000}) as emu:
        emu.faults.add("delay_before", method="POST", path=ORDER, times=1, seconds=2)
        plan, out = await place(dev_env, deps)
        assert emu.request_count("POST", ORDER) == 1
        await assert_one_order(deps, emu, plan, out)


async def test_a_request_arriving_after_its_window_is_refused_and_placed_once_more(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, with the venue reaching the request only after its 1 s window: it refuses it
    (-1021), so the retry's lookup finds nothing and places the order, once."""
    async with on_binance(deps, monkeypatch, {"timeout_ms": 1_000}) as emu:
        emu.faults.add("delay_before", method="POST", path=ORDER, times=1, seconds=1.5)
        plan, out = await place(dev_env, deps)
        assert emu.request_count("POST", ORDER) == 2
        await assert_one_order(deps, emu, plan, out)


async def test_5xx_and_429_storms_are_retried_with_backoff_without_duplicates(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_binance(deps, monkeypatch) as emu:
        emu.faults.add("http_error", method="POST", path=ORDER, status=503, times=2)
        emu.faults.add("rate_limit", method="POST", path=ORDER, seconds=1, times=2)
        emu.faults.add("ban", method="POST", path=ORDER, seconds=1, times=1)
        emu.faults.add("http_error", method="GET", path=ORDER, status=502, times=2)  # lookups too
        started = time.monotonic()
        plan, out = await place(dev_env, deps)
        assert emu.request_count("POST", ORDER) == 6  # five refused, one placed
        assert time.monotonic() - started >= 3.0  # the venue's Retry-After was honoured
        await assert_one_order(deps, emu, plan, out)


async def test_venue_refusals_are_final_and_recorded_with_the_reason(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_binance(deps, monkeypatch, balances={"USD": Decimal(50)}) as emu:
        _, out = await place(dev_env, deps)  # 5 MSFT at about 23 USD: more than 50 USD
        assert out.status == "rejected" and "insufficient" in out.reason.lower()
        assert emu.request_count("POST", ORDER) == 1  # not retried
        small, out2 = await place(dev_env, deps, qty=Decimal("0.5"))
        assert out2.status == "rejected" and "below the minimum" in out2.reason
        assert emu.request_count("POST", ORDER) == 1  # refused here, never sent
        emu.faults.add("reject", method="POST", path=ORDER, code=-1013, msg="Filter failure: NOTIONAL")
        _, out3 = await place(dev_env, deps, qty=Decimal(1))
        assert out3.status == "rejected" and "NOTIONAL" in out3.reason  # the venue's own refusal
        assert emu.request_count("POST", ORDER) == 2
    async with deps.sessions() as s:
        row = await repo.get_order(s, client_order_id=small.client_order_id)
    assert row is not None and row.status == "rejected"


async def test_partial_fills_are_followed_to_completion(
    dev_env: WorkflowEnvironment, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_binance(deps, monkeypatch, bars_per_second=2, fill_parts=3) as emu:
        emu.pin_price("MSFT/USD", Decimal("20.00"))
        plan, out = await place(dev_env, deps, type="limit", qty=Decimal(6), price=Decimal("21.00"))
        assert out.status == "filled" and out.filled_qty == 6
        venue = emu.orders()
        assert len(venue) == 1 and len(venue[0]["fills"]) == 3
    async with deps.sessions() as s:
        fills = await repo.list_fills(s, strategy_id=plan.strategy_id)
    assert len(fills) == 3 and sum(f.qty for f in fills) == 6
