"""Alembic environment: async engines, URL from the Config attributes (or ``ASTS_DATABASE_URL``).

Two processes may migrate at once: the upgrade runs in one transaction that first
takes a database-wide lock (a PostgreSQL advisory lock; on SQLite ``BEGIN
IMMEDIATE``), and Alembic reads the current version only after that, so the second
process finds the schema at head and does nothing.
"""

from __future__ import annotations

import asyncio
import logging.config
import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import async_url, make_engine
from store.models import Base
from store.types import Money, UTCDateTime

MIGRATION_LOCK_KEY = 0x41535453_4D494752  # "ASTSMIGR"

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL to migrate: Config attribute ``url``, else ``ASTS_DATABASE_URL``, else ``sqlalchemy.url``."""
    url = (
        config.attributes.get("url")
        or os.environ.get("ASTS_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass one to store.db.migrate() or set ASTS_DATABASE_URL")
    return async_url(str(url))


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate our column types as plain SQLAlchemy types, so migrations never import store."""
    if type_ == "type" and isinstance(obj, Money):
        return 'sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")'
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    """Point Alembic at ``connection`` with the options autogenerate and upgrade share."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )


def do_run_migrations(connection: Connection) -> None:
    """Run the upgrade on ``connection`` (already in a transaction) under the migration lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _begin_immediate_on_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite transactions real (transactional DDL) and take the write lock up front."""

    def no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    def begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "connect", no_driver_begin)
    event.listen(engine.sync_engine, "begin", begin_immediate)


async def run_async_migrations(url: str) -> None:
    """Open an async engine and run the upgrade through ``run_sync`` in one transaction."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        _begin_immediate_on_sqlite(engine)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Migrate a given connection (programmatic use) or the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    asyncio.run(run_async_migrations(database_url()))


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
