"""Strategies and the order gate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import STRATEGY_STATUSES, StrategyRow
from store.repo._common import as_text, fetch_all
from trading.errors import InvalidInput


async def create_strategy(
    session: AsyncSession,
    *,
    id: str,
    name: str,
    type: str,
    exchange: str,
    symbols: list[str],
    interval_s: float,
    params: dict[str, Any],
    risk: dict[str, Any],
    workflow_id: str,
    now: datetime,
    controls: dict[str, Any] | None = None,
    created_by: str = "",
    code_version: str = "",
) -> StrategyRow:
    """Insert a new strategy in status ``running``; a duplicate id raises ``IntegrityError``."""
    row = StrategyRow(
        id=id,
        name=name,
        type=type,
        exchange=exchange,
        symbols=list(symbols),
        interval_s=float(interval_s),
        params=dict(params),
        risk=dict(risk),
        status="running",
        status_reason="",
        workflow_id=workflow_id,
        placements=0,
        controls=dict(controls or {}),
        created_by=created_by,
        code_version=code_version,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_strategy(session: AsyncSession, *, strategy_id: str) -> StrategyRow | None:
    """The strategy with this id, or None."""
    return await session.get(StrategyRow, strategy_id, populate_existing=True)


async def list_strategies(
    session: AsyncSession, *, limit: int | None = None, offset: int = 0
) -> list[StrategyRow]:
    """Strategies, oldest first (every one unless ``limit``)."""
    stmt = select(StrategyRow).order_by(StrategyRow.created_at, StrategyRow.id).offset(offset)
    return await fetch_all(session, stmt if limit is None else stmt.limit(limit))


async def count_running(session: AsyncSession, *, created_by: str) -> int:
    """How many strategies this user (or key) started are running or halted (not stopped)."""
    stmt = (
        select(func.count())
        .select_from(StrategyRow)
        .where(StrategyRow.created_by == created_by, StrategyRow.status != "stopped")
    )
    return int(await session.scalar(stmt) or 0)


async def set_strategy_status(
    session: AsyncSession,
    *,
    strategy_id: str,
    status: str,
    reason: str,
    now: datetime,
    halt_id: str = "",
    flatten: bool = False,
    reduce_only: bool | None = None,
) -> bool:
    """Set status and reason (and the halt in force, or reduce-only); False if there is no such strategy.

    The UPDATE waits for any open transaction that was admitted to place an order for
    this strategy, so once a halt is committed no placement is still in flight.
    ``halt_id``/``flatten`` name the halt and whether its flattening orders may pass;
    ``reduce_only`` is left as it is when None.
    """
    status = as_text(status)
    if status not in STRATEGY_STATUSES:
        raise InvalidInput(f"unknown strategy status {status!r}; expected one of {STRATEGY_STATUSES}")
    values: dict[str, Any] = {"status": status, "status_reason": reason, "updated_at": now}
    halted = status == "halted"
    values |= {"halt_id": halt_id if halted else "", "flatten": flatten and halted}
    if reduce_only is not None:
        values["reduce_only"] = reduce_only
    stmt = update(StrategyRow).where(StrategyRow.id == strategy_id).values(**values).returning(StrategyRow.id)
    matched = (await session.execute(stmt, execution_options={"synchronize_session": False})).first()
    return matched is not None


async def set_strategy_params(
    session: AsyncSession, *, strategy_id: str, params: dict[str, Any], now: datetime
) -> bool:
    """Record new strategy parameters; False if there is no such strategy."""
    stmt = (
        update(StrategyRow)
        .where(StrategyRow.id == strategy_id)
        .values(params=params, updated_at=now)
        .returning(StrategyRow.id)
    )
    matched = (await session.execute(stmt, execution_options={"synchronize_session": False})).first()
    return matched is not None


async def lock_gates(session: AsyncSession, *, strategy_id: str | None = None) -> None:
    """Close the order gates of every strategy (or one) until this transaction ends.

    Waits for placements whose claim is still open, then makes new claims (and status
    changes) wait, so a reconciliation never sees a half-recorded placement. PostgreSQL
    locks the strategy rows (in id order, so two callers cannot deadlock); SQLite has
    one writer at a time, so a write that matches nothing takes the database write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(StrategyRow.id).order_by(StrategyRow.id).with_for_update()
        if strategy_id is not None:
            stmt = stmt.where(StrategyRow.id == strategy_id)
        await session.execute(stmt)
        return
    no_op = update(StrategyRow).where(false()).values(placements=StrategyRow.placements)
    await session.execute(no_op, execution_options={"synchronize_session": False})
