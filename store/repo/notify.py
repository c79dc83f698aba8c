"""What the notification channels have sent: their cursors over the events and fills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import FillRow, NotificationRow, RiskEventRow
from store.repo._common import dialect_insert, fetch_all, fetch_first

Source = Literal["event", "fill"]


async def notify_cursor(session: AsyncSession, *, channel: str, source: Source) -> int | None:
    """The highest id of ``source`` the channel is done with (None: the channel is new here)."""
    stmt = select(func.max(NotificationRow.source_id)).where(
        NotificationRow.channel == channel,
        NotificationRow.source == source,
        NotificationRow.status != "pending",
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_id(session: AsyncSession, *, source: Source) -> int:
    """The highest row id of the events or the fills (0: none yet)."""
    column = RiskEventRow.id if source == "event" else FillRow.id
    return int((await session.execute(select(func.max(column)))).scalar_one_or_none() or 0)


def _done(channel: str, source: Source, row_id: object) -> Any:
    """A channel is done with the row: sent, refused for good, or where it started."""
    return (
        select(NotificationRow.id)
        .where(
            NotificationRow.channel == channel,
            NotificationRow.source == source,
            NotificationRow.source_id == row_id,
            NotificationRow.status != "pending",
        )
        .exists()
    )


async def notify_start(session: AsyncSession, *, channel: str, source: Source) -> int | None:
    """The id the channel started after (None: it is new here)."""
    stmt = select(NotificationRow.source_id).where(
        NotificationRow.channel == channel,
        NotificationRow.source == source,
        NotificationRow.status == "start",
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def unsent_events(
    session: AsyncSession, *, channel: str, above: int, kinds: Sequence[str], limit: int
) -> list[RiskEventRow]:
    """Events of ``kinds`` with an id above ``above`` the channel is not done with, oldest first."""
    stmt = (
        select(RiskEventRow)
        .where(
            RiskEventRow.id > above,
            RiskEventRow.kind.in_(list(kinds)),
            ~_done(channel, "event", RiskEventRow.id),
        )
        .order_by(RiskEventRow.id)
        .limit(limit)
    )
    return await fetch_all(session, stmt)


async def unsent_fills(session: AsyncSession, *, channel: str, above: int, limit: int) -> list[FillRow]:
    """Fills with an id above ``above`` the channel is not done with, oldest first."""
    stmt = (
        select(FillRow)
        .where(FillRow.id > above, ~_done(channel, "fill", FillRow.id))
        .order_by(FillRow.id)
        .limit(limit)
    )
    return await fetch_all(session, stmt)


async def get_notification(
    session: AsyncSession, *, channel: str, source: Source, source_id: int
) -> NotificationRow | None:
    """One channel's record of one event or fill."""
    stmt = select(NotificationRow).where(
        NotificationRow.channel == channel,
        NotificationRow.source == source,
        NotificationRow.source_id == source_id,
    )
    return await fetch_first(session, stmt)


async def set_notification(
    session: AsyncSession,
    *,
    channel: str,
    source: Source,
    source_id: int,
    status: str,
    attempts: int,
    error: str,
    now: datetime,
) -> None:
    """Record where a channel stands with one event or fill (insert or overwrite)."""
    insert = dialect_insert(session, NotificationRow).values(
        channel=channel,
        source=source,
        source_id=source_id,
        status=status,
        attempts=attempts,
        error=error,
        updated_at=now,
    )
    mutable = ("status", "attempts", "error", "updated_at")
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[NotificationRow.channel, NotificationRow.source, NotificationRow.source_id],
            set_={name: insert.excluded[name] for name in mutable},
        )
    )
