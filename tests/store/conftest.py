"""Store fixtures: every test runs against SQLite and PostgreSQL.

PostgreSQL cases use the server named by ``ASTS_TEST_DATABASE_URL`` (a fresh database
per test session, tables truncated between tests). Without it they are skipped,
unless ``CI`` is set: then they fail, so CI never silently skips PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from store.models import Base

PG_ENV = "ASTS_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def pg_server_url() -> str:
    """The PostgreSQL server to test against; skip (or fail under CI) when none is configured."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set but CI is: the PostgreSQL store tests must run in CI", pytrace=False)
    pytest.skip(f"PostgreSQL store tests skipped: set {PG_ENV}=postgresql+asyncpg://USER:PW@HOST:5432/postgres")


async def create_pg_database(server_url: str) -> str:
    """Create an empty database with a random name on the server; return its URL."""
    name = f"asts_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(server_url: str, url: str) -> None:
    """Drop the database at ``url``, disconnecting anyone still using it."""
    name = make_url(url).database
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_session_db() -> AsyncIterator[str]:
    """A migrated PostgreSQL database shared by the session's tests, dropped at the end."""
    server = pg_server_url()
    url = await create_pg_database(server)
    try:
        await migrate(url)
        yield url
    finally:
        await drop_pg_database(server, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Path of a migrated SQLite file that each test copies (created lazily, once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    yield path


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
async def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """URL of a migrated database with empty tables, on each backend."""
    if request.param == "sqlite":
        if not sqlite_template.exists():
            await migrate(sqlite_url(sqlite_template))
        path = tmp_path / "asts.db"
        shutil.copyfile(sqlite_template, path)
        return sqlite_url(path)
    url: str = request.getfixturevalue("pg_session_db")
    await _truncate_all(url)
    return url


@pytest_asyncio.fixture(params=BACKENDS)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a database with no tables at all (fresh file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    server = pg_server_url()
    url = await create_pg_database(server)
    try:
        yield url
    finally:
        await drop_pg_database(server, url)


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
