"""Client-side helpers for talking to long-running workflows."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

SIGNAL_ATTEMPTS = 20


async def signal_latest(handle: WorkflowHandle[Any, Any], signal: Any, arg: Any) -> None:
    """Signal the newest run of a workflow, riding over a continue-as-new in progress.

    A signal that lands in the instant a run closes with continue-as-new is refused as
    "already completed" before the next run exists; sent again it reaches the next run.
    """
    for attempt in range(SIGNAL_ATTEMPTS):
        try:
            await handle.signal(signal, arg)
            return
        except RPCError as e:
            if "already completed" not in str(e) or attempt == SIGNAL_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
