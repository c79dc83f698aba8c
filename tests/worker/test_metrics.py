"""The worker's metrics: a real worker serves ours and the Temporal SDK's over HTTP, each on its
port, and they move when the events happen (an order placed and filled on the paper venue, a
cycle done or failed, the gates, approvals and breakers the sampler reads)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HubCommand, HubConfig, StrategyRegistration, StrategyState
from activities.deps import Deps, utcnow
from activities.metrics import Breaker, StateSample
from store import repo
from tests.conftest import running_worker
from tests.encryption import TEST_CODEC_SETTINGS
from tests.factories import insert_strategy, make_config
from tests.procs import free_port, until
from tests.workflows.test_order_workflow import make_plan
from worker.monitoring import read_state, sample_state, sdk_runtime, serve_metrics
from worker.runtime import connect, ensure_hub
from worker.settings import Settings
from workflows.neurohub import NeuroHubWorkflow
from workflows.options import order_workflow_id, strategy_workflow_id
from workflows.order import OrderWorkflow
from workflows.strategy import StrategyWorkflow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Endpoints:
    """The worker's two metrics endpoints, and a client on the runtime that feeds the SDK's."""

    ours: str
    sdk: str
    client: Client


async def scrape(url: str) -> Samples:
    """Every sample an endpoint serves, by name and labels (over HTTP, as Prometheus reads it)."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(url, timeout=5)
    answer.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` whose labels include ``labels`` (summed over the rest), 0 if none."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def endpoints(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Endpoints]:
    """The endpoints as ``run_worker`` opens them: ours, and a client on the SDK's runtime."""
    settings = Settings(
        home=tmp_path_factory.mktemp("metrics"),
        temporal_address=dev_env.client.service_client.config.target_host,
        worker_metrics_port=free_port(),
        worker_sdk_metrics_port=free_port(),
        **TEST_CODEC_SETTINGS,  # type: ignore[arg-type]
    )
    serve_metrics(settings)
    client = await connect(settings, runtime=sdk_runtime(settings))
    host = settings.worker_metrics_host
    yield Endpoints(
        ours=f"http://{host}:{settings.worker_metrics_port}/metrics",
        sdk=f"http://{host}:{settings.worker_sdk_metrics_port}/metrics",
        client=client,
    )


async def test_the_worker_serves_our_metrics_and_the_sdks_and_an_order_moves_orders_and_fills(
    endpoints: Endpoints, deps: Deps
) -> None:
    cfg = make_config()
    await insert_strategy(deps, cfg)
    plan = make_plan(cfg.strategy_id)
    before = await scrape(endpoints.ours)
    async with running_worker(endpoints.client, deps) as tq:
        out = await endpoints.client.execute_workflow(
            OrderWorkflow.run, plan, id=order_workflow_id(plan.client_order_id), task_queue=tq
        )
        assert out.status == "filled"
        after = await scrape(endpoints.ours)

        def moved(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert moved("asts_orders_total", outcome="placed") == 1
        assert moved("asts_fills_total", venue="paper", side="buy") == 1
        notional = float(out.filled_qty * (out.avg_price or Decimal(0)))
        assert moved("asts_filled_notional_total", venue="paper", quote="USD") == pytest.approx(notional)

        async def sdk_saw_the_order() -> Samples | None:
            sdk = await scrape(endpoints.sdk)
            done = value(
                sdk, "temporal_workflow_completed_total", workflow_type="OrderWorkflow", task_queue=tq
            )
            return sdk if done >= 1 else None

        sdk = await until(sdk_saw_the_order, what="the SDK's count of completed order workflows", timeout=10)
    assert value(sdk, "temporal_workflow_task_execution_latency_seconds_count", task_queue=tq) >= 1
    assert not any(name.startswith("asts_") for name, _ in sdk)  # each port serves its own
    assert not any(name.startswith("temporal_") for name, _ in after)


async def test_a_strategy_counts_its_cycles_done_and_failed_by_type(endpoints: Endpoints, deps: Deps) -> None:
    good = make_config(interval_s=0.05)
    bad = make_config(type="rsi_reversion", interval_s=0.05)  # sma_cross parameters: every cycle fails
    for cfg in (good, bad):
        await insert_strategy(deps, cfg)
    before = await scrape(endpoints.ours)
    client = endpoints.client
    async with running_worker(client, deps) as tq:
        handles = [
            await client.start_workflow(
                StrategyWorkflow.run,
                StrategyState(config=cfg, cycles_per_run=2),
                id=strategy_workflow_id(cfg.strategy_id),
                task_queue=tq,
            )
            for cfg in (good, bad)
        ]

        async def cycled() -> Samples | None:
            now = await scrape(endpoints.ours)
            done = value(now, "asts_cycles_total", strategy_type="sma_cross", outcome="done")
            failed = value(now, "asts_cycles_total", strategy_type="rsi_reversion", outcome="failed")
            moved = (
                done >= value(before, "asts_cycles_total", strategy_type="sma_cross", outcome="done") + 2
                and failed
                >= value(before, "asts_cycles_total", strategy_type="rsi_reversion", outcome="failed") + 2
            )
            return now if moved else None

        after = await until(cycled, what="two cycles done and two failed", timeout=60)
        for h in handles:
            await h.terminate()
    count = "asts_cycle_duration_seconds_count"
    assert (
        value(after, count, strategy_type="sma_cross") >= value(before, count, strategy_type="sma_cross") + 2
    )
    assert value(after, "asts_cycles_total", strategy_type="rsi_reversion", outcome="done") == value(
        before, "asts_cycles_total", strategy_type="rsi_reversion", outcome="done"
    )
    async with deps.sessions() as s:  # each failed cycle is an event once (notifications send it)
        events = await repo.list_events(s, strategy_id=bad.strategy_id, kind="cycle_failed")
    assert len(events) >= 2 and len({e.cycle for e in events}) == len(events)
    assert all("invalid rsi_reversion parameters" in e.reason for e in events), [e.reason for e in events]


async def test_the_sampler_reads_gates_breakers_orders_in_doubt_approvals_and_last_cycles(
    endpoints: Endpoints, deps: Deps
) -> None:
    client = endpoints.client
    hub_id = f"hub-{uuid.uuid4()}"
    cycling, halted = make_config(hub_id=hub_id, interval_s=30), make_config(hub_id=hub_id)
    await insert_strategy(deps, cycling)
    await insert_strategy(deps, halted, status="halted")
    now = utcnow()
    async with deps.transaction() as s:
        await repo.record_pnl(
            s, strategy_id=cycling.strategy_id, cycle=1, ts=now + timedelta(seconds=1), realised=Decimal(0),
            unrealised=Decimal(0), fees=Decimal(0), equity=Decimal(100000), exposure=Decimal(0),
        )  # fmt: skip
        plan = make_plan(cycling.strategy_id)  # an order no workflow follows: written long ago
        await repo.upsert_order(
            s, client_order_id=plan.client_order_id, strategy_id=plan.strategy_id, cycle=1, leg=0,
            symbol=plan.symbol, side="buy", type="market", qty=plan.qty, price=None, status="open",
            filled_qty=Decimal(0), avg_price=None, fee=Decimal(0), venue_order_id="v1", reason="",
            now=now - timedelta(hours=1),
        )  # fmt: skip
        await repo.create_approval(
            s, id="apr-1", strategy_id=cycling.strategy_id, cycle=2, workflow_id="cycle-x-2",
            client_order_id="c-2", symbol="MSFT/USD", side="buy", qty=Decimal(1), price=Decimal(100),
            notional=Decimal(100), requested_at=now, expires_at=now + timedelta(seconds=90),
        )  # fmt: skip
    async with running_worker(client, deps) as tq:
        hub = await ensure_hub(
            client, hub_id=hub_id, task_queue=tq, config=HubConfig(breakers={"daily_loss": "1000"})
        )
        registration = StrategyRegistration(
            strategy_id=cycling.strategy_id,
            name=cycling.name,
            workflow_id=strategy_workflow_id(cycling.strategy_id),
            capital=cycling.capital,
            breakers={"daily_loss": "500"},
        )
        await hub.signal(NeuroHubWorkflow.register, registration)

        async def hub_loaded() -> StateSample | None:  # its gate row written, its breakers answered
            sample = await read_state(deps, client, hub_id=hub_id)
            return sample if sample.breakers and hub_id in sample.hub_gates else None

        sample = await until(hub_loaded, what="NeuroHub's gate and breakers", timeout=20)
        assert sample.hub_gates[hub_id] == "active"
        assert sample.strategies == {"running": 1, "halted": 1}
        assert sample.orders_unknown == 1
        assert sample.approvals_pending == 1 and 60 < (sample.approval_timeout_s or 0) <= 90
        assert set(sample.last_cycles) == {cycling.strategy_id}  # the halted one is not expected to cycle
        assert sample.last_cycles[cycling.strategy_id] == pytest.approx(
            (now + timedelta(seconds=1)).timestamp()
        )
        assert sample.intervals == {cycling.strategy_id: 30.0}
        assert sample.breakers == (Breaker("hub", "daily_loss", 1.0), Breaker("strategy", "daily_loss", 1.0))

        halt = HubCommand(state="halted", reason="drill", actor="test", cancel_open_orders=False)
        await hub.execute_update(NeuroHubWorkflow.halt, halt)
        await sample_state(deps, client, hub_id=hub_id)
        served = await scrape(endpoints.ours)
        await hub.terminate()
    assert value(served, "asts_kill_switch_engaged", hub_id=hub_id) == 1
    assert value(served, "asts_hub_gate_open", hub_id=hub_id) == 0
    assert value(served, "asts_orders_unknown") == 1 and value(served, "asts_approvals_pending") == 1
    assert value(served, "asts_breaker_headroom_ratio", scope="hub", breaker="daily_loss") == 1.0
    # Under the kill switch no strategy of the hub cycles: none is expected to.
    assert (
        "asts_strategy_last_cycle_timestamp_seconds",
        frozenset({("strategy_id", cycling.strategy_id)}),
    ) not in served
    assert (
        await read_state(deps, None, hub_id=hub_id)
    ).breakers is None  # no client: the store's figures only


def test_no_port_means_no_sdk_runtime(tmp_path: Path) -> None:
    assert sdk_runtime(Settings(home=tmp_path)) is None
