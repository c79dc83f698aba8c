"""A strategy with a universe on the real dev server, real store and the paper venue: each cycle
scans the universe and only the scanned top N reach the analysis, the risk step and the venue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.contracts import HaltRequest, ScanResult
from activities.deps import Deps
from exchanges.data import SeriesSpec, parse_series_arg
from store import repo
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from tests.conftest import running_worker
from tests.encryption import plain_history
from tests.factories import insert_strategy, make_config
from tests.workflows.test_strategy_workflow import eventually, start, status
from trading.scanner import ScanCriteria, ScanWeights
from workflows.options import cycle_workflow_id
from workflows.strategy import StrategyWorkflow

# Per-bar return of each synthetic series: by 24h change the top two are UPA and UPB.
RETURNS = {
    "UPA/USD": "0.004",
    "UPB/USD": "0.002",
    "UPC/USD": "0.001",
    "DNA/USD": "-0.001",
    "DNB/USD": "-0.002",
}
TOP = ["UPA/USD", "UPB/USD"]


def write_trend(path: Path, step: Decimal, n: int = 400) -> Path:
    """``n`` daily bars, each closing ``step`` (a fraction) above its open, which is the last close."""
    lines = ["ts,open,high,low,close,volume"]
    close = Decimal(100)
    for i in range(n):
        ts = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=i)
        o, close = close, (close * (1 + step)).quantize(Decimal("0.0001"))
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},{o},{max(o, close)},{min(o, close)},{close},1000")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest_asyncio.fixture(loop_scope="session")
async def trend_deps(tmp_path: Path) -> AsyncIterator[Deps]:
    """A migrated store and a paper venue replaying five trending series."""
    series: dict[str, SeriesSpec] = {
        sym: parse_series_arg(f"{sym}={write_trend(tmp_path / f'{sym[:3]}.csv', Decimal(r))}")
        for sym, r in RETURNS.items()
    }
    url = sqlite_url(tmp_path / "asts.db")
    await migrate(url)
    engine = make_engine(url)
    deps = Deps(
        sessions=make_sessionmaker(engine),
        home=tmp_path,
        bars_per_second=20.0,
        exchange_options={"series": series},
    )
    try:
        yield deps
    finally:
        await deps.close()
        await engine.dispose()


async def test_only_the_scanned_top_n_get_decisions_and_orders(
    dev_env: WorkflowEnvironment, trend_deps: Deps
) -> None:
    deps = trend_deps
    universe = ScanCriteria(
        quote="USD", top=2, weights=ScanWeights(momentum=1, volatility=0, volume=0, spread=0)
    )
    cfg = make_config(symbols=[], universe=universe, step_mode="activity")
    await insert_strategy(deps, cfg)
    async with running_worker(dev_env.client, deps) as tq:
        handle = await start(dev_env.client, cfg, tq)

        async def both_bought() -> bool:
            async with deps.sessions() as s:
                orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
            return {o.symbol for o in orders if o.status == "filled"} == set(TOP)

        await eventually(both_bought, what="filled orders in both scanned symbols")

        async def cycle_done() -> bool:
            st = await status(handle)
            return st.last_cycle is not None and {d.symbol for d in st.last_cycle.decisions} == set(TOP)

        await eventually(cycle_done, what="a finished cycle that decided on the two scanned symbols")
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="done"))
        await handle.result()

        async with deps.sessions() as s:
            decisions = await repo.list_decisions(s, strategy_id=cfg.strategy_id)
            orders = await repo.list_orders(s, strategy_id=cfg.strategy_id)
        assert {d.symbol for d in decisions} == set(TOP)
        assert {o.symbol for o in orders} == set(TOP)
        # Legs follow the scan's order (the best first), so the ids of one cycle never collide.
        assert len({o.client_order_id for o in orders}) == len(orders)

        # The scan step's result in a cycle's history: the universe's size, top two, two requests.
        cycle = await dev_env.client.get_workflow_handle(
            cycle_workflow_id(cfg.strategy_id, 1)
        ).fetch_history()
        scan = _scan_result(plain_history(cycle))
        assert [snap.symbol for snap in scan.snapshots] == TOP
        assert [snap.rank for snap in scan.snapshots] == [1, 2]
        assert (scan.scanned, scan.eligible) == (5, 5)
        assert scan.requests == 2 + 2  # markets, tickers, and the bars of the two picked


def _scan_result(history: WorkflowHistory) -> ScanResult:
    """The scan activity's result, decoded from the cycle's history."""
    for event in history.events:
        attrs = event.activity_task_completed_event_attributes
        if event.HasField("activity_task_completed_event_attributes") and attrs.result.payloads:
            data = json.loads(attrs.result.payloads[0].data)
            if "snapshots" in data and "decisions" not in data:
                return ScanResult.model_validate(data)
    raise AssertionError("no scan result in the cycle's history")
