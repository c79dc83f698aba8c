"""Engines, sessions and URLs: SQLite pragmas, foreign keys, ping, JSON with Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store import repo
from store.db import async_url, make_engine, make_sessionmaker, ping, sqlite_url
from tests.store.factories import T0, add_strategy, order_fields


def test_sqlite_url_is_absolute_aiosqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_url(Path("data/asts.db")) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/data/asts.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+asyncpg://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
    ],
)
def test_async_url_fills_in_the_async_driver(given: str, expected: str) -> None:
    assert async_url(given) == expected


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "sub" / "dir" / "a.db"))
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()
    assert (tmp_path / "sub" / "dir" / "a.db").exists()


async def test_ping_answers_and_sessions_keep_rows_after_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        await ping(s)
        row = await add_strategy(s)
        await s.commit()
    assert row.name == "test"  # readable after commit: expire_on_commit=False


async def test_ping_fails_when_the_database_is_unreachable() -> None:
    engine = make_engine("postgresql+asyncpg://nobody:wrong@127.0.0.1:1/none")
    try:
        async with make_sessionmaker(engine)() as s:
            with pytest.raises(OSError):
                await ping(s)
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(session: AsyncSession) -> None:
    with pytest.raises(IntegrityError):
        await repo.upsert_order(session, **order_fields(strategy_id="nosuch"))


async def test_json_columns_accept_decimal_datetime_and_enums(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    data = {"limit": Decimal("0.100"), "at": datetime(2024, 1, 2, tzinfo=UTC), "list": [1, "a"]}
    async with sessions.begin() as s:
        assert await repo.record_event(s, event_key="k1", kind="halt", reason="x", now=T0, data=data)
    async with sessions() as s:
        (event,) = await repo.list_events(s)
    assert event.data == {"limit": "0.100", "at": "2024-01-02T00:00:00+00:00", "list": [1, "a"]}
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM risk_events"))).scalar() == 1
