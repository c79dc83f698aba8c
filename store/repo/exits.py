"""Protective exits ASTS holds itself (see ``HeldExitRow``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import HeldExitRow
from store.repo._common import FRESH, dialect_insert, fetch_all

HELD_STATUSES = ("watching", "fired", "cancelled")


async def add_held_exit(
    session: AsyncSession,
    *,
    client_order_id: str,
    strategy_id: str,
    cycle: int,
    leg: int,
    symbol: str,
    oco_group: str,
    kind: str,
    side: str,
    qty: Decimal,
    price: Decimal | None,
    stop_price: Decimal | None,
    trail_fraction: Decimal | None,
    now: datetime,
    best_price: Decimal | None = None,
) -> HeldExitRow:
    """Start watching an exit (a trailing stop from ``best_price``); a second call with the same
    id leaves the first as it is."""
    insert = dialect_insert(session, HeldExitRow).values(
        client_order_id=client_order_id,
        strategy_id=strategy_id,
        cycle=cycle,
        leg=leg,
        symbol=symbol,
        oco_group=oco_group,
        kind=kind,
        side=side,
        qty=qty,
        price=price,
        stop_price=stop_price,
        trail_fraction=trail_fraction,
        best_price=best_price,
        status="watching",
        reason="",
        created_at=now,
        updated_at=now,
    )
    await session.execute(insert.on_conflict_do_nothing(index_elements=[HeldExitRow.client_order_id]))
    mine = select(HeldExitRow).where(HeldExitRow.client_order_id == client_order_id)
    return (await session.scalars(mine, execution_options=FRESH)).one()  # inserted, or there already


async def held_exits(
    session: AsyncSession, *, strategy_id: str, symbol: str | None = None, watching: bool = True
) -> list[HeldExitRow]:
    """A strategy's held exits, oldest first: only those still watching, or all."""
    stmt = select(HeldExitRow).where(HeldExitRow.strategy_id == strategy_id)
    if symbol is not None:
        stmt = stmt.where(HeldExitRow.symbol == symbol)
    if watching:
        stmt = stmt.where(HeldExitRow.status == "watching")
    return await fetch_all(session, stmt.order_by(HeldExitRow.id))


async def set_held_exit(
    session: AsyncSession,
    *,
    client_order_id: str,
    now: datetime,
    status: str | None = None,
    best_price: Decimal | None = None,
    reason: str | None = None,
) -> None:
    """Move a watching exit on (to ``fired`` or ``cancelled``, with why) or record its best price;
    an exit no longer watching is left as it is."""
    if status is not None and status not in HELD_STATUSES:
        raise ValueError(f"unknown held exit status {status!r}")
    values: dict[str, object] = {"updated_at": now}
    if status is not None:
        values["status"] = status
    if best_price is not None:
        values["best_price"] = best_price
    if reason is not None:
        values["reason"] = reason
    await session.execute(
        update(HeldExitRow)
        .where(HeldExitRow.client_order_id == client_order_id, HeldExitRow.status == "watching")
        .values(**values)
    )
