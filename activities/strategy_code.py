"""The strategy type a strategy runs: the loaded one, or its pinned code version from the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from activities.deps import Deps
from asts.registry import StrategyType, current
from store import repo


async def strategy_type(deps: Deps, name: str, version: str = "") -> StrategyType:
    """The type ``name`` at ``version`` ("": whatever is loaded); an older version is rebuilt from
    the source recorded when its strategy started, so a changed file does not change a running strategy."""
    loaded = current().get(name)
    if not version or version == loaded.version:
        return loaded
    async with deps.sessions() as s:
        return await type_at(s, name, version)


async def type_at(s: AsyncSession, name: str, version: str) -> StrategyType:
    """:func:`strategy_type` within a session of the caller's."""
    reg = current()
    loaded = reg.get(name)
    if not version or version == loaded.version:
        return loaded
    row = await repo.get_strategy_code(s, version=version)
    return reg.pinned(name, version, row.code if row is not None else None)


async def record_code(s: AsyncSession, t: StrategyType, *, now: datetime) -> None:
    """Keep the source of the version ``t`` is at (once per version)."""
    await repo.record_strategy_code(
        s, version=t.version, name=t.name, source=t.source, origin=t.origin, code=t.code, now=now
    )
