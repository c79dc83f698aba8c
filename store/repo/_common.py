"""Helpers shared by the repository modules."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Base

RowT = TypeVar("RowT", bound=Base)
FRESH = {"populate_existing": True}


def dialect_insert(session: AsyncSession, entity: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """A dialect ``INSERT`` that supports ``ON CONFLICT`` for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def as_text(value: str | Enum) -> str:
    """Plain text of a str or enum value (``Side.BUY`` → ``"buy"``)."""
    return str(value.value) if isinstance(value, Enum) else str(value)


async def fetch_all(session: AsyncSession, stmt: Select[RowT]) -> list[RowT]:
    """Run ``stmt`` and return fresh rows."""
    return list((await session.scalars(stmt, execution_options=FRESH)).all())


async def fetch_first(session: AsyncSession, stmt: Select[RowT]) -> RowT | None:
    """Run ``stmt`` and return its first fresh row, if any."""
    return (await session.scalars(stmt.limit(1), execution_options=FRESH)).first()
