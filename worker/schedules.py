"""Temporal schedules that start one workflow every so often, created or updated by every worker."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.types import MethodAsyncSingleParam

InputT = TypeVar("InputT")


def interval_schedule(
    workflow_run: MethodAsyncSingleParam[Any, InputT, Any],
    inp: InputT,
    *,
    schedule_id: str,
    task_queue: str,
    execution_timeout: timedelta,
    every_s: float,
) -> Schedule:
    """Start ``workflow_run`` on ``inp`` every ``every_s`` seconds, skipping ticks while a run goes on."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            workflow_run,
            inp,
            id=schedule_id,
            task_queue=task_queue,
            execution_timeout=execution_timeout,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_s))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> ScheduleHandle:
    """Create the schedule (triggering one run at once), or update an existing one to ``schedule``.

    Several workers may call this at once: one creates it, the others update it to the same
    definition. An update keeps the schedule's state, so a paused schedule stays paused.
    """
    try:
        return await client.create_schedule(schedule_id, schedule, trigger_immediately=True)
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=state))

    handle = client.get_schedule_handle(schedule_id)
    await handle.update(keep_state)
    return handle
