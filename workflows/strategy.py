"""StrategyWorkflow: one per strategy, runs cycles on durable timers until stopped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        CycleInput,
        CycleResult,
        HaltRequest,
        StatusChange,
        StatusChanged,
        StrategyState,
        StrategyStatus,
    )
    from workflows import options
    from workflows.cycle import CycleWorkflow

LATENCIES_KEPT = 50


@workflow.defn
class StrategyWorkflow:
    """Long-running owner of a strategy: cycles, halt/resume, parameter updates, status.

    Halting closes the strategy's order gate in the store (an activity, so it is
    recorded) before the halt returns; order placement checks that gate inside the
    same database transaction that records the order, so no order of this strategy
    can be placed after a halt has returned. Cycles stop at the next boundary.
    """

    @workflow.init
    def __init__(self, state: StrategyState) -> None:
        # Set before any handler runs: a signal can be delivered ahead of the run method.
        self.state = state
        self._wake = False
        self._status_lock = asyncio.Lock()

    @workflow.run
    async def run(self, state: StrategyState) -> StrategyState:
        """Run cycles until stopped; continue as new before the history grows large."""
        cycles_this_run = 0
        while True:
            await workflow.wait_condition(lambda: self.state.status != "halted")
            if self.state.status == "stopped":
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.state
            await self._run_cycle()
            cycles_this_run += 1
            if cycles_this_run >= self.state.cycles_per_run or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self.state.runs += 1
                workflow.continue_as_new(self.state)
            self._wake = False
            if self.state.config.interval_s > 0:  # zero: cycles back to back (benchmarks)
                try:
                    await workflow.wait_condition(
                        lambda: self._wake or self.state.status != "running",
                        timeout=timedelta(seconds=self.state.config.interval_s),
                    )
                except TimeoutError:
                    pass

    async def _run_cycle(self) -> None:
        st = self.state
        n = st.next_cycle
        st.next_cycle += 1
        try:
            result = await workflow.execute_child_workflow(
                CycleWorkflow.run,
                CycleInput(config=st.config, cycle=n),
                id=options.cycle_workflow_id(st.config.strategy_id, n),
                task_queue=workflow.info().task_queue,
            )
        except ChildWorkflowError as e:
            st.cycles_failed += 1
            now = workflow.now()
            st.last_cycle = CycleResult(cycle=n, started_at=now, finished_at=now, error=str(e.cause or e))
            workflow.logger.warning("cycle failed", extra={"cycle": n, "error": str(e.cause or e)})
            return
        st.cycles_done += 1
        st.last_cycle = result
        st.recent_latencies_ms = [*st.recent_latencies_ms, result.latency_ms][-LATENCIES_KEPT:]

    async def _set_status(self, status: str, reason: str, actor: str) -> StatusChanged:
        # One change at a time, applied in the order received; the workflow's own status
        # follows the store's only once the gate change has committed.
        async with self._status_lock:
            st = self.state
            changed = await workflow.execute_activity(
                "set_strategy_status",
                StatusChange(
                    strategy_id=st.config.strategy_id,
                    status=status,  # type: ignore[arg-type]
                    reason=reason,
                    actor=actor,
                    request_id=str(workflow.uuid4()),
                ),
                result_type=StatusChanged,
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
            st.status = status  # type: ignore[assignment]
            st.status_reason = reason
            if status == "halted":
                st.halted_at = changed.at
            self._wake = True
            return changed

    async def _signalled(self, status: str, req: HaltRequest) -> None:
        try:
            await self._set_status(status, req.reason, req.actor)
        except ActivityError as e:  # a signal has no caller to tell: log it, keep running
            detail = str(e.cause or e)
            workflow.logger.error("status change failed", extra={"status": status, "error": detail})

    @workflow.update
    async def halt(self, req: HaltRequest) -> StatusChanged:
        """Halt now; returns once the order gate is closed in the store."""
        return await self._set_status("halted", req.reason, req.actor)

    @workflow.update
    async def resume(self, req: HaltRequest) -> StatusChanged:
        """Resume cycles; returns once the order gate is open again."""
        return await self._set_status("running", req.reason, req.actor)

    @workflow.update
    async def stop(self, req: HaltRequest) -> StatusChanged:
        """Stop for good: the gate closes and the workflow completes."""
        return await self._set_status("stopped", req.reason, req.actor)

    @workflow.signal(name="halt")
    async def halt_signal(self, req: HaltRequest) -> None:
        """Fire-and-forget halt: the same effect as the ``halt`` update, without an answer."""
        await self._signalled("halted", req)

    @workflow.signal(name="resume")
    async def resume_signal(self, req: HaltRequest) -> None:
        """Fire-and-forget resume: the same effect as the ``resume`` update."""
        await self._signalled("running", req)

    @workflow.signal
    def update_params(self, params: dict[str, Any]) -> None:
        """Replace the strategy parameters from the next cycle on (validated by the API)."""
        self.state.config = self.state.config.model_copy(update={"params": params})

    @workflow.query
    def status(self) -> StrategyStatus:
        """Live status of the strategy."""
        st = self.state
        return StrategyStatus(
            strategy_id=st.config.strategy_id,
            status=st.status,
            status_reason=st.status_reason,
            halted_at=st.halted_at,
            next_cycle=st.next_cycle,
            cycles_done=st.cycles_done,
            cycles_failed=st.cycles_failed,
            params=st.config.params,
            last_cycle=st.last_cycle,
            recent_latencies_ms=st.recent_latencies_ms,
            runs=st.runs,
        )
