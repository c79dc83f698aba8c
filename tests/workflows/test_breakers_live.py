"""Circuit breakers tripping on a scripted loss on the paper venue, through the real NeuroHub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HubConfig
from activities.deps import Deps
from exchanges.data import resolve_series
from store import repo
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from tests.conftest import supervised
from tests.factories import insert_strategy, make_config
from tests.workflows.test_neurohub import hub_status
from tests.workflows.test_strategy_workflow import eventually, start, status

RISE_BARS = 210  # the replay starts at bar 200: the strategy buys into the rise
START = datetime(2024, 1, 1, tzinfo=UTC)


def write_crash_series(path: Path) -> None:
    """A steady rise, then a fall of 3% a bar: a long position loses money every bar."""
    price = Decimal(100)
    lines = ["ts,open,high,low,close,volume"]
    for i in range(RISE_BARS + 300):
        step = Decimal("1.002") if i < RISE_BARS else Decimal("0.97")
        new = (price * step).quantize(Decimal("0.01"))
        hi, lo = max(price, new), min(price, new)
        ts = (START + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{ts},{price},{hi},{lo},{new},1000")
        price = new
    path.write_text("\n".join(lines) + "\n")


@pytest_asyncio.fixture(loop_scope="session")
async def crash_deps(tmp_path: Path) -> AsyncIterator[Deps]:
    """A store and a paper venue that also lists CRASH/USD, the scripted series."""
    csv = tmp_path / "crash.csv"
    write_crash_series(csv)
    url = sqlite_url(tmp_path / "asts.db")
    await migrate(url)
    engine = make_engine(url)
    series = resolve_series([f"CRASH/USD={csv}"])
    d = Deps(
        sessions=make_sessionmaker(engine),
        home=tmp_path,
        bars_per_second=10.0,
        exchange_options={"series": series},
    )
    try:
        yield d
    finally:
        await d.close()
        await engine.dispose()


async def test_daily_loss_breaker_halts_the_strategy_and_records_why(
    dev_env: WorkflowEnvironment, crash_deps: Deps
) -> None:
    deps, client = crash_deps, dev_env.client
    async with supervised(client, deps) as (hub, tq):
        cfg = make_config(
            hub_id=hub.id,
            symbols=["CRASH/USD"],
            interval_s=0.2,
            params={"fast": 2, "slow": 5, "size": "20"},
            breakers={"daily_loss": "40"},
        )
        await insert_strategy(deps, cfg)
        handle = await start(client, cfg, tq)

        async def tripped() -> bool:
            return (await status(handle)).status == "halted"

        await eventually(tripped, timeout=90, what="the daily loss breaker to halt the strategy")
        async with deps.sessions() as s:
            row = await repo.get_strategy(s, strategy_id=cfg.strategy_id)
            halts = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="halt")
            last_pnl = await repo.latest_pnl(s, strategy_id=cfg.strategy_id)
        assert row is not None and row.status == "halted"
        assert row.status_reason.startswith("daily loss") and "limit 40" in row.status_reason
        assert [e.data["actor"] for e in halts] == ["breaker:daily_loss"]
        assert last_pnl is not None and last_pnl.realised + last_pnl.unrealised - last_pnl.fees <= Decimal(
            -40
        )

        hub_view = await hub_status(hub)
        entry = next(e for e in hub_view.strategies if e.strategy_id == cfg.strategy_id)
        assert entry.status == "halted"
        daily = next(r for r in entry.readings if r.name == "daily_loss")
        assert daily.tripped and daily.headroom <= 0

        # Halted by its breaker: no order of it reaches the venue after the halt committed.
        halted_at = halts[0].created_at
        placed = await deps.exchange("paper").orders()
        assert placed and all(o.created_at <= halted_at for o in placed)
        acks = (await status(handle)).acks
        assert acks and acks[-1].state == "acked"
        await handle.terminate()


@pytest.mark.parametrize(
    ("breakers", "name", "reason"),
    [
        ({"max_drawdown": "0.0003"}, "max_drawdown", "drawdown "),
        # 20 of CRASH at about 150 each: the first entry takes the account over 1000 of exposure
        ({"max_gross_exposure": "1000"}, "gross_exposure", "gross exposure "),
    ],
    ids=["drawdown", "exposure"],
)
async def test_global_breaker_moves_the_hub_to_reduce_only(
    dev_env: WorkflowEnvironment, crash_deps: Deps, breakers: dict[str, str], name: str, reason: str
) -> None:
    deps, client = crash_deps, dev_env.client
    config = HubConfig(breakers={**breakers, "action": "reduce"})
    async with supervised(client, deps, config=config) as (hub, tq):
        cfg = make_config(
            hub_id=hub.id, symbols=["CRASH/USD"], interval_s=0.2, params={"fast": 2, "slow": 5, "size": "20"}
        )
        await insert_strategy(deps, cfg)
        handle = await start(client, cfg, tq)

        async def reducing() -> bool:
            return (await hub_status(hub)).state == "reducing"

        await eventually(reducing, timeout=90, what=f"the global {name} breaker")
        view = await hub_status(hub)
        assert view.actor == f"breaker:{name}" and view.reason.startswith(reason)
        (reading,) = view.breakers
        assert reading.name == name and reading.tripped
        if name == "gross_exposure":  # the account's exposure is what the breaker read
            assert reading.value == view.exposure >= 1000
        async with deps.sessions() as s:
            events = await repo.list_events(s, kind="reduce_only")
        assert [e.data["actor"] for e in events] == [f"breaker:{name}"]
        assert (await status(handle)).hub_state == "reducing"
        await handle.terminate()
