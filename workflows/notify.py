"""NotifierWorkflow: deliver the chosen events and fills to the notification channels, round
after round, for as long as the worker's settings name any channel."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.notify_contracts import NotifyResult, NotifyRun
    from workflows import options
    from workflows.steps import run_step

NOTIFIER_ID = "notifier"
ROUNDS_PER_RUN = 500  # then it continues as new, so its history stays short


@workflow.defn
class NotifierWorkflow:
    """Runs ``deliver_notifications`` every ``interval_s`` seconds (a failed round is retried at
    the next one: delivery keeps its own place in the store)."""

    @workflow.run
    async def run(self, interval_s: float) -> None:
        """Deliver, sleep, and continue as new every ``ROUNDS_PER_RUN`` rounds."""
        for n in range(ROUNDS_PER_RUN):
            try:
                await run_step(
                    "deliver_notifications",
                    NotifyRun(round=n),
                    result_type=NotifyResult,
                    mode="activity",
                    timeout=options.NOTIFY_DELIVERY_TIMEOUT,
                    retry=options.NOTIFY_DELIVERY_RETRY,
                )
            except ActivityError as e:
                workflow.logger.warning("notification round failed", extra={"error": str(e.cause or e)})
            await workflow.sleep(timedelta(seconds=interval_s))
        workflow.continue_as_new(interval_s)
