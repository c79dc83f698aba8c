"""IngestWorkflow and DataSpider's schedule on the real dev server, with the real activity and store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleHandle, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.deps import Deps
from activities.feeds import ROOT
from activities.ingest_contracts import FeedSource, IngestInput, IngestResult
from store import repo
from tests.conftest import running_worker
from tests.encryption import TEST_CONVERTER
from tests.workflows.test_strategy_workflow import eventually
from worker.runtime import WORKFLOWS, ensure_news_schedule
from worker.settings import Settings
from workflows.ingest import IngestWorkflow
from workflows.options import ingest_workflow_id

SAMPLES = ROOT / "data" / "news"


async def stored(deps: Deps) -> int:
    async with deps.sessions() as s:
        return len(await repo.list_news(s, limit=1000))


async def test_a_broken_feed_fails_alone_and_the_run_replays(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path
) -> None:
    client = dev_env.client
    feeds = [
        FeedSource(name="good", path=str(SAMPLES / "sample.xml")),
        FeedSource(name="broken", path=str(tmp_path / "missing.json")),
        FeedSource(name="json", path=str(SAMPLES / "sample.json")),
    ]
    async with running_worker(client, deps) as tq:
        handle = await client.start_workflow(
            IngestWorkflow.run,
            IngestInput(feeds=feeds),
            id=ingest_workflow_id(uuid.uuid4().hex[:12]),
            task_queue=tq,
        )
        result = await handle.result()
        assert isinstance(result, IngestResult)
        assert [r.source for r in result.feeds] == ["good", "broken", "json"]
        good, broken, js = result.feeds
        assert (good.failed, js.failed) == (False, False)
        # The feeds run at once: the story both carry is new in whichever stores it first.
        assert good.new + js.new == 24 and good.duplicates + js.duplicates == 1
        assert good.new + good.duplicates == 15
        assert broken.failed and broken.new == 0 and len(broken.errors) == 1
        assert broken.errors[0].startswith("InvalidInput: ") and "missing.json" in broken.errors[0]
        assert (result.new, result.duplicates, result.failed) == (24, 1, 1)
        assert await stored(deps) == 24

        empty = await client.execute_workflow(
            IngestWorkflow.run, IngestInput(), id=ingest_workflow_id(uuid.uuid4().hex[:12]), task_queue=tq
        )
        assert empty == IngestResult()
        history = await handle.fetch_history()
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=TEST_CONVERTER)
    await replayer.replay_workflow(history)


async def describe_action(handle: ScheduleHandle) -> tuple[ScheduleActionStartWorkflow, timedelta, int, bool]:
    desc = await handle.describe()
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    (interval,) = desc.schedule.spec.intervals
    return action, interval.every, desc.info.num_actions, desc.schedule.state.paused


async def test_the_schedule_is_created_once_runs_at_once_and_is_updated_in_place(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    client: Client = dev_env.client
    schedule_id = f"dataspider-{uuid.uuid4().hex[:8]}"
    async with running_worker(client, deps) as tq:
        settings = Settings(
            task_queue=tq,
            news_feeds=[{"name": "sample-json", "path": "data/news/sample.json"}],
            news_interval_s=3600,
        )
        # Several workers starting together: one creates the schedule, the others update it.
        handles = await asyncio.gather(
            *(ensure_news_schedule(client, settings, schedule_id=schedule_id) for _ in range(3))
        )
        handle = handles[0]
        try:
            assert {h.id for h in handles} == {schedule_id}

            async def ingested() -> bool:
                return await stored(deps) == 10

            await eventually(ingested, timeout=30, what="the triggered run to store the sample items")
            action, every, runs, paused = await describe_action(handle)
            assert (action.task_queue, every, runs, paused) == (tq, timedelta(hours=1), 1, False)
            assert action.workflow == "IngestWorkflow" and action.id == schedule_id

            await handle.pause(note="maintenance")
            settings.news_interval_s = 600
            again = await ensure_news_schedule(client, settings, schedule_id=schedule_id)
            assert again.id == schedule_id
            _, every, runs, paused = await describe_action(handle)
            assert (every, runs, paused) == (timedelta(minutes=10), 1, True)  # no new run, still paused
        finally:
            await handle.delete()
