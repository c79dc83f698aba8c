"""OrderWorkflow: owns one order from placement to a terminal state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import CancelInput, ClearExitsResult, OrderOutcome, OrderPlan
    from workflows import options
    from workflows.steps import run_step

TERMINAL = {"filled", "cancelled", "rejected", "expired"}


@workflow.defn
class OrderWorkflow:
    """Places an order idempotently, follows it with timers, cancels it when its time in force ends.

    An order that closes or shrinks a position (``clear_exits``) first cancels the position's
    protective exits; if one of them had filled, the order is not placed, or, if it was to turn
    the position, only the entry beyond the close is.

    The workflow id is ``order-{client_order_id}``, and the placing activity looks the
    client order id up at the venue before it places anything, so neither a retried
    activity nor a re-run workflow can create a second order.
    """

    def __init__(self) -> None:
        self._outcome: OrderOutcome | None = None

    @workflow.run
    async def run(self, plan: OrderPlan) -> OrderOutcome:
        """Place, follow and (if needed) cancel the order; return where it ended."""
        if plan.clear_exits:
            cleared = await run_step(
                "clear_exits",
                plan,
                result_type=ClearExitsResult,
                mode=plan.step_mode,
                timeout=options.ORDER_TIMEOUT,
                retry=options.ORDER_RETRY,
            )
            if cleared.outcome is not None:  # an exit closed the position first: nothing to place
                self._outcome = cleared.outcome
                return cleared.outcome
            if cleared.qty is not None:  # ... or all but a reversal's entry
                plan = plan.model_copy(update={"qty": cleared.qty, "closes": Decimal(0)})
        outcome = await run_step(
            "place_order",
            plan,
            result_type=OrderOutcome,
            mode=plan.step_mode,
            timeout=options.ORDER_TIMEOUT,
            retry=options.ORDER_RETRY,
        )
        self._outcome = outcome
        deadline = workflow.now() + timedelta(seconds=plan.time_in_force_s)
        poll = options.ORDER_POLL_INTERVAL
        while outcome.status not in TERMINAL:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                outcome = await self._cancel(plan, "time in force")
                break
            await workflow.sleep(min(poll, remaining))
            poll = min(poll * 2, options.ORDER_POLL_MAX_INTERVAL)
            outcome = await self._step("sync_order", CancelInput(plan=plan))
            self._outcome = outcome
        self._outcome = outcome
        return outcome

    async def _cancel(self, plan: OrderPlan, reason: str) -> OrderOutcome:
        """Cancel, then read the order again until the venue reports it terminal."""
        outcome = await self._step("cancel_order", CancelInput(plan=plan, reason=reason))
        for _ in range(options.CANCEL_CONFIRM_POLLS):
            if outcome.status in TERMINAL:
                break
            await workflow.sleep(options.ORDER_POLL_INTERVAL)
            outcome = await self._step("sync_order", CancelInput(plan=plan))
        self._outcome = outcome
        return outcome

    async def _step(self, name: str, arg: CancelInput) -> OrderOutcome:
        return await run_step(
            name,
            arg,
            result_type=OrderOutcome,
            mode=arg.plan.step_mode,
            timeout=options.ORDER_TIMEOUT,
            retry=options.ORDER_RETRY,
        )

    @workflow.query
    def status(self) -> OrderOutcome | None:
        """The order's latest known state."""
        return self._outcome


async def follow_order(plan: OrderPlan) -> OrderOutcome:
    """Run the plan's OrderWorkflow as a child (from a cycle or a halt's flattening) and return
    its outcome.

    The order outlives its parent (ABANDON): it is followed to the end, never cut off. If its
    retries ran out, the venue may or may not hold the order: the outcome is "unknown";
    reconcile compares the books with the venue, and risk skips a symbol with an unfinished order.
    """
    try:
        return await workflow.execute_child_workflow(
            OrderWorkflow.run,
            plan,
            id=options.order_workflow_id(plan.client_order_id),
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
    except ChildWorkflowError as e:
        workflow.logger.warning("order workflow failed", extra={"client_order_id": plan.client_order_id})
        return OrderOutcome(
            client_order_id=plan.client_order_id,
            symbol=plan.symbol,
            status="unknown",
            reason=str(e.cause or e),
        )
