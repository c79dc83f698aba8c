"""Engines, sessions and schema migration for the application database."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def sqlite_url(path: Path) -> str:
    """The aiosqlite URL of a database file (made absolute)."""
    return f"sqlite+aiosqlite:///{path.expanduser().resolve()}"


def async_url(url: str) -> str:
    """``url`` with the async driver filled in when it names none (``postgresql://`` → asyncpg)."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        return url
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """``url`` fit to show: its password masked (a URL that does not parse is not shown at all)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # any parse failure: show nothing of it
        return "<a database URL that does not parse>"


def scrub(text: str, url: str) -> str:
    """``text`` (an error message) with ``url`` and its password masked wherever they appear."""
    text = text.replace(url, display_url(url))
    try:
        password = make_url(url).password
    except Exception:  # unparseable: the URL itself was masked above
        return text
    return text.replace(str(password), "***") if password else text


def _json_default(value: Any) -> Any:
    """Encode what JSON lacks: Decimal as its exact string, datetimes ISO, enums by value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_dumps(value: Any) -> str:
    """Serialise a JSON column value."""
    return json.dumps(value, default=_json_default)


WAL_ATTEMPTS = 300


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: wait for locks, WAL so readers never block the writer, enforce FKs."""
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # A journal-mode change that meets another opener's lock fails at once, without
        # waiting on the busy timeout: try again for a few seconds.
        for attempt in range(WAL_ATTEMPTS):
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == WAL_ATTEMPTS - 1:
                    raise
                time.sleep(0.01)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` (SQLite via aiosqlite, PostgreSQL via asyncpg).

    SQLite connections get WAL, a 30 s busy timeout and foreign keys, so the API and
    the worker can share one file; the file's directory is created if missing.
    """
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, json_serializer=_json_dumps)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, json_serializer=_json_dumps, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose rows stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An Alembic config built in code: the packaged migrations, ``url`` passed as an attribute."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["url"] = url
    return config


async def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema; a no-op when already there.

    Safe when several processes start at once: the migration holds a database-level
    lock (PostgreSQL advisory lock, SQLite ``BEGIN IMMEDIATE``) and re-reads the version
    under it, so the later caller finds the schema at head.
    """
    config = alembic_config(async_url(url))
    # env.py runs its own event loop, so the upgrade runs in a worker thread.
    await asyncio.to_thread(command.upgrade, config, "head")
    logger.info("database schema at head", extra={"backend": make_url(url).get_backend_name()})


async def ping(session: AsyncSession) -> None:
    """Raise unless the database answers a trivial query."""
    await session.execute(text("SELECT 1"))
