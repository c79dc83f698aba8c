"""Protective exits ASTS holds itself (see ``HeldExitRow``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import HeldExitRow, OrderRow
from store.repo._common import FRESH, dialect_insert, fetch_all
from trading.models import OrderStatus

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


@dataclass(frozen=True)
class StandingExit:
    """A protective exit that stands now: resting at the venue, or held (watched) by ASTS."""

    strategy_id: str
    symbol: str
    kind: str
    held_by: str  # "venue" or "asts"
    client_order_id: str
    side: str
    qty: Decimal
    type: str  # the order at the venue; for one ASTS holds, the market order it sends once it fires
    price: Decimal | None
    stop_price: Decimal | None
    trail_fraction: Decimal | None
    best_price: Decimal | None  # a trailing stop's best price so far (ASTS holds it)
    status: str
    oco_group: str | None
    updated_at: datetime


async def standing_exits(
    session: AsyncSession, *, strategy_id: str | None = None, limit: int = 200, offset: int = 0
) -> list[StandingExit]:
    """The exits that protect positions now, by strategy, symbol and client order id: those
    resting at their venue (open, triggered or part filled) and those ASTS watches itself."""
    live = [s.value for s in OrderStatus if not s.is_terminal]
    at_venue = select(OrderRow).where(OrderRow.exit_kind != "", OrderRow.status.in_(live))
    ours = select(HeldExitRow).where(HeldExitRow.status == "watching")
    if strategy_id is not None:
        at_venue = at_venue.where(OrderRow.strategy_id == strategy_id)
        ours = ours.where(HeldExitRow.strategy_id == strategy_id)
    out = [
        _standing(o, kind=o.exit_kind, held_by="venue", type=o.type, best_price=None)
        for o in await fetch_all(session, at_venue)
    ]
    out += [
        _standing(h, kind=h.kind, held_by="asts", type="market", best_price=h.best_price)
        for h in await fetch_all(session, ours)
    ]
    out.sort(key=lambda e: (e.strategy_id, e.symbol, e.client_order_id))
    return out[offset : offset + limit]


# What a resting exit order and an exit ASTS holds record alike.
_SHARED = (
    "strategy_id", "symbol", "client_order_id", "side", "qty", "price", "stop_price",
    "trail_fraction", "status", "oco_group", "updated_at",
)  # fmt: skip


def _standing(row: OrderRow | HeldExitRow, **own: Any) -> StandingExit:
    return StandingExit(**{name: getattr(row, name) for name in _SHARED}, **own)
