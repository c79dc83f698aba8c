"""Orders, fills and positions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import FillRow, OrderRow, PositionRow
from store.repo._common import FRESH, as_text, dialect_insert, fetch_all, fetch_first
from trading.errors import InvalidInput
from trading.models import OrderStatus

_ORDER_IDENTITY = ("strategy_id", "cycle", "leg", "symbol", "side", "type", "qty", "price")


async def upsert_order(
    session: AsyncSession,
    *,
    client_order_id: str,
    strategy_id: str,
    cycle: int,
    leg: int,
    symbol: str,
    side: str,
    type: str,
    qty: Decimal,
    price: Decimal | None,
    status: str,
    filled_qty: Decimal,
    avg_price: Decimal | None,
    fee: Decimal,
    venue_order_id: str | None,
    reason: str,
    now: datetime,
    stop_price: Decimal | None = None,
    trail_amount: Decimal | None = None,
    trail_fraction: Decimal | None = None,
    tif: str = "gtc",
    reduce_only: bool = False,
    oco_group: str | None = None,
    exit_kind: str = "",
) -> OrderRow:
    """Insert the order, or update its mutable fields (status, fills, fee, venue id, reason, and
    a trailing stop's current level).

    A ``None`` venue_order_id never erases a known one. Raises ``InvalidInput`` if the
    client order id already belongs to a different order (strategy, leg, symbol, side,
    type, qty or price differ); the caller should roll back.
    """
    values = {
        "client_order_id": client_order_id,
        "strategy_id": strategy_id,
        "cycle": cycle,
        "leg": leg,
        "symbol": symbol,
        "side": as_text(side),
        "type": as_text(type),
        "qty": qty,
        "price": price,
        "status": as_text(status),
        "filled_qty": filled_qty,
        "avg_price": avg_price,
        "fee": fee,
        "venue_order_id": venue_order_id,
        "reason": reason,
        "created_at": now,
        "updated_at": now,
        "stop_price": stop_price,
        "trail_amount": trail_amount,
        "trail_fraction": trail_fraction,
        "tif": as_text(tif),
        "reduce_only": reduce_only,
        "oco_group": oco_group,
        "exit_kind": exit_kind,
    }
    insert = dialect_insert(session, OrderRow).values(values)
    excluded = insert.excluded
    stmt = insert.on_conflict_do_update(
        index_elements=[OrderRow.client_order_id],
        set_={
            "status": excluded["status"],
            "filled_qty": excluded["filled_qty"],
            "avg_price": excluded["avg_price"],
            "fee": excluded["fee"],
            "venue_order_id": func.coalesce(excluded["venue_order_id"], OrderRow.venue_order_id),
            "reason": excluded["reason"],
            "updated_at": excluded["updated_at"],
            "stop_price": func.coalesce(excluded["stop_price"], OrderRow.stop_price),
        },
    ).returning(OrderRow)
    row = (await session.scalars(stmt, execution_options=FRESH)).one()
    stored = {name: getattr(row, name) for name in _ORDER_IDENTITY}
    given = {name: values[name] for name in _ORDER_IDENTITY}
    if stored != given:
        raise InvalidInput(f"client order id {client_order_id!r} names another order: {stored} != {given}")
    return row


async def get_order(session: AsyncSession, *, client_order_id: str) -> OrderRow | None:
    """The order with this client order id, or None."""
    return await fetch_first(session, select(OrderRow).where(OrderRow.client_order_id == client_order_id))


async def list_orders(
    session: AsyncSession, *, strategy_id: str | None = None, limit: int = 500, offset: int = 0
) -> list[OrderRow]:
    """Orders, newest first, optionally of one strategy (a page: ``offset`` rows skipped)."""
    newest = select(OrderRow).order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
    stmt = newest.limit(limit).offset(offset)
    if strategy_id is not None:
        stmt = stmt.where(OrderRow.strategy_id == strategy_id)
    return await fetch_all(session, stmt)


async def client_order_ids(session: AsyncSession, *, strategy_ids: list[str]) -> set[str]:
    """Every client order id we have recorded for these strategies."""
    stmt = select(OrderRow.client_order_id).where(OrderRow.strategy_id.in_(strategy_ids))
    return set((await session.execute(stmt)).scalars())


async def unfinished_orders(
    session: AsyncSession,
    *,
    strategy_id: str | None = None,
    strategy_ids: list[str] | None = None,
    exits: bool | None = None,
) -> list[OrderRow]:
    """Orders not in a terminal state (the venue may still fill them), of one strategy or several;
    only the protective exits (``exits=True``), only the other orders (False), or both (None)."""
    live = [s.value for s in OrderStatus if not s.is_terminal]
    stmt = select(OrderRow).where(OrderRow.status.in_(live))
    if exits is not None:
        stmt = stmt.where(OrderRow.exit_kind != "" if exits else OrderRow.exit_kind == "")
    if strategy_id is not None:
        stmt = stmt.where(OrderRow.strategy_id == strategy_id)
    if strategy_ids is not None:
        stmt = stmt.where(OrderRow.strategy_id.in_(strategy_ids))
    return await fetch_all(session, stmt.order_by(OrderRow.id))


async def record_fill(
    session: AsyncSession,
    *,
    fill_id: str,
    client_order_id: str,
    strategy_id: str,
    symbol: str,
    side: str,
    qty: Decimal,
    price: Decimal,
    fee: Decimal,
    ts: datetime,
) -> bool:
    """Record a fill once; True if it was new, False if this fill id was already recorded."""
    stmt = (
        dialect_insert(session, FillRow)
        .values(
            fill_id=fill_id,
            client_order_id=client_order_id,
            strategy_id=strategy_id,
            symbol=symbol,
            side=as_text(side),
            qty=qty,
            price=price,
            fee=fee,
            ts=ts,
        )
        .on_conflict_do_nothing(index_elements=[FillRow.fill_id])
        .returning(FillRow.id)
    )
    return (await session.execute(stmt)).first() is not None


async def list_fills(
    session: AsyncSession,
    *,
    strategy_id: str | None = None,
    client_order_id: str | None = None,
    newest: int | None = None,
    offset: int = 0,
) -> list[FillRow]:
    """Fills in the order they happened (oldest first), optionally filtered; ``newest``: a page of
    that many, newest first (``offset`` skipped)."""
    if newest is None:
        stmt = select(FillRow).order_by(FillRow.ts, FillRow.id)
    else:
        stmt = select(FillRow).order_by(FillRow.ts.desc(), FillRow.id.desc()).limit(newest).offset(offset)
    if strategy_id is not None:
        stmt = stmt.where(FillRow.strategy_id == strategy_id)
    if client_order_id is not None:
        stmt = stmt.where(FillRow.client_order_id == client_order_id)
    return await fetch_all(session, stmt)


async def get_positions(
    session: AsyncSession, *, strategy_id: str | None = None, limit: int | None = None, offset: int = 0
) -> list[PositionRow]:
    """Positions ordered by strategy and symbol, optionally of one strategy (every one unless ``limit``)."""
    stmt = select(PositionRow).order_by(PositionRow.strategy_id, PositionRow.symbol).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    if strategy_id is not None:
        stmt = stmt.where(PositionRow.strategy_id == strategy_id)
    return await fetch_all(session, stmt)


async def upsert_position(
    session: AsyncSession,
    *,
    strategy_id: str,
    symbol: str,
    qty: Decimal,
    avg_price: Decimal,
    realised_pnl: Decimal,
    fees: Decimal,
    now: datetime,
) -> PositionRow:
    """Insert or overwrite the position of ``strategy_id`` in ``symbol``."""
    insert = dialect_insert(session, PositionRow).values(
        strategy_id=strategy_id,
        symbol=symbol,
        qty=qty,
        avg_price=avg_price,
        realised_pnl=realised_pnl,
        fees=fees,
        updated_at=now,
    )
    mutable = ("qty", "avg_price", "realised_pnl", "fees", "updated_at")
    stmt = insert.on_conflict_do_update(
        index_elements=[PositionRow.strategy_id, PositionRow.symbol],
        set_={name: insert.excluded[name] for name in mutable},
    ).returning(PositionRow)
    return (await session.scalars(stmt, execution_options=FRESH)).one()


async def set_stood_down(session: AsyncSession, *, strategy_id: str, symbol: str, direction: str) -> None:
    """Mark (``"long"``, ``"short"``) or clear (``""``) a position a protective exit closed."""
    stmt = (
        update(PositionRow)
        .where(PositionRow.strategy_id == strategy_id, PositionRow.symbol == symbol)
        .values(stood_down=direction)
    )
    await session.execute(stmt, execution_options={"synchronize_session": False})


async def stood_down(session: AsyncSession, *, strategy_id: str) -> dict[str, str]:
    """The strategy's symbols whose position a protective exit closed, and which way it was."""
    stmt = select(PositionRow.symbol, PositionRow.stood_down).where(
        PositionRow.strategy_id == strategy_id, PositionRow.stood_down != ""
    )
    return {sym: way for sym, way in (await session.execute(stmt)).all()}


async def order_counts(session: AsyncSession, *, strategy_id: str) -> tuple[int, int]:
    """Orders a strategy sent to its venue, and how many the venue rejected.

    Orders refused at our own gate (reason ``blocked at the gate…``) never reached the
    venue and count as neither.
    """
    blocked = OrderRow.reason.like("blocked at the gate%")
    rejected = (OrderRow.status == "rejected") & OrderRow.reason.like("venue rejected%")
    stmt = select(func.count().filter(~blocked), func.count().filter(rejected)).where(
        OrderRow.strategy_id == strategy_id
    )
    total, bad = (await session.execute(stmt)).one()
    return int(total), int(bad)
