"""The schema comes only from Alembic, matches the models, and migrating is safe to repeat and race."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from store import repo
from store.db import MIGRATIONS_DIR, alembic_config, make_engine, make_sessionmaker, migrate
from store.models import Base
from tests.store.factories import add_strategy

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "strategies",
    "strategy_code",
    "orders",
    "fills",
    "positions",
    "held_exits",
    "decisions",
    "llm_calls",
    "news_items",
    "news_symbols",
    "risk_events",
    "pnl_snapshots",
    "hub_gates",
    "approvals",
    "backtests",
    "optimizations",
    "candles",
    "users",
    "auth_sessions",
    "api_keys",
    "login_failures",
    "notifications",
}


def head() -> str:
    """The newest revision in the packaged migrations."""
    revision = ScriptDirectory.from_config(alembic_config("unused")).get_current_head()
    assert revision is not None
    return revision


def _diffs(connection: Connection) -> list[object]:
    """Differences between the live schema and the models, as Alembic autogenerate sees them."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def schema_diffs(url: str) -> list[object]:
    """``_diffs`` for the database at ``url``."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diffs)
    finally:
        await engine.dispose()


async def version_and_tables(url: str) -> tuple[list[str], set[str]]:
    """Rows of alembic_version and the table names present."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            versions = list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return versions, tables


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python process that can import the repo's packages."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


async def test_migration_matches_models(empty_db_url: str) -> None:
    assert await schema_diffs(empty_db_url), "the comparison must see an empty database as different"
    await migrate(empty_db_url)
    assert await schema_diffs(empty_db_url) == []


async def test_migrate_twice_is_a_no_op(empty_db_url: str) -> None:
    await migrate(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        async with make_sessionmaker(engine).begin() as s:
            await add_strategy(s, "keepme")
        await migrate(empty_db_url)
        async with make_sessionmaker(engine)() as s:
            assert [row.id for row in await repo.list_strategies(s)] == ["keepme"]
    finally:
        await engine.dispose()
    versions, tables = await version_and_tables(empty_db_url)
    assert versions == [head()]
    assert tables == TABLES | {"alembic_version"}


async def test_two_processes_migrating_at_once_both_succeed(empty_db_url: str) -> None:
    code = "import asyncio, sys; from store.db import migrate; asyncio.run(migrate(sys.argv[1]))"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            empty_db_url,
            env=child_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(p.communicate() for p in procs))
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
    assert await version_and_tables(empty_db_url) == ([head()], TABLES | {"alembic_version"})


async def test_developer_cli_uses_repo_alembic_ini_and_env_url(empty_db_url: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=REPO_ROOT,
        env=child_env(ASTS_DATABASE_URL=empty_db_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert await version_and_tables(empty_db_url) == ([head()], TABLES | {"alembic_version"})


def test_migrations_ship_inside_the_store_package() -> None:
    assert MIGRATIONS_DIR == REPO_ROOT / "store" / "migrations"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert head() == "0013"
