"""What the CLI's command groups share: the types of the CLI's own helpers, and running a workflow once.

Like the command groups, this module never imports ``worker.cli``; Temporal is imported only when
a workflow is run, so building the CLI stays quick.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from temporalio.types import MethodAsyncSingleParam

Call = Callable[..., Any]
Fail = Callable[..., NoReturn]
InputT = TypeVar("InputT")
ResultT = TypeVar("ResultT")


async def run_workflow_once(
    workflow_run: MethodAsyncSingleParam[Any, InputT, ResultT],
    inp: InputT,
    *,
    make_id: Callable[[str], str],
    what: str,
    temporal: str | None,
    task_queue: str | None,
    timeout_s: float,
    fail: Fail,
) -> ResultT:
    """Run a workflow once through the Temporal of the settings (or ``temporal``) and wait for its result.

    The run's id is ``make_id`` of a fresh random suffix. Exits with code 1 when Temporal cannot
    be reached or the ``what`` run fails.
    """
    from temporalio.client import WorkflowFailureError

    from worker.runtime import connect
    from worker.settings import Settings

    settings = Settings()
    settings.temporal_address = temporal or settings.temporal_address
    settings.task_queue = task_queue or settings.task_queue
    try:
        client = await connect(settings)
    except Exception as e:  # any failure to connect means "not reachable"
        fail(f"cannot reach Temporal at {settings.address}: {e}", code=1)
    try:
        return await client.execute_workflow(
            workflow_run,
            inp,
            id=make_id(uuid.uuid4().hex[:12]),
            task_queue=settings.task_queue,
            execution_timeout=timedelta(seconds=timeout_s),
        )
    except WorkflowFailureError as e:
        fail(
            f"{what} run failed: {e.cause}; is a worker running on task queue {settings.task_queue!r}?",
            code=1,
        )


def parse_pairs(items: list[str], what: str, fail: Fail) -> dict[str, Any]:
    """``key=value`` options as a mapping, each value read as JSON when it is JSON (else text)."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{what} {item!r} must look like key=value")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out
