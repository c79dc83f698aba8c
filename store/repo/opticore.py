"""OptiCore's records: backtests and optimisations, written by their workflows' activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import BacktestRow, OptimizationRow
from store.repo._common import dialect_insert, fetch_all, fetch_first

OpticoreRow = type[BacktestRow] | type[OptimizationRow]


async def _create_running(
    session: AsyncSession,
    row: OpticoreRow,
    *,
    id: str,
    workflow_id: str,
    request: dict[str, Any],
    now: datetime,
    created_by: str,
) -> None:
    """Record a backtest or optimisation as running (a repeat is a no-op)."""
    stmt = (
        dialect_insert(session, row)
        .values(
            id=id,
            workflow_id=workflow_id,
            status="running",
            request=request,
            created_by=created_by,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[row.id])
    )
    await session.execute(stmt)


async def create_backtest(
    session: AsyncSession,
    *,
    id: str,
    workflow_id: str,
    request: dict[str, Any],
    now: datetime,
    created_by: str = "",
) -> None:
    """Record a backtest as running (a repeat is a no-op)."""
    await _create_running(
        session, BacktestRow, id=id, workflow_id=workflow_id, request=request, now=now, created_by=created_by
    )


async def finish_backtest(
    session: AsyncSession,
    *,
    id: str,
    status: str,
    now: datetime,
    metrics: dict[str, Any] | None = None,
    trades: list[Any] | None = None,
    equity: dict[str, Any] | None = None,
    conventions: str = "",
    error: str = "",
) -> None:
    """Store a backtest's result (or its error), once: a finished record is never overwritten."""
    await session.execute(
        update(BacktestRow)
        .where(BacktestRow.id == id, BacktestRow.status == "running")
        .values(
            status=status,
            metrics=metrics,
            trades=trades,
            equity=equity,
            conventions=conventions,
            error=error,
            finished_at=now,
        )
    )


async def get_backtest(session: AsyncSession, *, id: str) -> BacktestRow | None:
    """One backtest."""
    return await fetch_first(session, select(BacktestRow).where(BacktestRow.id == id))


async def list_opticore(
    session: AsyncSession, row: OpticoreRow, *, limit: int, offset: int = 0, created_by: str | None = None
) -> list[Any]:
    """Backtests (or optimisations), newest first: a page, optionally of one user."""
    stmt = select(row).order_by(row.created_at.desc(), row.id.desc()).limit(limit).offset(offset)
    if created_by is not None:
        stmt = stmt.where(row.created_by == created_by)
    return await fetch_all(session, stmt)


async def create_optimization(
    session: AsyncSession,
    *,
    id: str,
    workflow_id: str,
    request: dict[str, Any],
    now: datetime,
    created_by: str = "",
) -> None:
    """Record an optimisation as running (a repeat is a no-op)."""
    await _create_running(
        session,
        OptimizationRow,
        id=id,
        workflow_id=workflow_id,
        request=request,
        now=now,
        created_by=created_by,
    )


async def update_optimization(session: AsyncSession, *, id: str, **values: Any) -> None:
    """Progress, best so far, or the final tables of an optimisation."""
    allowed = {
        "status",
        "total",
        "done",
        "best_params",
        "best_score",
        "best_metrics",
        "top",
        "walk_forward",
        "error",
        "finished_at",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown optimisation fields: {sorted(unknown)}")
    await session.execute(update(OptimizationRow).where(OptimizationRow.id == id).values(**values))


async def get_optimization(session: AsyncSession, *, id: str) -> OptimizationRow | None:
    """One optimisation."""
    return await fetch_first(session, select(OptimizationRow).where(OptimizationRow.id == id))


async def count_running_opticore(
    session: AsyncSession, *, kind: Literal["backtest", "optimization"], created_by: str | None = None
) -> int:
    """Backtests (or optimisations) running now, of one user (None: of everyone)."""
    row: OpticoreRow = BacktestRow if kind == "backtest" else OptimizationRow
    stmt = select(func.count()).select_from(row).where(row.status == "running")
    if created_by is not None:
        stmt = stmt.where(row.created_by == created_by)
    return int((await session.execute(stmt)).scalar_one())
