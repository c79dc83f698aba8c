"""CycleWorkflow: one scan → analyse → risk approve → execute → reconcile pass."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        AnalyseInput,
        AnalyseResult,
        CycleInput,
        CycleResult,
        OrderOutcome,
        OrderPlan,
        ReconcileInput,
        ReconcileResult,
        RiskInput,
        RiskResult,
        ScanResult,
    )
    from workflows import options
    from workflows.order import OrderWorkflow
    from workflows.steps import run_step


@workflow.defn
class CycleWorkflow:
    """One trading cycle of one strategy; its history is the audit trail of that cycle."""

    @workflow.run
    async def run(self, inp: CycleInput) -> CycleResult:
        """Run the five steps in order and return what happened."""
        cfg, mode = inp.config, inp.config.step_mode
        started = workflow.now()
        scan = await run_step(
            "scan",
            inp,
            result_type=ScanResult,
            mode=mode,
            timeout=options.MARKET_DATA_TIMEOUT,
            retry=options.MARKET_DATA_RETRY,
        )
        analysis = await run_step(
            "analyse",
            AnalyseInput(config=cfg, cycle=inp.cycle, snapshots=scan.snapshots),
            result_type=AnalyseResult,
            mode=mode,
            timeout=options.ANALYSE_TIMEOUT,
            retry=options.ANALYSE_RETRY,
        )
        risk = await run_step(
            "risk_approve",
            RiskInput(config=cfg, cycle=inp.cycle, decisions=analysis.decisions, snapshots=scan.snapshots),
            result_type=RiskResult,
            mode=mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
        outcomes = list(await asyncio.gather(*(self._execute(plan) for plan in risk.approved)))
        pnl = await run_step(
            "reconcile",
            ReconcileInput(config=cfg, cycle=inp.cycle, outcomes=outcomes, snapshots=scan.snapshots),
            result_type=ReconcileResult,
            mode=mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
        return CycleResult(
            cycle=inp.cycle,
            started_at=started,
            finished_at=workflow.now(),
            decisions=analysis.decisions,
            orders=outcomes,
            rejections=risk.rejected,
            pnl=pnl,
        )

    async def _execute(self, plan: OrderPlan) -> OrderOutcome:
        try:
            return await workflow.execute_child_workflow(
                OrderWorkflow.run,
                plan,
                id=options.order_workflow_id(plan.client_order_id),
                task_queue=workflow.info().task_queue,
                # An order outlives a cycle that times out: it is followed to the end, never cut off.
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except ChildWorkflowError as e:
            # Its retries ran out: the venue may or may not hold the order. Reconcile compares
            # the books with the venue, and risk skips a symbol with an unfinished order.
            workflow.logger.warning("order workflow failed", extra={"client_order_id": plan.client_order_id})
            return OrderOutcome(
                client_order_id=plan.client_order_id,
                symbol=plan.symbol,
                status="unknown",
                reason=str(e.cause or e),
            )
