"""MarketDataWorkflow and its schedule on the real dev server, with the real activities, venue and store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import ValidationError
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.deps import Deps
from activities.marketdata_contracts import BackfillInput, MarketDataInput, MarketDataResult
from exchanges.data import SeriesSpec
from store import repo
from tests.conftest import running_worker
from tests.encryption import TEST_CONVERTER
from tests.exchanges.conftest import FakeClock, write_series
from tests.workflows.test_strategy_workflow import eventually
from worker.marketdata_schedule import ensure_marketdata_schedule, marketdata_input
from worker.runtime import WORKFLOWS
from worker.settings import Settings
from workflows.marketdata import MarketDataWorkflow
from workflows.options import marketdata_workflow_id

DAY0 = datetime(2020, 1, 1, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def venue_deps(deps: Deps, tmp_path: Path) -> AsyncIterator[tuple[Deps, FakeClock]]:
    """The store of ``deps``; a paper venue replaying three synthetic daily series from bar 5."""
    clock = FakeClock()
    series = {
        sym: SeriesSpec(
            sym,
            write_series(tmp_path / f"{sym[0]}.csv", n=40),
            sym.split("/")[0],
            "USD",
            Decimal(1),
            Decimal(1),
            Decimal("0.01"),
            timeframe="1d",
        )
        for sym in ("A/USD", "B/USD", "C/USD")
    }
    d = Deps(
        sessions=deps.sessions,
        home=tmp_path / "venue",
        bars_per_second=1.0,
        exchange_options={"series": series, "start_bar": 5, "clock": clock},
    )
    await d.exchange("paper").ohlcv("A/USD", 1)  # fixes the replay epoch
    yield d, clock
    await d.close()


def series(symbol: str, **kw: object) -> BackfillInput:
    return BackfillInput.model_validate(
        {"exchange": "paper", "symbol": symbol, "timeframe": "1d", "page": 4} | kw
    )


async def stored(deps: Deps, symbol: str) -> int:
    async with deps.sessions() as s:
        return await repo.count_candles(s, exchange="paper", symbol=symbol, timeframe="1d")


async def test_series_are_backfilled_in_parallel_a_bad_one_fails_alone_and_the_run_replays(
    dev_env: WorkflowEnvironment, venue_deps: tuple[Deps, FakeClock]
) -> None:
    deps, clock = venue_deps
    client = dev_env.client
    clock.advance(15)  # bar 20 is current: 20 closed bars per series
    later = DAY0 + timedelta(days=10)
    inp = MarketDataInput(
        series=[
            series("A/USD"),
            series("NOPE/USD"),
            series("B/USD"),
            series("C/USD", since=later),
            series("A/USD", timeframe="1h"),
        ],
        concurrency=2,
    )
    async with running_worker(client, deps) as tq:
        handle = await client.start_workflow(
            MarketDataWorkflow.run, inp, id=marketdata_workflow_id(uuid.uuid4().hex[:12]), task_queue=tq
        )
        result = await handle.result()
        assert isinstance(result, MarketDataResult)
        a, nope, b, c, hourly = result.series
        assert [r.symbol for r in result.series] == ["A/USD", "NOPE/USD", "B/USD", "C/USD", "A/USD"]
        assert (a.new, a.count, a.failed, b.new, c.new, c.first) == (
            20,
            20,
            False,
            20,
            10,
            DAY0 + timedelta(days=10),
        )
        assert nope.failed and nope.errors[0].startswith("UnknownSymbol: ") and nope.new == 0
        assert hourly.failed and hourly.errors[0].startswith("InvalidInput: ")
        assert (result.new, result.failed, result.gap_count) == (50, 2, 0)
        assert [await stored(deps, s) for s in ("A/USD", "B/USD", "C/USD")] == [20, 20, 10]

        clock.advance(5)
        again = await client.execute_workflow(
            MarketDataWorkflow.run,
            MarketDataInput(series=[series("A/USD"), series("C/USD")]),
            id=marketdata_workflow_id(uuid.uuid4().hex[:12]),
            task_queue=tq,
        )
        assert [(r.new, r.duplicates, r.count) for r in again.series] == [(5, 0, 25), (5, 0, 15)]
        empty = await client.execute_workflow(
            MarketDataWorkflow.run,
            MarketDataInput(),
            id=marketdata_workflow_id(uuid.uuid4().hex[:12]),
            task_queue=tq,
        )
        assert empty == MarketDataResult()
        history = await handle.fetch_history()
    await Replayer(workflows=list(WORKFLOWS), data_converter=TEST_CONVERTER).replay_workflow(history)


async def test_the_schedule_is_created_updated_in_place_and_deleted_when_nothing_is_configured(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    client: Client = dev_env.client
    schedule_id = f"marketdata-{uuid.uuid4().hex[:8]}"
    async with running_worker(client, deps) as tq:
        settings = Settings(
            task_queue=tq,
            market_data=[
                {"exchange": "paper", "symbol": "MSFT/USD", "timeframe": "1d", "since": "2005-01-01"}
            ],
            market_data_interval_s=3600,
        )
        handles = await asyncio.gather(
            *(ensure_marketdata_schedule(client, settings, schedule_id=schedule_id) for _ in range(3))
        )
        handle = handles[0]
        assert handle is not None and {h.id for h in handles if h is not None} == {schedule_id}
        try:

            async def backfilled() -> bool:
                async with deps.sessions() as s:
                    return (
                        await repo.count_candles(s, exchange="paper", symbol="MSFT/USD", timeframe="1d")
                        >= 200
                    )

            await eventually(backfilled, timeout=60, what="the triggered run to store MSFT/USD bars")
            desc = await handle.describe()
            action = desc.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert (action.workflow, action.id, action.task_queue) == ("MarketDataWorkflow", schedule_id, tq)
            assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
            assert [i.every for i in desc.schedule.spec.intervals] == [timedelta(hours=1)]
            # The schedule holds its input as stored: encrypted, so decoded through the client.
            (arg,) = await client.data_converter.decode(list(action.args), [MarketDataInput])
            assert [s.symbol for s in arg.series] == ["MSFT/USD"]

            await handle.pause(note="maintenance")
            settings.market_data_interval_s = 600
            await ensure_marketdata_schedule(client, settings, schedule_id=schedule_id)
            desc = await handle.describe()
            assert [i.every for i in desc.schedule.spec.intervals] == [timedelta(minutes=10)]
            assert desc.schedule.state.paused and desc.info.num_actions == 1

            settings.market_data = []
            assert await ensure_marketdata_schedule(client, settings, schedule_id=schedule_id) is None
            with pytest.raises(RPCError) as gone:
                await handle.describe()
            assert gone.value.status == RPCStatusCode.NOT_FOUND
            # Nothing configured and no schedule: still nothing, no error.
            assert await ensure_marketdata_schedule(client, settings, schedule_id=schedule_id) is None
        finally:
            try:
                await handle.delete()
            except RPCError:
                pass


def test_a_bad_configuration_fails_at_start() -> None:
    settings = Settings(market_data=[{"exchange": "paper", "symbol": "MSFT/USD", "timeframe": "1month"}])
    with pytest.raises(ValidationError, match="timeframe '1month' is not a number of s, m, h, d or w"):
        marketdata_input(settings)
