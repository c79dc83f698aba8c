"""CycleWorkflow: one scan → analyse → risk approve → execute → reconcile pass."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        AnalyseInput,
        AnalyseResult,
        ApprovalDecisionInput,
        ApprovalOutcome,
        ApprovalRecorded,
        ApprovalRequest,
        ApprovalSettlement,
        ApprovalStatus,
        CycleInput,
        CycleResult,
        OrderOutcome,
        OrderPlan,
        ProtectInput,
        ProtectResult,
        RecheckInput,
        RecheckResult,
        ReconcileInput,
        ReconcileResult,
        RiskInput,
        RiskRejection,
        RiskResult,
        ScanResult,
    )
    from workflows import options
    from workflows.order import follow_order
    from workflows.steps import run_step

# Histories from before an approved order was judged again have no such step.
RECHECK_AFTER_APPROVAL = "recheck-after-approval"


@dataclass
class _Approval:
    """One order waiting for a human: recorded in the store, then settled exactly once."""

    request: ApprovalRequest
    recorded: bool = False
    # Set when a decision (an Update, or the timeout) has begun settling it: no other may.
    settling: bool = False
    outcome: ApprovalOutcome | None = None


@workflow.defn
class CycleWorkflow:
    """One trading cycle of one strategy; its history is the audit trail of that cycle.

    An approved plan whose notional is above ``approval_notional`` waits for the ``decide``
    Update (or ``approval_timeout_s``, after which it expires) before it is placed.
    """

    def __init__(self) -> None:
        self._approvals: dict[str, _Approval] = {}

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
            AnalyseInput(config=cfg, cycle=inp.cycle, snapshots=scan.snapshots, as_of=started),
            result_type=AnalyseResult,
            mode=mode,
            timeout=options.ANALYSE_TIMEOUT,
            retry=options.ANALYSE_RETRY,
        )
        # The analysis result above holds each decision's full record; what follows needs less.
        decisions = [d.slim() for d in analysis.decisions]
        snapshots = [s.slim() for s in scan.snapshots]
        risk = await run_step(
            "risk_approve",
            RiskInput(config=cfg, cycle=inp.cycle, decisions=decisions, snapshots=snapshots),
            result_type=RiskResult,
            mode=mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
        # Every plan at once: those under the approval threshold are not held up by those above it.
        done = await asyncio.gather(*(self._approve_then_execute(inp, plan) for plan in risk.approved))
        outcomes = [d for d in done if isinstance(d, OrderOutcome)]
        refused = [d for d in done if isinstance(d, RiskRejection)]
        held = 0
        if cfg.exits is not None:  # (histories from before exits have none: replay is unchanged)
            protected = await run_step(
                "protect",
                ProtectInput(config=cfg, cycle=inp.cycle, snapshots=snapshots),
                result_type=ProtectResult,
                mode=mode,
                timeout=options.PROTECT_TIMEOUT,
                retry=options.ORDER_RETRY,
            )
            held = protected.watching
        pnl = await run_step(
            "reconcile",
            ReconcileInput(
                config=cfg, cycle=inp.cycle, outcomes=outcomes, snapshots=snapshots, started_at=started
            ),
            result_type=ReconcileResult,
            mode=mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
        return CycleResult(
            cycle=inp.cycle,
            started_at=started,
            finished_at=workflow.now(),
            decisions=decisions,
            orders=outcomes,
            rejections=risk.rejected + refused,
            pnl=pnl,
            llm=analysis.llm,
            held=held,
        )

    @workflow.update
    async def decide(self, inp: ApprovalDecisionInput) -> ApprovalOutcome:
        """A human approves or rejects a pending order; answers with the decision as stored."""
        wait = self._approvals[inp.approval_id]
        wait.settling = True  # before any await: a second decision is refused by the validator
        await workflow.wait_condition(lambda: wait.recorded)
        status: ApprovalStatus = "approved" if inp.decision == "approve" else "rejected"
        wait.outcome = await self._settle(
            wait.request.plan,
            ApprovalSettlement(
                approval_id=inp.approval_id, status=status, decided_by=inp.actor, reason=inp.reason
            ),
        )
        return wait.outcome

    @decide.validator
    def _check_decision(self, inp: ApprovalDecisionInput) -> None:
        """Refuse (unrecorded in history) unknown or already decided approvals and unknown decisions."""
        wait = self._approvals.get(inp.approval_id)
        if wait is None:
            raise ValueError(f"no approval {inp.approval_id!r} in this cycle")
        if wait.settling:
            raise ValueError(f"approval {inp.approval_id!r} is no longer pending")
        if inp.decision not in ("approve", "reject"):
            raise ValueError(f"decision must be 'approve' or 'reject', not {inp.decision!r}")

    @workflow.query
    def pending_approvals(self) -> list[ApprovalRequest]:
        """Orders of this cycle waiting for a decision."""
        return [a.request for a in self._approvals.values() if a.recorded and not a.settling]

    async def _approve_then_execute(self, inp: CycleInput, plan: OrderPlan) -> OrderOutcome | RiskRejection:
        """Place the plan, after a human's approval when its notional is above the threshold."""
        threshold, notional = inp.config.approval_notional, plan.qty * plan.ref_price
        if threshold is None or notional <= threshold:
            return await follow_order(plan)
        outcome = await self._await_approval(inp, plan, notional)
        if outcome.status == "approved" and workflow.patched(RECHECK_AFTER_APPROVAL):
            # the book and the prices may have moved while a human decided: the limits still hold
            recheck = await run_step(
                "recheck_order",
                RecheckInput(config=inp.config, cycle=inp.cycle, plan=plan),
                result_type=RecheckResult,
                mode=inp.config.step_mode,
                timeout=options.STORE_TIMEOUT,
                retry=options.STORE_RETRY,
            )
            if recheck.reasons:
                why = f"approved by {outcome.decided_by}, but the risk limits refuse it now"
                return RiskRejection(
                    symbol=plan.symbol,
                    side=plan.side,
                    qty=plan.qty,
                    reasons=[f"{why}: {r}" for r in recheck.reasons],
                )
        if outcome.status == "approved":
            return await follow_order(plan)
        why = f"approval {outcome.approval_id} {outcome.status} by {outcome.decided_by}"
        return RiskRejection(
            symbol=plan.symbol,
            side=plan.side,
            qty=plan.qty,
            reasons=[f"{why}: {outcome.reason}" if outcome.reason else why],
        )

    async def _await_approval(self, inp: CycleInput, plan: OrderPlan, notional: Decimal) -> ApprovalOutcome:
        """Record the request, then wait for the ``decide`` Update or the timeout (which expires it)."""
        timeout_s = inp.config.approval_timeout_s
        request = ApprovalRequest(
            plan=plan,
            strategy_id=plan.strategy_id,
            cycle=inp.cycle,
            workflow_id=workflow.info().workflow_id,
            notional=notional,
            timeout_s=timeout_s,
        )
        wait = self._approvals[request.approval_id] = _Approval(request=request)
        recorded = await run_step(
            "request_approval",
            request,
            result_type=ApprovalRecorded,
            mode=plan.step_mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
        wait.recorded = True
        if recorded.outcome is not None and not wait.settling:  # decided in an earlier run of this cycle
            wait.settling, wait.outcome = True, recorded.outcome
        try:
            if not wait.settling:
                await workflow.wait_condition(
                    lambda: wait.settling,
                    timeout=timedelta(seconds=timeout_s),
                    timeout_summary=f"approval {request.approval_id}",
                )
        except TimeoutError:  # no decision in time: the order expires unplaced
            wait.settling = True
            wait.outcome = await self._settle(
                plan,
                ApprovalSettlement(
                    approval_id=request.approval_id,
                    status="expired",
                    decided_by="timeout",
                    reason=f"no decision within {timeout_s:g}s",
                ),
            )
        await workflow.wait_condition(lambda: wait.outcome is not None)
        if wait.outcome is None:  # cannot happen: the condition above held
            raise RuntimeError(f"approval {request.approval_id} woke without an outcome")
        return wait.outcome

    async def _settle(self, plan: OrderPlan, settlement: ApprovalSettlement) -> ApprovalOutcome:
        return await run_step(
            "settle_approval",
            settlement,
            result_type=ApprovalOutcome,
            mode=plan.step_mode,
            timeout=options.STORE_TIMEOUT,
            retry=options.STORE_RETRY,
        )
