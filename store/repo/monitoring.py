"""Reads for the worker's state gauges (activities.metrics.STATE): small aggregates, each one query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApprovalRow, HubGateRow, OrderRow, PnlSnapshotRow, StrategyRow
from store.repo._common import FRESH
from trading.models import OrderStatus


async def hub_gate_states(session: AsyncSession) -> dict[str, str]:
    """Every NeuroHub's global gate: hub id -> active, reducing or halted."""
    rows = await session.execute(select(HubGateRow.id, HubGateRow.state), execution_options=FRESH)
    return {hub_id: state for hub_id, state in rows}


async def pending_approvals(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many approvals are pending, and when the first of them expires (None: none pending)."""
    pending = ApprovalRow.status == "pending"
    count = int(await session.scalar(select(func.count()).select_from(ApprovalRow).where(pending)) or 0)
    first = await session.scalar(
        select(ApprovalRow.expires_at).where(pending).order_by(ApprovalRow.expires_at).limit(1)
    )
    return count, first


async def count_stale_orders(session: AsyncSession, *, before: datetime) -> int:
    """Unfinished orders (protective exits aside, which rest for long) not updated since ``before``:
    an order a workflow follows is read, and its row written, at least every 30 seconds."""
    live = [s.value for s in OrderStatus if not s.is_terminal]
    stmt = (
        select(func.count())
        .select_from(OrderRow)
        .where(OrderRow.status.in_(live), OrderRow.exit_kind == "", OrderRow.updated_at < before)
    )
    return int(await session.scalar(stmt) or 0)


async def cycling_strategies(session: AsyncSession) -> list[tuple[StrategyRow, datetime | None]]:
    """The running strategies, each with the time of its last PnL snapshot (its last successful
    cycle's reconcile; None before its first), read through the (strategy, ts) index."""
    last = (
        select(PnlSnapshotRow.ts)
        .where(PnlSnapshotRow.strategy_id == StrategyRow.id)
        .order_by(PnlSnapshotRow.ts.desc())
        .limit(1)
        .correlate(StrategyRow)
        .scalar_subquery()
    )
    stmt = select(StrategyRow, last).where(StrategyRow.status == "running").order_by(StrategyRow.id)
    return [(row, ts) for row, ts in await session.execute(stmt, execution_options=FRESH)]


async def strategy_gate_counts(session: AsyncSession) -> dict[str, int]:
    """Strategies not stopped by the state of their own gate: running, reduce_only or halted."""
    stmt = (
        select(StrategyRow.status, StrategyRow.reduce_only, func.count())
        .where(StrategyRow.status != "stopped")
        .group_by(StrategyRow.status, StrategyRow.reduce_only)
    )
    out: dict[str, int] = {}
    for status, reduce_only, n in await session.execute(stmt):
        state = "reduce_only" if status == "running" and reduce_only else status
        out[state] = out.get(state, 0) + int(n)
    return out
