"""Strategy code versions: the source of each version that has traded, and the version a strategy runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import StrategyCodeRow, StrategyRow
from store.repo._common import dialect_insert


async def record_strategy_code(
    session: AsyncSession, *, version: str, name: str, source: str, origin: str, code: str, now: datetime
) -> None:
    """Keep the source of ``version`` (once: a version's source never changes)."""
    stmt = (
        dialect_insert(session, StrategyCodeRow)
        .values(version=version, name=name, source=source, origin=origin, code=code, created_at=now)
        .on_conflict_do_nothing(index_elements=["version"])
    )
    await session.execute(stmt)


async def get_strategy_code(session: AsyncSession, *, version: str) -> StrategyCodeRow | None:
    """The recorded source of ``version``, or None."""
    return await session.get(StrategyCodeRow, version, populate_existing=True)


async def set_strategy_code_version(
    session: AsyncSession, *, strategy_id: str, version: str, now: datetime
) -> bool:
    """Record the version a strategy now runs; False if there is no such strategy."""
    stmt = (
        update(StrategyRow)
        .where(StrategyRow.id == strategy_id)
        .values(code_version=version, updated_at=now)
        .returning(StrategyRow.id)
    )
    matched = (await session.execute(stmt, execution_options={"synchronize_session": False})).first()
    return matched is not None
