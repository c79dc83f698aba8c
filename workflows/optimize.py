"""OptimizeWorkflow: a parameter search split into chunks, each an activity on the backtest queue.

A worker that dies mid-search costs at most the chunks under way: the finished ones are in
this workflow's history, and a chunk's own activity resumes from its last heartbeat. The
``progress`` query answers done/total and the best so far; cancelling the workflow cancels
the chunks under way and records the search as cancelled.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.opticore_contracts import (
        MAX_CHUNKS,
        ChunkInput,
        ChunkResult,
        Evaluation,
        OptimizePlan,
        OptimizeProgress,
        OptimizeRecord,
        OptimizeRequest,
        SearchResult,
        WalkForwardRow,
        WindowInput,
    )
    from workflows import options
    from workflows.steps import run_cpu_step

TOP_KEPT = 20


@workflow.defn
class OptimizeWorkflow:
    """Grid and random searches in chunks; scipy searches and walk-forward windows as activities."""

    @workflow.init
    def __init__(self, req: OptimizeRequest) -> None:
        self.req = req
        self.status = "running"
        self.done = 0
        self.total = 0
        self.top: list[Evaluation] = []
        self.walk_forward: list[WalkForwardRow] = []

    @workflow.run
    async def run(self, req: OptimizeRequest) -> OptimizeRecord:
        """Search, record progress as it goes, and return (and store) the final record."""
        try:
            plan = await run_cpu_step("plan_optimization", req, result_type=OptimizePlan)
            if req.walk_forward is not None:
                await self._walk_forward(plan)
            elif req.method in ("grid", "random"):
                await self._chunks(plan.candidates)
            else:
                self.total = req.n
                found = await run_cpu_step("search_optimization", req, result_type=SearchResult)
                self._take(found.evaluations, count=found.count or None)
            self.status = "done"
        except (asyncio.CancelledError, ActivityError) as e:
            if not is_cancelled_exception(e):
                return await self._failed(e)
            self.status = "cancelled"  # the chunks under way were cancelled with the workflow
            await self._store(final=True)
            raise asyncio.CancelledError() from e
        return await self._store(final=True)

    async def _failed(self, e: BaseException) -> OptimizeRecord:
        self.status = "failed"
        reason = str(getattr(e, "cause", None) or e)
        await self._store(final=True, error=reason)
        raise ApplicationError(f"optimisation failed: {reason}", non_retryable=True) from e

    async def _chunks(self, candidates: list[dict[str, Any]]) -> None:
        size = max(self.req.chunk_size, -(-len(candidates) // MAX_CHUNKS))
        chunks = [candidates[i : i + size] for i in range(0, len(candidates), size)]
        self.total = len(candidates)
        for first in range(0, len(chunks), options.PARALLEL_CHUNKS):
            batch = range(first, min(first + options.PARALLEL_CHUNKS, len(chunks)))
            results = await asyncio.gather(
                *(
                    run_cpu_step(
                        "evaluate_chunk",
                        ChunkInput(request=self.req, chunk=i, candidates=chunks[i]),
                        result_type=ChunkResult,
                    )
                    for i in batch
                )
            )
            for r in results:
                self._take(r.evaluations)
            await self._store()

    async def _walk_forward(self, plan: OptimizePlan) -> None:
        self.total = len(plan.windows)
        for train, test in plan.windows:
            window = WindowInput(request=self.req, train=train, test=test)
            row = await run_cpu_step("walk_forward_window", window, result_type=WalkForwardRow)
            self.walk_forward.append(row)
            self.done += 1
            await self._store()

    def _take(self, evaluations: list[Evaluation], count: int | None = None) -> None:
        self.done += len(evaluations) if count is None else count
        # A parameter set the strategy refuses scores -inf: counted as done, never among the best.
        scored = [e for e in evaluations if math.isfinite(e.score)]
        ranked = sorted([*self.top, *scored], key=lambda e: e.score, reverse=True)
        self.top = ranked[:TOP_KEPT]

    def _record(self, *, final: bool = False, error: str = "") -> OptimizeRecord:
        return OptimizeRecord(
            optimization_id=self.req.optimization_id,
            status=self.status,
            done=self.done,
            total=self.total,
            best=self.top[0] if self.top else None,
            top=self.top,
            walk_forward=self.walk_forward,
            error=error,
            final=final,
        )

    async def _store(self, *, final: bool = False, error: str = "") -> OptimizeRecord:
        record = self._record(final=final, error=error)
        await workflow.execute_activity(
            "record_optimization",
            record,
            start_to_close_timeout=options.STORE_TIMEOUT,
            retry_policy=options.STORE_RETRY,
        )
        return record

    @workflow.query
    def progress(self) -> OptimizeProgress:
        """Done and total evaluations (walk-forward: windows), and the best so far."""
        return OptimizeProgress(
            optimization_id=self.req.optimization_id,
            status=self.status,
            done=self.done,
            total=self.total,
            best=self.top[0] if self.top else None,
            walk_forward=self.walk_forward,
        )
