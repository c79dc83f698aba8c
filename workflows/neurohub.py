"""NeuroHubWorkflow: the supervisor. Registry of strategies, global gate, circuit breakers, kill switch.

One per namespace (id ``neurohub``). The kill switch is an Update: its handler closes
the global gate in the store (one transaction, whatever the number of strategies; every
placement reads that gate in the transaction that places the order) and answers once
that has committed, or, with ``wait="all"``, once every strategy has acknowledged
(cancelled its open orders, flattened if asked) or the timeout has named the laggards.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        BreakerStatus,
        CancelAllInput,
        CancelAllResult,
        ControlRecord,
        ControlResult,
        HubCommand,
        HubGateChange,
        HubGateChanged,
        HubInit,
        HubSnapshot,
        HubStatus,
        NotifyInput,
        NotifyResult,
        StatusChange,
        StatusChanged,
        StrategyAck,
        StrategyControl,
        StrategyEntry,
        StrategyRef,
        StrategyRegistration,
        StrategyReport,
    )
    from trading.breakers import BreakerLimits, BreakerReading, BreakerStats, aggregate, evaluate, tripped
    from workflows import options
    from workflows.steps import STEP_FAILED, Background

# Commands whose acknowledgements are kept one by one (older ones keep counts per state): with a
# thousand strategies the state carried across continue-as-new stays well under Temporal's limits.
ACKS_KEPT_FOR = 2

# Strictness of a gate state, to know whether a breaker's action would change anything.
_STRICTNESS = {"active": 0, "reducing": 1, "halted": 2}


def _status_of(reading: BreakerReading) -> BreakerStatus:
    return BreakerStatus(
        name=reading.name,
        value=reading.value,
        limit=reading.limit,
        headroom=reading.headroom,
        tripped=reading.tripped,
        armed=reading.armed,
        detail=reading.describe(),
    )


def _breach(
    limits: BreakerLimits, readings: list[BreakerReading], current: str
) -> tuple[str, BreakerReading] | None:
    """The state a tripped breaker calls for, and its reading, if that is stricter than ``current``."""
    hit = tripped(readings)
    action = "halted" if limits.action == "halt" else "reducing"
    if hit and _STRICTNESS[action] > _STRICTNESS[current]:
        return action, hit[0]
    return None


def parse_reset(text: str) -> time:
    """``"HH:MM"`` (UTC) as a time of day; the hub config is validated with this before start."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@workflow.defn
