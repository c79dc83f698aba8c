"""AnalyzeWorkflow: one analysis outside any strategy, so its decision is in a history too."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import AnalyzeRequest, Decision
    from workflows import options


@workflow.defn
class AnalyzeWorkflow:
    """Run the analysis graph once for one symbol and return the recorded decision."""

    @workflow.run
    async def run(self, req: AnalyzeRequest) -> Decision:
        """The decision, as recorded (a retry or a replay never asks the model again)."""
        return await workflow.execute_activity(
            "analyze_once",
            req,
            result_type=Decision,
            start_to_close_timeout=options.ANALYSE_TIMEOUT,
            retry_policy=options.ANALYSE_RETRY,
        )
