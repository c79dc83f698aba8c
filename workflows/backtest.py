"""BacktestWorkflow: one backtest, run on the backtest task queue and stored."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.opticore_contracts import (
        BacktestFailure,
        BacktestProgress,
        BacktestRequest,
        BacktestSummary,
    )
    from workflows import options
    from workflows.steps import run_cpu_step


@workflow.defn
class BacktestWorkflow:
    """Run the engine once; the result (metrics, trades, equity) is stored by the activity."""

    def __init__(self) -> None:
        self.done = 0

    @workflow.query
    def progress(self) -> BacktestProgress:
        """Steps done of the total: a backtest is one step of the engine (its record is stored by it)."""
        return BacktestProgress(done=self.done, total=1)

    @workflow.run
    async def run(self, req: BacktestRequest) -> BacktestSummary:
        """The summary; a failure is stored with its reason, then raised."""
        try:
            summary = await run_cpu_step("run_backtest", req, result_type=BacktestSummary)
            self.done = 1
            return summary
        except (asyncio.CancelledError, ActivityError) as e:
            cancelled = is_cancelled_exception(e)
            reason = "cancelled" if cancelled else str(getattr(e, "cause", None) or e)
            await workflow.execute_activity(
                "fail_backtest",
                BacktestFailure(backtest_id=req.backtest_id, error=reason, cancelled=cancelled),
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
            if cancelled:
                raise asyncio.CancelledError() from e
            raise ApplicationError(f"backtest failed: {reason}", non_retryable=True) from e
