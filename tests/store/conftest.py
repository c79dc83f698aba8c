"""Store fixtures: every test runs against SQLite and PostgreSQL.

PostgreSQL cases use the server named by ``ASTS_TEST_DATABASE_URL``: one migrated
database per test session (random name, tables truncated before each test, dropped
at the end), plus a fresh database for each test that needs an empty one. Without it they are skipped,
unless ``CI`` is set: then they fail, so CI never silently skips PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from store.models import Base
from tests.pg import create_pg_database, drop_pg_database, pg_server_url

BACKENDS = ["sqlite", "postgresql"]


class PgDatabases:
    """Databases this session created on the PostgreSQL test server; all dropped at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self._shared: str | None = None

    async def fresh(self) -> str:
        """A new empty database."""
        url = await create_pg_database(pg_server_url())
        self.created.append(url)
        return url

    async def shared(self) -> str:
        """The session's migrated database (created and migrated on first use)."""
        if self._shared is None:
            url = await self.fresh()
            await migrate(url)
            self._shared = url
        return self._shared

    async def drop(self, url: str) -> None:
        """Drop one database now."""
        await drop_pg_database(pg_server_url(), url)
        self.created.remove(url)

    async def drop_all(self) -> None:
        """Drop every database still there."""
        for url in list(self.created):
            await self.drop(url)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """The session's PostgreSQL databases (nothing is created until a PostgreSQL case runs)."""
    databases = PgDatabases()
    yield databases
    if databases.created:
        asyncio.run(databases.drop_all())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(migrate(sqlite_url(path)))
    return path


async def _truncate_all(url: str) -> None:
    """Empty every application table and reset identities."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(params=BACKENDS)
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_databases: PgDatabases
) -> str:
    """URL of a migrated database with empty tables, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "asts.db"
        shutil.copyfile(sqlite_template, path)
        return sqlite_url(path)
    url = await pg_databases.shared()
    await _truncate_all(url)
    return url


@pytest_asyncio.fixture(params=BACKENDS)
async def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> AsyncIterator[str]:
    """URL of a database with no tables at all (fresh file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    url = await pg_databases.fresh()
    yield url
    await pg_databases.drop(url)


@pytest_asyncio.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database."""
    eng = make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory the application would use."""
    return make_sessionmaker(engine)


@pytest_asyncio.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session, rolled back at the end unless the test committed."""
    async with sessions() as s:
        yield s
