"""NeuroHub against the real dev server, store and paper venue: kill switch, acknowledgements, resume."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.contracts import (
    ControlResult,
    HubCommand,
    HubConfig,
    HubStatus,
    StrategyConfig,
    StrategyRegistration,
    StrategyReport,
)
from activities.deps import Deps
from store import repo
from tests.conftest import supervised
from tests.factories import insert_strategy, make_config
from tests.workflows.test_strategy_workflow import eventually, start, status
from workflows.neurohub import NeuroHubWorkflow


def configs(hub_id: str, n: int, **overrides: object) -> list[StrategyConfig]:
    """``n`` strategies of ``hub_id`` that trade every few cycles on two symbols."""
    fields: dict[str, object] = {
        "hub_id": hub_id,
        "symbols": ["MSFT/USD", "GOOGL/USD"],
        "interval_s": 0.2,
        "params": {"fast": 2, "slow": 3, "size": "1"},
    }
    return [make_config(**(fields | overrides)) for _ in range(n)]


async def hub_status(hub: WorkflowHandle) -> HubStatus:
    return await hub.query(NeuroHubWorkflow.status)


async def start_all(client: Client, deps: Deps, cfgs: list[StrategyConfig], tq: str) -> list[WorkflowHandle]:
    handles = []
    for cfg in cfgs:
        await insert_strategy(deps, cfg)
        handles.append(await start(client, cfg, tq))
    return handles


async def test_kill_switch_halts_all_flattens_and_every_strategy_acknowledges(
    dev_env: WorkflowEnvironment, backend: tuple[Deps, str]
) -> None:
    deps = backend[0]
    client = dev_env.client
    async with supervised(client, deps) as (hub, tq):
        cfgs = configs(hub.id, 4)
        handles = await start_all(client, deps, cfgs, tq)

        async def registered_and_holding() -> bool:
            st = await hub_status(hub)
            async with deps.sessions() as s:
                held = [p for p in await repo.get_positions(s) if p.qty != 0]
            return len(st.strategies) == len(cfgs) and st.reports_received >= 8 and len(held) >= 2

        await eventually(registered_and_holding, what="registered strategies holding positions")
        result = await hub.execute_update(
            NeuroHubWorkflow.halt,
            HubCommand(reason="test kill", actor="tester", flatten=True, wait="all", ack_timeout_s=30),
            result_type=ControlResult,
        )
        assert result.state == "halted"
        assert sorted(a.strategy_id for a in result.strategies) == sorted(c.strategy_id for c in cfgs)
        assert result.unacknowledged == [], result.strategies
        assert all(a.at is not None and a.at >= result.gate_changed_at for a in result.strategies)

        # Nothing was placed after the gate closed except the flattening orders the halt asked for.
        venue_orders = await deps.exchange("paper").orders()
        late = [o for o in venue_orders if o.created_at > result.gate_changed_at]
        assert late, "the halt flattened the open positions"
        assert all("-x" in o.client_order_id for o in late), [
            (o.client_order_id, o.created_at, o.status) for o in late
        ]
        async with deps.sessions() as s:
            assert all(p.qty == 0 for p in await repo.get_positions(s))
            events = await repo.list_events(s, kind="kill_switch")
        assert [(e.reason, e.data["actor"]) for e in events] == [("test kill", "tester")]

        st = await hub_status(hub)
        assert (st.state, st.reason, st.actor) == ("halted", "test kill", "tester")
        for h in handles:
            assert (await status(h)).hub_state == "halted"
        cycles = [(await status(h)).cycles_done for h in handles]

        resumed = await hub.execute_update(
            NeuroHubWorkflow.resume,
            HubCommand(reason="all clear", wait="all", ack_timeout_s=30),
            result_type=ControlResult,
        )
        assert resumed.state == "active" and resumed.unacknowledged == []

        async def cycling_again() -> bool:
            now = [(await status(h)).cycles_done for h in handles]
            return all(n > c for n, c in zip(now, cycles, strict=True))

        await eventually(cycling_again, what="cycles after resume")
        assert (await hub_status(hub)).state == "active"
        for h in handles:
            await h.terminate()


async def holding(deps: Deps) -> bool:
    async with deps.sessions() as s:
        return any(p.qty > 0 for p in await repo.get_positions(s))


async def test_reducing_lets_positions_shrink_but_never_grow(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    client = dev_env.client
    async with supervised(client, deps) as (hub, tq):
        await start_all(client, deps, configs(hub.id, 2), tq)
        await eventually(lambda: holding(deps), what="a position")
        result = await hub.execute_update(
            NeuroHubWorkflow.halt,
            HubCommand(state="reducing", reason="reduce only", wait="all", ack_timeout_s=30),
            result_type=ControlResult,
        )
        assert result.state == "reducing" and result.unacknowledged == []

        async def placed_after() -> list[tuple[str, str]]:
            venue = await deps.exchange("paper").orders()
            return [(o.side.value, o.client_order_id) for o in venue if o.created_at > result.gate_changed_at]

        async def sold() -> bool:
            return any(side == "sell" for side, _ in await placed_after())

        await eventually(sold, what="a reducing sell after the move to reduce-only")
        assert all(side == "sell" for side, _ in await placed_after())
        async with deps.sessions() as s:
            refused = await repo.list_events(s, kind="risk_rejected")
        assert all("reduce-only" in e.reason for e in refused)


async def test_daily_figures_reset_at_the_configured_time_on_a_durable_timer(
    time_env: WorkflowEnvironment, deps: Deps
) -> None:
    client = time_env.client
    async with supervised(client, deps, config=HubConfig(daily_reset_utc="06:30")) as (hub, _):
        reg = StrategyRegistration(
            strategy_id="d1",
            name="d1",
            workflow_id="strategy-d1",
            capital=Decimal(1000),
            breakers={"daily_loss": "500"},
        )
        await hub.signal(NeuroHubWorkflow.register, reg)
        for cycle, equity in [(1, "1000"), (2, "900")]:
            report = StrategyReport(
                strategy_id="d1",
                cycle=cycle,
                at=datetime.now(UTC),
                equity=Decimal(equity),
                exposure=Decimal(0),
                realised=Decimal(0),
                unrealised=Decimal(0),
                fees=Decimal(0),
            )
            await hub.signal(NeuroHubWorkflow.report, report)
        before = await hub_status(hub)
        reading = next(r for r in before.strategies[0].readings if r.name == "daily_loss")
        assert (reading.value, reading.headroom, reading.tripped) == (Decimal(100), Decimal(400), False)
        assert before.day_started_at is not None and before.day_started_at.time() == time(6, 30)

        await time_env.sleep(timedelta(days=1))
        after = await hub_status(hub)
        assert after.day_started_at == before.day_started_at + timedelta(days=1)
        reading = next(r for r in after.strategies[0].readings if r.name == "daily_loss")
        assert reading.value == 0 and after.daily_pnl == 0
