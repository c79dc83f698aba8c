"""The PostgreSQL server tests run against (``ASTS_TEST_DATABASE_URL``), and throwaway databases on it."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

PG_ENV = "ASTS_TEST_DATABASE_URL"


def pg_server_url() -> str:
    """The PostgreSQL server to test against; skip (or fail under CI) when none is configured."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{PG_ENV} is not set but CI is: PostgreSQL store tests must run in CI", pytrace=False)
    pytest.skip(
        f"PostgreSQL store tests skipped: set {PG_ENV}=postgresql+asyncpg://USER:PW@HOST:5432/postgres"
    )


async def _admin(server_url: str, sql: str) -> None:
    """Run one statement on the server outside a transaction (CREATE/DROP DATABASE need that)."""
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await admin.dispose()


async def create_pg_database(server_url: str) -> str:
    """Create an empty database with a random name on the server; return its URL."""
    name = f"asts_test_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(server_url: str, url: str) -> None:
    """Drop the database at ``url``, disconnecting anyone still using it."""
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
