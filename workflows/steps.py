"""Run one step as a regular or a local activity, with the named timeout and retry policy.

Local activities run in the worker that runs the workflow, with no trip through the
server's task queues: the step's result is still recorded once in history (as a
marker), and it is retried under the same policy. Pure-compute and short store steps
use them by default; ``step_mode="activity"`` makes every step a regular activity
(visible as its own events in the Web UI, and the baseline of ``bench/lifecycle.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from activities.contracts import StepMode
from workflows import options

T = TypeVar("T")

# What a failed step raises once its retries are spent: ActivityError for a regular activity;
# a local activity's non-retryable failure may arrive as the ApplicationError itself.
STEP_FAILED = (ActivityError, ApplicationError)


async def run_step(
    name: str,
    arg: Any,
    *,
    result_type: type[T],
    mode: StepMode,
    timeout: timedelta,
    retry: RetryPolicy,
) -> T:
    """Execute activity ``name`` with ``arg`` and return its result."""
    if mode == "local":
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timeout,
            retry_policy=retry,
        )
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=timeout,
        retry_policy=retry,
    )


def failure_reason(err: BaseException) -> str:
    """The failure's type and message, from the activity error's cause when there is one."""
    cause = err.cause if isinstance(err, ActivityError) and err.cause is not None else err
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return f"{type(cause).__name__}: {cause}"


async def run_cpu_step(activity: str, arg: Any, *, result_type: type[T]) -> T:
    """A CPU-bound step (backtests, searches): on the backtest queue of this workflow's queue,
    heartbeating, retried under the backtest policy."""
    return await workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        task_queue=options.backtest_queue(workflow.info().task_queue),
        start_to_close_timeout=options.BACKTEST_TIMEOUT,
        heartbeat_timeout=options.BACKTEST_HEARTBEAT,
        retry_policy=options.BACKTEST_RETRY,
    )


class Background:
    """Work a workflow starts without waiting for it, which must finish before the run ends.

    ``idle`` tells when every such task is done; a run that continues as new or completes
    waits for it (with ``workflow.all_handlers_finished``), so no message is lost.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start ``coro`` now, in the workflow's own event loop (deterministic)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def idle(self) -> bool:
        """True when nothing started here is still running."""
        return not self._tasks

    async def drain(self) -> None:
        """Wait until every handler has finished and every task started here is done."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self.idle())
