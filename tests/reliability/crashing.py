"""What the crash tests share: a worker process's settings on a fast paper venue, and the busy
strategies they kill it under."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.deps import Deps
from tests.factories import make_config
from tests.procs import worker_env
from worker.runtime import launch_strategy


def fast_paper_worker(client: Client, db_url: str, tmp_path: Path, prefix: str) -> tuple[str, dict[str, str]]:
    """A task queue of this test's own and the environment of a worker serving it, with the paper
    venue replaying 20 bars a second (the strategies see a new bar every cycle)."""
    task_queue = f"{prefix}-{tmp_path.name}"
    return task_queue, worker_env(client, task_queue, db_url, ASTS_PAPER_BARS_PER_SECOND="20")


async def start_busy(
    client: Client, deps: Deps, task_queue: str, *, prefix: str, n: int, **config: Any
) -> list[WorkflowHandle[Any, Any]]:
    """``n`` strategies ``{prefix}{i}`` trading two symbols every 50 ms, strategy i in size i + 1."""
    handles = []
    for i in range(n):
        cfg = make_config(
            strategy_id=f"{prefix}{i}",
            symbols=["MSFT/USD", "GOOGL/USD"],
            interval_s=0.05,
            params={"fast": 2, "slow": 4, "size": str(i + 1)},
            **config,
        )
        handles.append(await launch_strategy(client, deps.sessions, cfg, task_queue=task_queue))
    return handles
