"""The order gates (NeuroHub's and each strategy's), placement admission, and order approvals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import APPROVAL_STATUSES, HUB_STATES, ApprovalRow, HubGateRow, PositionRow, StrategyRow
from store.repo._common import FRESH, as_text, dialect_insert, fetch_all
from store.repo.strategies import lock_gates
from trading.control import Gate, admit
from trading.errors import InvalidInput
from trading.models import Side


def hub_gate_of(row: HubGateRow | None) -> Gate:
    """The gate a hub row describes; no row yet means the hub never closed it."""
    if row is None:
        return Gate()
    return Gate(state=row.state, halt_id=row.halt_id, flatten=row.flatten, reason=row.reason)  # type: ignore[arg-type]


def strategy_gate_of(row: StrategyRow) -> Gate:
    """The gate a strategy row describes."""
    if row.status in ("halted", "stopped"):
        return Gate(state=row.status, halt_id=row.halt_id, flatten=row.flatten, reason=row.status_reason)  # type: ignore[arg-type]
    if row.reduce_only:
        return Gate(state="reducing", reason=row.status_reason)
    return Gate()


async def get_hub_gate(session: AsyncSession, *, hub_id: str, lock: bool = False) -> HubGateRow | None:
    """The hub's gate row; ``lock`` holds it (shared) until the transaction ends, so a halt waits."""
    stmt = select(HubGateRow).where(HubGateRow.id == hub_id)
    if lock:
        stmt = stmt.with_for_update(read=True)
    return (await session.scalars(stmt, execution_options=FRESH)).first()


async def set_hub_gate(
    session: AsyncSession,
    *,
    hub_id: str,
    state: str,
    halt_id: str,
    flatten: bool,
    reason: str,
    actor: str,
    now: datetime,
) -> HubGateRow:
    """Set the global gate (insert or update). The write waits for every placement holding it."""
    state = as_text(state)
    if state not in HUB_STATES:
        raise InvalidInput(f"unknown trading state {state!r}; expected one of {HUB_STATES}")
    values = {"state": state, "halt_id": halt_id, "flatten": flatten, "reason": reason, "actor": actor}
    stmt = (
        dialect_insert(session, HubGateRow)
        .values(id=hub_id, changed_at=now, **values)
        .on_conflict_do_update(index_elements=[HubGateRow.id], set_={**values, "changed_at": now})
        .returning(HubGateRow)
    )
    return (await session.scalars(stmt, execution_options=FRESH)).one()


async def ensure_hub_gate(session: AsyncSession, *, hub_id: str, now: datetime) -> HubGateRow:
    """The hub's gate row, created open if it does not exist yet."""
    stmt = (
        dialect_insert(session, HubGateRow)
        .values(id=hub_id, state="active", changed_at=now)
        .on_conflict_do_nothing(index_elements=[HubGateRow.id])
    )
    await session.execute(stmt)
    row = await get_hub_gate(session, hub_id=hub_id)
    if row is None:  # inserted or already there: never None unless the database lost it
        raise RuntimeError(f"hub gate {hub_id!r} missing right after its upsert")
    return row


async def admit_placement(
    session: AsyncSession,
    *,
    strategy_id: str,
    hub_id: str,
    symbol: str,
    side: Side,
    qty: Decimal,
    flatten_of: str = "",
) -> str | None:
    """Pass both gates once, or say why not. None means admitted (and counted).

    Locks the strategy's row (every backend) and holds the hub's row shared (PostgreSQL;
    SQLite has a single writer), so a halt of either waits until this transaction,
    which also places and records the order, has committed. Keep it open until then.
    """
    await lock_gates(session, strategy_id=strategy_id)
    row = await session.get(StrategyRow, strategy_id, populate_existing=True)
    if row is None:
        return f"unknown strategy {strategy_id}"
    hub = hub_gate_of(await get_hub_gate(session, hub_id=hub_id, lock=True))
    position = await session.get(PositionRow, (strategy_id, symbol), populate_existing=True)
    held = position.qty if position is not None else Decimal(0)
    reason = admit(
        hub=hub, strategy=strategy_gate_of(row), side=side, qty=qty, position_qty=held, flatten_of=flatten_of
    )
    if reason is None:
        stmt = (
            update(StrategyRow)
            .where(StrategyRow.id == strategy_id)
            .values(placements=StrategyRow.placements + 1)
        )
        await session.execute(stmt, execution_options={"synchronize_session": False})
    return reason


async def create_approval(
    session: AsyncSession,
    *,
    id: str,
    strategy_id: str,
    cycle: int,
    workflow_id: str,
    client_order_id: str,
    symbol: str,
    side: str,
    qty: Decimal,
    price: Decimal,
    notional: Decimal,
    requested_at: datetime,
    expires_at: datetime,
) -> ApprovalRow:
    """Record a pending approval once; a repeat returns the row as it stands."""
    stmt = (
        dialect_insert(session, ApprovalRow)
        .values(
            id=id,
            strategy_id=strategy_id,
            cycle=cycle,
            workflow_id=workflow_id,
            client_order_id=client_order_id,
            symbol=symbol,
            side=as_text(side),
            qty=qty,
            price=price,
            notional=notional,
            status="pending",
            requested_at=requested_at,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=[ApprovalRow.id])
    )
    await session.execute(stmt)
    row = await get_approval(session, approval_id=id)
    if row is None:
        raise RuntimeError(f"approval {id!r} missing right after its upsert")
    return row


async def get_approval(session: AsyncSession, *, approval_id: str) -> ApprovalRow | None:
    """The approval with this id, or None."""
    return await session.get(ApprovalRow, approval_id, populate_existing=True)


async def list_approvals(
    session: AsyncSession, *, status: str | None = None, limit: int = 200, offset: int = 0
) -> list[ApprovalRow]:
    """Approvals, oldest request first, optionally with one status (a page: ``offset`` rows skipped)."""
    stmt = select(ApprovalRow).order_by(ApprovalRow.requested_at, ApprovalRow.id).limit(limit).offset(offset)
    if status is not None:
        if status not in APPROVAL_STATUSES:
            raise InvalidInput(f"unknown approval status {status!r}; expected one of {APPROVAL_STATUSES}")
        stmt = stmt.where(ApprovalRow.status == status)
    return await fetch_all(session, stmt)


async def decide_approval(
    session: AsyncSession, *, approval_id: str, status: str, by: str, reason: str, now: datetime
) -> ApprovalRow | None:
    """Move a pending approval to ``status``; a decided one is left as it is. Returns the row."""
    if status not in APPROVAL_STATUSES or status == "pending":
        raise InvalidInput(f"an approval is decided as approved, rejected or expired, not {status!r}")
    stmt = (
        update(ApprovalRow)
        .where(ApprovalRow.id == approval_id, ApprovalRow.status == "pending")
        .values(status=status, decided_at=now, decided_by=by, reason=reason)
    )
    await session.execute(stmt, execution_options={"synchronize_session": False})
    return await get_approval(session, approval_id=approval_id)