class NeuroHubWorkflow:
    """Supervisor of every strategy of a namespace (see the module docstring)."""

    @workflow.init
    def __init__(self, snap: HubSnapshot) -> None:
        self.s = snap
        self._commands = asyncio.Lock()
        self._background = Background()  # notifications and cancellations after a command
        self._limits: dict[str, BreakerLimits] = {}  # parsed once per registration, not per report
        self._in_flight: set[str] = set()  # commands still telling strategies or awaiting their answers

    @workflow.run
    async def run(self, snap: HubSnapshot) -> HubSnapshot:
        """Load the gate and registry from the store once, then keep time for the daily reset."""
        if not self.s.loaded:
            init = await workflow.execute_local_activity(
                "hub_load",
                self.s.hub_id,
                result_type=HubInit,
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
            self._apply_init(init)
        if self.s.day_started_at is None:
            self.s.day_started_at = self._last_reset(workflow.now())
        while True:
            wait = self._next_reset() - workflow.now()
            try:
                await workflow.wait_condition(self._history_full, timeout=max(wait, timedelta(seconds=1)))
            except TimeoutError:
                self._new_day()
                continue
            # Drain: every handler done and every notification sent, so nothing is lost.
            await self._background.drain()
            self.s.runs += 1
            workflow.continue_as_new(self.s)

    # --- state ------------------------------------------------------------------------

    def _apply_init(self, init: HubInit) -> None:
        s = self.s
        s.state, s.reason, s.actor, s.halt_id, s.since = (
            init.state,
            init.reason,
            init.actor,
            init.halt_id,
            init.changed_at,
        )
        for reg in init.strategies:
            if reg.strategy_id not in s.strategies:
                self._register(reg)
        s.loaded = True

    def _history_full(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= self.s.config.max_history_events
            or info.is_continue_as_new_suggested()
        )

    def _last_reset(self, now: datetime) -> datetime:
        at = datetime.combine(now.date(), parse_reset(self.s.config.daily_reset_utc), tzinfo=now.tzinfo)
        return at if at <= now else at - timedelta(days=1)

    def _next_reset(self) -> datetime:
        return self._last_reset(workflow.now()) + timedelta(days=1)

    def _new_day(self) -> None:
        """Daily figures start again: loss from today's opening equity, today's order and call counts."""
        self.s.day_started_at = self._last_reset(workflow.now())
        for e in self.s.strategies.values():
            r = e.last_report
            e.day_start_equity = r.equity if r else None
            e.day_start_orders = r.orders_total if r else 0
            e.day_start_rejected = r.orders_rejected if r else 0
            e.venue_calls_today = e.venue_errors_today = 0
        workflow.logger.info("daily breaker figures reset", extra={"hub": self.s.hub_id})

    def _register(self, reg: StrategyRegistration) -> StrategyEntry:
        e = self.s.strategies.get(reg.strategy_id)
        if e is None:
            e = StrategyEntry(strategy_id=reg.strategy_id, workflow_id=reg.workflow_id)
            self.s.strategies[reg.strategy_id] = e
        e.name, e.workflow_id, e.capital, e.breakers = reg.name, reg.workflow_id, reg.capital, reg.breakers
        self._limits.pop(reg.strategy_id, None)
        e.status, e.reduce_only = reg.status, reg.reduce_only
        e.registered_at = e.registered_at or workflow.now()
        if e.peak_equity == 0:
            e.peak_equity = reg.capital
        return e

    def _stats(self, e: StrategyEntry) -> BreakerStats:
        r = e.last_report
        equity = r.equity if r else e.capital
        start = e.day_start_equity if e.day_start_equity is not None else equity
        return BreakerStats(
            daily_pnl=equity - start,
            equity=equity,
            peak_equity=max(e.peak_equity, equity),
            consecutive_losses=r.consecutive_losses if r else 0,
            orders=max(0, (r.orders_total if r else 0) - e.day_start_orders),
            rejections=max(0, (r.orders_rejected if r else 0) - e.day_start_rejected),
            calls=e.venue_calls_today,
            errors=min(e.venue_errors_today, e.venue_calls_today),
            exposure=r.exposure if r else Decimal(0),
        )

    def _global_readings(self) -> list[BreakerReading]:
        limits = self._limits_of(None)
        if not limits.enabled or not self.s.strategies:
            return []
        return evaluate(limits, aggregate(self._stats(e) for e in self.s.strategies.values()))

    def _limits_of(self, e: StrategyEntry | None) -> BreakerLimits:
        """A strategy's breakers (None: the global ones), parsed once."""
        key = e.strategy_id if e is not None else ""
        if key not in self._limits:
            self._limits[key] = BreakerLimits.from_mapping(
                e.breakers if e is not None else self.s.config.breakers
            )
        return self._limits[key]

    # --- signals from strategies --------------------------------------------------------

    @workflow.signal
    def register(self, reg: StrategyRegistration) -> None:
        """A strategy (re)announces itself: on every start and continue-as-new, and on a status change."""
        self.s.signals_received += 1
        self._register(reg)

    @workflow.signal
    def deregister(self, strategy_id: str) -> None:
        """A strategy stopped for good."""
        self.s.signals_received += 1
        self.s.strategies.pop(strategy_id, None)

    @workflow.signal
    async def report(self, rep: StrategyReport) -> None:
        """A strategy's figures after a cycle; breakers are checked on every report."""
        self.s.signals_received += 1
        self.s.reports_received += 1
        e = self.s.strategies.get(rep.strategy_id)
        if e is None:  # not registered (stopped meanwhile): nothing to guard
            return
        if e.last_report is not None and rep.cycle <= e.last_report.cycle:
            return  # a repeat (a retried delivery), or an old report overtaken by a newer one
        e.last_report = rep
        e.peak_equity = max(e.peak_equity, rep.equity)
        if e.day_start_equity is None:
            e.day_start_equity = rep.equity
        e.venue_calls_today += rep.venue_calls
        e.venue_errors_today += rep.venue_errors
        try:
            await self._check_breakers(e)
        except STEP_FAILED as err:  # a signal has no caller: log it; the next report checks again
            workflow.logger.error(
                "breaker action failed", extra={"strategy": e.strategy_id, "error": str(err)}
            )

    # --- breakers -----------------------------------------------------------------------

    async def _check_breakers(self, e: StrategyEntry) -> None:
        limits = self._limits_of(e)
        if limits.enabled:
            current = "halted" if e.status != "running" else ("reducing" if e.reduce_only else "active")
            breach = _breach(limits, evaluate(limits, self._stats(e)), current)
            if breach is not None:
                await self._control_strategy(e, *breach)
        g_limits = self._limits_of(None)
        if g_limits.enabled:
            breach = _breach(g_limits, self._global_readings(), self.s.state)
            if breach is not None:
                action, reading = breach
                cmd = HubCommand(state=action, reason=reading.describe(), actor=f"breaker:{reading.name}")  # type: ignore[arg-type]
                await self._command(cmd)

    async def _control_strategy(self, e: StrategyEntry, state: str, reading: BreakerReading) -> None:
        """A strategy's breaker tripped: close its gate (or make it reduce-only), then tell it."""
        control_id = str(workflow.uuid4())
        reason, actor = reading.describe(), f"breaker:{reading.name}"
        halted = state == "halted"
        e.status, e.reduce_only = ("halted", e.reduce_only) if halted else ("running", True)
        changed = await workflow.execute_local_activity(
            "set_strategy_status",
            StatusChange(
                strategy_id=e.strategy_id,
                status="halted" if halted else "running",
                reason=reason,
                actor=actor,
                request_id=control_id,
                reduce_only=None if halted else True,
            ),
            result_type=StatusChanged,
            start_to_close_timeout=options.STORE_TIMEOUT,
            retry_policy=options.STORE_RETRY,
        )
        workflow.logger.warning("breaker tripped", extra={"strategy": e.strategy_id, "reason": reason})
        rec = ControlRecord(
            control_id=control_id,
            state=state,  # type: ignore[arg-type]
            scope="strategy",
            reason=reason,
            actor=actor,
            requested_at=changed.at,
            gate_changed_at=changed.at,
            acks={e.strategy_id: StrategyAck(strategy_id=e.strategy_id, control_id=control_id)},
        )
        self._remember(rec)
        ctl = StrategyControl(
            control_id=control_id,
            hub_id=self.s.hub_id,
            scope="strategy",
            state=state,  # type: ignore[arg-type]
            reason=reason,
            actor=actor,
        )
        ref = StrategyRef(strategy_id=e.strategy_id, workflow_id=e.workflow_id)
        await self._notify(ctl, [ref], rec, options.BREAKER_ACK_TIMEOUT.total_seconds())

    # --- commands (the kill switch) ---------------------------------------------------

    @workflow.update
    async def halt(self, cmd: HubCommand) -> ControlResult:
        """Halt (or make reduce-only) every strategy; answers once the global gate is closed."""
        return await self._command(cmd)

    @halt.validator
    def _validate_halt(self, cmd: HubCommand) -> None:
        if cmd.state == "active":
            raise ValueError("a halt sets the state to 'halted' or 'reducing'; use resume to reopen")
        if not cmd.reason.strip():
            raise ValueError("a halt needs a reason")

    @workflow.update
    async def resume(self, cmd: HubCommand) -> ControlResult:
        """Reopen the global gate; strategies resume their cycles."""
        return await self._command(cmd.model_copy(update={"state": "active", "flatten": False}))

    async def _command(self, cmd: HubCommand) -> ControlResult:
        await workflow.wait_condition(lambda: self.s.loaded)
        requested = workflow.now()
        async with self._commands:
            control_id = cmd.control_id or str(workflow.uuid4())
            self._in_flight.add(control_id)
            changed = await workflow.execute_local_activity(
                "set_hub_gate",
                HubGateChange(
                    hub_id=self.s.hub_id,
                    control_id=control_id,
                    state=cmd.state,
                    reason=cmd.reason,
                    actor=cmd.actor,
                    flatten=cmd.flatten,
                ),
                result_type=HubGateChanged,
                start_to_close_timeout=options.STORE_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
            gate_at = min(changed.at, cmd.gate_changed_at or changed.at)  # the API may have closed it first
            s = self.s
            s.state, s.reason, s.actor, s.since = cmd.state, cmd.reason, cmd.actor, changed.at
            s.halt_id = control_id if cmd.state == "halted" else ""
            targets = {e.strategy_id: e.workflow_id for e in s.strategies.values() if e.status != "stopped"}
            targets |= {ref.strategy_id: ref.workflow_id for ref in changed.strategies}
            rec = ControlRecord(
                control_id=control_id,
                state=cmd.state,
                reason=cmd.reason,
                actor=cmd.actor,
                cancel_open_orders=cmd.cancel_open_orders,
                flatten=cmd.flatten,
                requested_at=requested,
                gate_changed_at=gate_at,
                acks={sid: StrategyAck(strategy_id=sid, control_id=control_id) for sid in sorted(targets)},
            )
            self._remember(rec)
        ctl = StrategyControl(
            control_id=control_id,
            hub_id=s.hub_id,
            scope="hub",
            state=cmd.state,
            reason=cmd.reason,
            actor=cmd.actor,
            # NeuroHub cancels every open order itself, in one activity: no strategy has to.
            cancel_open_orders=False,
            flatten=cmd.flatten,
        )
        refs = [StrategyRef(strategy_id=k, workflow_id=v) for k, v in targets.items()]
        cancelled = CancelAllResult()
        work = self._background.spawn(self._carry_out(cmd, ctl, refs, rec, cancelled))
        work.add_done_callback(lambda _: self._in_flight.discard(control_id))
        if cmd.wait == "all":
            await work
            try:
                await workflow.wait_condition(
                    lambda: all(a.state != "pending" for a in rec.acks.values()),
                    timeout=timedelta(seconds=cmd.ack_timeout_s),
                )
            except TimeoutError:
                for a in rec.acks.values():
                    if a.state == "pending":
                        a.state = "timeout"
        return ControlResult(
            control_id=control_id,
            hub_id=s.hub_id,
            state=cmd.state,
            reason=cmd.reason,
            actor=cmd.actor,
            requested_at=requested,
            gate_changed_at=gate_at,
            answered_at=workflow.now(),
            strategies=[a.model_copy() for a in rec.acks.values()],
            cancelled_orders=cancelled.cancelled,
            cancel_failures=cancelled.failed,
        )

    async def _carry_out(
        self,
        cmd: HubCommand,
        ctl: StrategyControl,
        refs: list[StrategyRef],
        rec: ControlRecord,
        out: CancelAllResult,
    ) -> None:
        """After the gate: tell every strategy and, for a halt, cancel every open order (at once)."""
        jobs = [self._notify(ctl, refs, rec, cmd.ack_timeout_s)]
        if cmd.state != "active" and cmd.cancel_open_orders and refs:
            jobs.append(self._cancel_all(ctl, [r.strategy_id for r in refs], out))
        await asyncio.gather(*jobs)

    async def _cancel_all(self, ctl: StrategyControl, strategy_ids: list[str], out: CancelAllResult) -> None:
        try:
            result = await workflow.execute_local_activity(
                "cancel_open_orders",
                CancelAllInput(
                    control_id=ctl.control_id,
                    hub_id=self.s.hub_id,
                    strategy_ids=sorted(strategy_ids),
                    reason=ctl.reason,
                ),
                result_type=CancelAllResult,
                start_to_close_timeout=options.NOTIFY_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
        except STEP_FAILED as err:
            out.failed = {"*": f"cancelling open orders failed: {err}"}
            return
        out.cancelled, out.failed = result.cancelled, result.failed

    def _remember(self, rec: ControlRecord) -> None:
        """Keep the latest commands; only the last few keep every acknowledgement (state stays small)."""
        kept = [*self.s.controls, rec][-self.s.config.controls_kept :]
        for old in kept[:-ACKS_KEPT_FOR]:
            if old.control_id in self._in_flight:
                continue
            old.ack_counts = old.ack_counts or dict(Counter(a.state for a in old.acks.values()))
            old.acks = {}
        self.s.controls = kept

    async def _notify(
        self, ctl: StrategyControl, targets: list[StrategyRef], rec: ControlRecord, timeout_s: float
    ) -> None:
        """Tell every target at once (one activity); their answers are their acknowledgements."""
        if not targets:
            return
        try:
            result = await workflow.execute_local_activity(
                "notify_strategies",
                NotifyInput(
                    control=ctl, targets=sorted(targets, key=lambda t: t.strategy_id), timeout_s=timeout_s
                ),
                result_type=NotifyResult,
                start_to_close_timeout=timedelta(seconds=timeout_s) + options.NOTIFY_TIMEOUT,
                retry_policy=options.STORE_RETRY,
            )
        except STEP_FAILED as err:
            now = workflow.now()
            for t in targets:
                rec.acks[t.strategy_id] = StrategyAck(
                    strategy_id=t.strategy_id,
                    control_id=ctl.control_id,
                    state="failed",
                    at=now,
                    detail=str(err),
                )
            return
        rec.acks.update(result.acks)

    # --- status -------------------------------------------------------------------------

    @workflow.query
    def counters(self) -> dict[str, int]:
        """Cheap liveness figures: signals and reports received, strategies known, runs."""
        s = self.s
        return {
            "signals_received": s.signals_received,
            "reports_received": s.reports_received,
            "strategies": len(s.strategies),
            "runs": s.runs,
        }

    @workflow.query
    def status(self) -> HubStatus:
        """The hub's state, its strategies with their figures, and every breaker's headroom."""
        s = self.s
        entries, stats = [], []
        for e in s.strategies.values():
            st, limits = self._stats(e), self._limits_of(e)
            readings = evaluate(limits, st) if limits.enabled else []
            entries.append(e.model_copy(update={"readings": [_status_of(r) for r in readings]}))
            stats.append(st)
        reports = [e.last_report for e in s.strategies.values() if e.last_report is not None]
        totals = aggregate(stats)
        return HubStatus(
            hub_id=s.hub_id,
            state=s.state,
            reason=s.reason,
            actor=s.actor,
            since=s.since,
            strategies=entries,
            breakers=[_status_of(r) for r in self._global_readings()],
            exposure=sum((r.exposure for r in reports), Decimal(0)),
            equity=totals.equity,
            daily_pnl=totals.daily_pnl,
            last_control=s.controls[-1] if s.controls else None,
            day_started_at=s.day_started_at,
            signals_received=s.signals_received,
            reports_received=s.reports_received,
            runs=s.runs,
        )
