"""Open and close a strategy's order gate (halt, resume, stop), recorded as an audit event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import CycleFailure, StatusChange, StatusChanged, StrategyConfig
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import CYCLES
from activities.strategy_code import record_code
from asts.registry import current
from store import repo
from trading.errors import InvalidInput


async def record_strategy(
    s: AsyncSession, config: StrategyConfig, *, workflow_id: str, now: datetime
) -> None:
    """Record a strategy, its order gate open, before its workflow ``workflow_id`` starts; with
    the source of the code version it runs, so that version can run again after its file changes."""
    if config.code_version:
        kind = current().get(config.type)
        if kind.version != config.code_version:
            raise InvalidInput(f"{config.type} is at version {kind.version}, not {config.code_version}")
        await record_code(s, kind, now=now)
    await repo.create_strategy(
        s,
        id=config.strategy_id,
        name=config.name,
        type=config.type,
        exchange=config.exchange,
        symbols=config.symbols,
        interval_s=config.interval_s,
        params=config.params,
        risk=config.risk,
        workflow_id=workflow_id,
        now=now,
        controls=controls_of(config),
        created_by=config.created_by,
        code_version=config.code_version,
    )


def controls_of(config: StrategyConfig) -> dict[str, Any]:
    """The strategy's control settings as stored (NeuroHub rebuilds its registry from them)."""
    return config.model_dump(
        mode="json",
        include={"capital", "breakers", "approval_notional", "approval_timeout_s", "hub_id", "llm_budget"},
    )


MAX_ERROR = 500  # characters of a failed cycle's error kept in its event


class StatusActivities:
    """Strategy status activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="set_strategy_status")
    @translate_errors
    async def set_strategy_status(self, inp: StatusChange) -> StatusChanged:
        """Change the status; returns after the commit, when the gate is in its new state.

        Closing waits for any placement transaction that holds the gate, so after this
        returns no order of the strategy is being or can be placed.
        """
        async with self.deps.transaction(urgent=True) as s:
            found = await repo.set_strategy_status(
                s,
                strategy_id=inp.strategy_id,
                status=inp.status,
                reason=inp.reason,
                now=utcnow(),
                halt_id=inp.request_id,
                flatten=inp.flatten,
                reduce_only=inp.reduce_only,
            )
            if not found:
                raise InvalidInput(f"unknown strategy {inp.strategy_id}")
            await repo.record_event(
                s,
                event_key=f"status-{inp.request_id}",
                kind=_event_kind(inp),
                reason=inp.reason,
                now=utcnow(),
                strategy_id=inp.strategy_id,
                data={"actor": inp.actor, "flatten": inp.flatten, "reduce_only": inp.reduce_only},
            )
        return StatusChanged(
            strategy_id=inp.strategy_id, status=inp.status, at=utcnow(), halt_id=inp.request_id
        )

    @activity.defn(name="count_cycle_failure")
    async def count_cycle_failure(self, inp: CycleFailure) -> None:
        """Count a failed cycle (the successful ones are counted by their reconcile step) and record
        it once as a ``cycle_failed`` event, which notification channels may ask for."""
        async with self.deps.transaction() as s:
            new = await repo.record_event(
                s,
                event_key=f"cycle_failed:{inp.strategy_id}:{inp.cycle}",
                kind="cycle_failed",
                reason=inp.error[:MAX_ERROR] or "the cycle failed",
                now=utcnow(),
                strategy_id=inp.strategy_id,
                cycle=inp.cycle,
                data={"strategy_type": inp.strategy_type},
            )
        if new:  # a retried attempt counts nothing twice
            CYCLES.labels(inp.strategy_type, "failed").inc()


def _event_kind(inp: StatusChange) -> str:
    if inp.status == "running" and inp.reduce_only:
        return "reduce_only"
    return {"halted": "halt", "running": "resume", "stopped": "stop"}[inp.status]
