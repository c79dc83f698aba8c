"""StrategyWorkflow: one per strategy, runs cycles on durable timers until stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.contracts import (
        ControlActions,
        ControlActionsInput,
        CycleFailure,
        CycleInput,
        CycleResult,
        HaltRequest,
        LlmSpend,
        ProtectResult,
        SignalInput,
        StatusChange,
        StatusChanged,
        StrategyAck,
        StrategyControl,
        StrategyRegistration,
        StrategyReport,
        StrategyState,
        StrategyStatus,
        WatchExitsInput,
    )
    from workflows import options
    from workflows.cycle import CycleWorkflow
    from workflows.order import follow_order
    from workflows.steps import STEP_FAILED, Background

LATENCIES_KEPT = 50
BUDGET_NOTE = "LLM budget"
ACKS_KEPT = 10
# Histories from before failed cycles were counted (a metric) have no such step.
COUNT_FAILED_CYCLES = "count-failed-cycles"


@workflow.defn
class StrategyWorkflow:
    """Long-running owner of a strategy: cycles, halt/resume, parameter updates, status.

    Halting closes the strategy's order gate in the store (an activity, so it is
    recorded) before the halt returns; order placement checks that gate inside the
    same database transaction that records the order, so no order of this strategy
    can be placed after a halt has returned. Cycles stop at the next boundary.

    It registers with NeuroHub on every run, reports its figures after every cycle,
    follows NeuroHub's ``control`` signals (kill switch, breakers) and acknowledges each
    once it has cancelled its open orders and flattened, as asked.
    """

    @workflow.init
    def __init__(self, state: StrategyState) -> None:
        # Set before any handler runs: a signal can be delivered ahead of the run method.
        self.state = state
        self._status_lock = asyncio.Lock()
        self._background = Background()  # messages to NeuroHub, actions after a halt

    @workflow.run
    async def run(self, state: StrategyState) -> StrategyState:
        """Run cycles until stopped; continue as new before the history grows large."""
        self._background.spawn(self._tell_hub("register", self._registration()))
        cycles_this_run = 0
        while True:
            await workflow.wait_condition(self._may_cycle)
            if self.state.status == "stopped":
                await self._tell_hub("deregister", self.state.config.strategy_id)
                await self._background.drain()
                return self.state
            await self._run_cycle()
            cycles_this_run += 1
            if cycles_this_run >= self.state.cycles_per_run or workflow.info().is_continue_as_new_suggested():
                await self._background.drain()
                self.state.runs += 1
                workflow.continue_as_new(self.state)
            if self.state.config.interval_s > 0:  # zero: cycles back to back (benchmarks)
                await self._between_cycles()

    async def _between_cycles(self) -> None:
        """Wait for the next cycle, due one interval on whatever happens meanwhile: a halt and
        resume inside the interval neither skips nor advances it. Stop ends the wait.

        If the last cycle left exits that ASTS holds itself (the venue could not), they are
        watched meanwhile by ``watch_exits``, which fires them within about a second of their
        level trading; a halt or a stop cancels the watch (an exit being sent is sent first).
        """
        st = self.state
        interval = timedelta(seconds=st.config.interval_s)
        due = workflow.now() + interval
        held = st.last_cycle.held if st.last_cycle is not None else 0  # (none in older histories)
        if held > 0 and self._watching():
            await self._watch_held_exits(due)
            interval = max(due - workflow.now(), timedelta(0))
        if interval <= timedelta(0):
            return
        try:
            await workflow.wait_condition(lambda: st.status == "stopped", timeout=interval)
        except TimeoutError:
            pass

    async def _watch_held_exits(self, until: datetime) -> None:
        st = self.state
        watch = workflow.start_activity(
            "watch_exits",
            WatchExitsInput(config=st.config, until=until, every_s=options.HELD_EXIT_POLL_S),
            result_type=ProtectResult,
            start_to_close_timeout=(until - workflow.now()) + options.WATCH_EXITS_MARGIN,
            heartbeat_timeout=options.WATCH_EXITS_HEARTBEAT,
            retry_policy=options.ORDER_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        try:
            await workflow.wait_condition(
                lambda: watch.done() or not self._watching(),
                timeout=(until - workflow.now()) + options.WATCH_EXITS_HEARTBEAT,
            )
        except TimeoutError:
            pass  # it should have ended by itself at ``until``: failing and retrying, it is cancelled
        if not watch.done():
            watch.cancel()
        try:
            result = await watch
        except (asyncio.CancelledError, ActivityError) as e:
            if not isinstance(e, asyncio.CancelledError) and not isinstance(e.cause, CancelledError):
                workflow.logger.warning("watching held exits failed", extra={"error": str(e.cause or e)})
            return
        for problem in result.problems:
            workflow.logger.warning("held exit watch", extra={"problem": problem})

    def _watching(self) -> bool:
        """Held exits are watched while the strategy trades (reduce-only included: exits pass)."""
        return self.state.status == "running" and self.state.hub_state != "halted"

    def _may_cycle(self) -> bool:
        st = self.state
        return st.status == "stopped" or (st.status == "running" and st.hub_state != "halted")

    async def _tell_hub(self, signal: str, arg: BaseModel | str) -> None:
        """Signal NeuroHub (through an activity: no extra workflow task, no server transfer queue).

        If NeuroHub is not there, say so and go on: its gate in the store still holds.
        """
        payload = arg.model_dump(mode="json") if isinstance(arg, BaseModel) else arg
        try:
            delivered = await workflow.execute_local_activity(
                "signal_workflow",
                SignalInput(workflow_id=self.state.config.hub_id, signal=signal, arg=payload),
                result_type=bool,
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
        except STEP_FAILED as e:
            workflow.logger.warning(
                "NeuroHub signal failed", extra={"signal": signal, "error": str(e.cause or e)}
            )
            return
        if not delivered:
            workflow.logger.warning("NeuroHub not running", extra={"signal": signal})

    def _registration(self) -> StrategyRegistration:
        st = self.state
        return StrategyRegistration(
            strategy_id=st.config.strategy_id,
            name=st.config.name,
            workflow_id=workflow.info().workflow_id,
            capital=st.config.capital,
            breakers=st.config.breakers,
            status=st.status,
            reduce_only=st.reduce_only,
        )

    def _report(self, result: CycleResult) -> None:
        pnl = result.pnl
        if pnl is None:
            return
        report = StrategyReport(
            strategy_id=self.state.config.strategy_id,
            cycle=result.cycle,
            at=result.finished_at,
            equity=pnl.equity,
            exposure=pnl.exposure,
            realised=pnl.realised,
            unrealised=pnl.unrealised,
            fees=pnl.fees,
            consecutive_losses=pnl.consecutive_losses,
            orders_total=pnl.orders_total,
            orders_rejected=pnl.orders_rejected,
            venue_calls=pnl.venue_calls,
            venue_errors=pnl.venue_errors,
            llm_tokens=result.llm.tokens if result.llm else 0,
            llm_cost=result.llm.cost if result.llm else Decimal(0),
        )
        self._background.spawn(self._tell_hub("report", report))

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
            if workflow.patched(COUNT_FAILED_CYCLES):
                self._background.spawn(self._count_failure(n, str(e.cause or e)))
            return
        st.cycles_done += 1
        st.last_cycle = result
        st.recent_latencies_ms = [*st.recent_latencies_ms, result.latency_ms][-LATENCIES_KEPT:]
        self._report(result)
        if result.llm is not None:
            await self._follow_budget(result.llm)

    async def _count_failure(self, cycle: int, error: str) -> None:
        """Have an activity count and record the failed cycle (workflow code records no metric: it
        replays)."""
        cfg = self.state.config
        try:
            await workflow.execute_local_activity(
                "count_cycle_failure",
                CycleFailure(strategy_id=cfg.strategy_id, strategy_type=cfg.type, cycle=cycle, error=error),
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
        except STEP_FAILED as e:
            workflow.logger.warning("failed cycle not counted", extra={"error": str(e.cause or e)})

    async def _follow_budget(self, spend: LlmSpend) -> None:
        """Say in the status when the LLM budget is spent; halt if the strategy asked for that."""
        st = self.state
        st.llm = spend
        if st.status != "running":
            return
        if not spend.exhausted:
            if st.status_reason.startswith(BUDGET_NOTE):  # a new day: the model decides again
                st.status_reason = ""
            return
        if spend.action == "halt":
            reason = f"{BUDGET_NOTE} for {spend.day} spent ({spend.tokens} tokens, cost {spend.cost})"
            try:
                await self._change("halted", HaltRequest(reason=reason, actor="budget"), if_running=True)
            except STEP_FAILED as e:
                workflow.logger.error("budget halt failed", extra={"error": str(e.cause or e)})
            return
        st.status_reason = (
            f"{BUDGET_NOTE} for {spend.day} spent: deterministic analysts until the next UTC day"
        )

    async def _set_status(
        self, status: str, req: HaltRequest, *, reduce_only: bool | None = None, if_running: bool = False
    ) -> StatusChanged | None:
        # One change at a time, applied in the order received; the workflow's own status
        # follows the store's only once the gate change has committed.
        async with self._status_lock:
            st = self.state
            if st.status == "stopped" or (if_running and st.status != "running"):
                return None  # a stop went first while this waited: stopped is final
            changed = await workflow.execute_activity(
                "set_strategy_status",
                StatusChange(
                    strategy_id=st.config.strategy_id,
                    status=status,  # type: ignore[arg-type]
                    reason=req.reason,
                    actor=req.actor,
                    request_id=str(workflow.uuid4()),
                    flatten=req.flatten and status == "halted",
                    reduce_only=reduce_only,
                ),
                result_type=StatusChanged,
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
            st.status = status  # type: ignore[assignment]
            st.status_reason = req.reason
            if reduce_only is not None:
                st.reduce_only = reduce_only
            if status == "halted":
                st.halted_at = changed.at
            self._background.spawn(self._tell_hub("register", self._registration()))
            return changed

    async def _change(self, status: str, req: HaltRequest, *, if_running: bool = False) -> StatusChanged:
        """Change the gate, then act on it (cancel, flatten) now or in the background.

        With ``if_running``, a strategy no longer running by the time its turn comes is left
        as it is (the answer then says so, with the current status).
        """
        reduce_only = False if status == "running" else None
        changed = await self._set_status(status, req, reduce_only=reduce_only, if_running=if_running)
        if changed is None:
            return StatusChanged(
                strategy_id=self.state.config.strategy_id, status=self.state.status, at=workflow.now()
            )
        ctl = StrategyControl(
            control_id=changed.halt_id,
            hub_id=self.state.config.hub_id,
            scope="strategy",
            state="active" if status == "running" else "halted",
            reason=req.reason,
            actor=req.actor,
            cancel_open_orders=req.cancel_open_orders,
            flatten=req.flatten,
        )
        if req.wait == "all":
            return changed.model_copy(update={"ack": await self._act(ctl)})
        self._background.spawn(self._act(ctl))
        pending = StrategyAck(strategy_id=changed.strategy_id, control_id=changed.halt_id)
        return changed.model_copy(update={"ack": pending})

    async def _act(self, ctl: StrategyControl) -> StrategyAck:
        """Cancel open orders and flatten positions as asked; the acknowledgement says how it went."""
        st = self.state
        ack = StrategyAck(strategy_id=st.config.strategy_id, control_id=ctl.control_id)
        try:
            actions = ControlActions()
            if ctl.state != "active" and (ctl.cancel_open_orders or ctl.flatten):
                actions = await workflow.execute_local_activity(
                    "control_actions",
                    ControlActionsInput(config=st.config, control=ctl),
                    result_type=ControlActions,
                    start_to_close_timeout=options.ORDER_TIMEOUT,
                    retry_policy=options.ORDER_RETRY,
                )
            outcomes = await asyncio.gather(*(follow_order(plan) for plan in actions.to_flatten))
            ack.state = "acked"
            ack.cancelled = len(actions.cancelled)
            ack.flattened = [f"{o.client_order_id}: {o.status}" for o in outcomes]
            failed = [o for o in outcomes if o.status != "filled"]
            if failed:
                ack.detail = f"{len(failed)} flattening order(s) not filled"
        except STEP_FAILED as e:
            ack.state = "failed"
            ack.detail = str(e.cause or e)
        ack.at = workflow.now()
        st.acks = [*st.acks, ack][-ACKS_KEPT:]
        return ack

    async def _signalled(self, status: str, req: HaltRequest) -> None:
        try:
            await self._change(status, req)
        except STEP_FAILED as e:  # a signal has no caller to tell: log it, keep running
            detail = str(e.cause or e)
            workflow.logger.error("status change failed", extra={"status": status, "error": detail})

    @workflow.update
    async def halt(self, req: HaltRequest) -> StatusChanged:
        """Halt now; returns once the order gate is closed in the store (``wait="all"``: once acted on)."""
        return await self._change("halted", req)

    @workflow.update
    async def resume(self, req: HaltRequest) -> StatusChanged:
        """Resume cycles (and lift reduce-only); returns once the order gate is open again."""
        return await self._change("running", req)

    @workflow.update
    async def stop(self, req: HaltRequest) -> StatusChanged:
        """Stop for good: the gate closes, open orders are cancelled, and the workflow completes."""
        return await self._change("stopped", req)

    def _not_stopped(self, req: HaltRequest) -> None:
        """Refuse a change to a strategy that was stopped (its workflow is ending: stopped is final)."""
        if self.state.status == "stopped":
            raise ApplicationError(f"{self.state.config.strategy_id} was stopped: stopped is final")

    @halt.validator
    def _validate_halt(self, req: HaltRequest) -> None:
        self._not_stopped(req)

    @resume.validator
    def _validate_resume(self, req: HaltRequest) -> None:
        self._not_stopped(req)

    @stop.validator
    def _validate_stop(self, req: HaltRequest) -> None:
        self._not_stopped(req)

    @workflow.signal(name="halt")
    async def halt_signal(self, req: HaltRequest) -> None:
        """Fire-and-forget halt: the same effect as the ``halt`` update, without an answer."""
        await self._signalled("halted", req)

    @workflow.signal(name="resume")
    async def resume_signal(self, req: HaltRequest) -> None:
        """Fire-and-forget resume: the same effect as the ``resume`` update."""
        await self._signalled("running", req)

    @workflow.update
    async def control(self, ctl: StrategyControl) -> StrategyAck:
        """NeuroHub (the kill switch, or a breaker) changed a gate: follow it, act, and answer.

        The answer is the acknowledgement. Told twice (a retried notification), it answers
        the same again and acts once.
        """
        st = self.state
        done = next((a for a in st.acks if a.control_id == ctl.control_id), None)
        if done is not None:
            return done
        if ctl.scope == "hub":
            st.hub_state = ctl.state
        elif ctl.state == "halted":  # the hub has closed this strategy's gate in the store already
            st.status, st.status_reason, st.halted_at = "halted", ctl.reason, workflow.now()
        elif ctl.state == "reducing":
            st.reduce_only, st.status_reason = True, ctl.reason
        return await self._act(ctl)

    @workflow.signal
    def update_params(self, params: dict[str, Any]) -> None:
        """Replace the strategy parameters from the next cycle on (validated by the API)."""
        self.state.config = self.state.config.model_copy(update={"params": params})

    @workflow.signal
    def upgrade_code(self, version: str) -> None:
        """Run the strategy type's code at ``version`` from the next cycle on (recorded by the API)."""
        self.state.config = self.state.config.model_copy(update={"code_version": version})

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
            hub_state=st.hub_state,
            reduce_only=st.reduce_only,
            acks=st.acks,
            llm=st.llm,
        )
