"""The database of a backup: how each column's values are written, and the dump and load of every
table in one transaction."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Table,
    Text,
    cast,
    delete,
    event,
    func,
    inspect,
    literal,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import alembic_config, async_url, display_url, make_engine, scrub
from store.models import Base
from worker.backup.files import _private
from worker.backup.manifest import BackupError, Manifest, TableEntry, _b64

BATCH = 500
JSON_WRAP = "$json"
Kind = Literal["json", "decimal", "datetime", "date", "bytes", "plain"]


_KINDS: tuple[tuple[Kind, type], ...] = (
    ("decimal", Decimal),
    ("datetime", datetime),  # before date: a datetime is a date
    ("date", date),
    ("bytes", bytes),
)


def _kind(column: Column[Any]) -> Kind:
    """How a column's values are written: JSON document, decimal string, ISO time, base64, or as they are."""
    if isinstance(column.type, JSON):
        return "json"
    try:
        py = column.type.python_type
    except NotImplementedError:
        return "plain"
    return next((kind for kind, cls in _KINDS if issubclass(py, cls)), "plain")


def _encode(kind: Kind, value: Any) -> Any:
    if value is None or kind == "plain":
        return value
    if kind == "json":  # read as the document's text, so SQL NULL and a null document differ
        doc = json.loads(value)
        wrap = doc is None or (isinstance(doc, dict) and list(doc) == [JSON_WRAP])
        return {JSON_WRAP: doc} if wrap else doc
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return _b64(value)
    return value.isoformat()


def _decode(kind: Kind, value: Any) -> Any:
    if value is None:
        return null() if kind == "json" else None  # SQL NULL, not a JSON null document
    if kind == "json":
        doc = value[JSON_WRAP] if isinstance(value, dict) and list(value) == [JSON_WRAP] else value
        return JSON.NULL if doc is None else doc
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


def _tables(conn: Connection) -> list[Table]:
    """The application's tables that exist in the database, in foreign-key order."""
    present = set(inspect(conn).get_table_names())
    return [t for t in Base.metadata.sorted_tables if t.name in present]


def _engine(url: str, *, write: bool) -> AsyncEngine:
    """An engine whose SQLite transactions are real ones (BEGIN, or BEGIN IMMEDIATE to write)."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"

        def driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        def begin_now(connection: Connection) -> None:
            connection.exec_driver_sql(begin)

        event.listen(engine.sync_engine, "connect", driver_autocommit)
        event.listen(engine.sync_engine, "begin", begin_now)
    return engine


def _dump(conn: Connection, out: Path) -> tuple[str, str, list[TableEntry]]:
    """Write every table to ``out/db`` inside the caller's snapshot transaction; return the
    revision, what the snapshot was, and the tables written."""
    revision = MigrationContext.configure(conn).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config("unused")).get_current_head()
    if revision is None:
        raise BackupError("the database has no ASTS schema (never migrated): nothing to back up")
    if revision != head:
        raise BackupError(
            f"the database is at schema revision {revision}, this ASTS at {head}: "
            "back it up with the ASTS that runs it, or start this one once to migrate it"
        )
    if conn.dialect.name == "postgresql":
        level = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
        read_only = conn.exec_driver_sql("SHOW transaction_read_only").scalar_one()
        snapshot = f"one {level} transaction, read only {read_only}"
    else:
        snapshot = "one SQLite read transaction"
    tables = []
    for table in _tables(conn):
        kinds = {c.name: _kind(c) for c in table.columns}
        cols = [cast(c, Text).label(c.name) if kinds[c.name] == "json" else c for c in table.columns]
        stmt = select(*cols).order_by(*table.primary_key.columns)
        rows = 0
        with _private(out / "db" / f"{table.name}.jsonl") as f:
            for row in conn.execute(stmt, execution_options={"yield_per": 1000}).mappings():
                f.write(json.dumps({k: _encode(kinds[k], v) for k, v in row.items()}) + "\n")
                rows += 1
        tables.append(TableEntry(name=table.name, rows=rows, columns=list(kinds)))
    return revision, snapshot, tables


async def _read_database(url: str, out: Path) -> tuple[str, str, list[TableEntry]]:
    engine = _engine(url, write=False)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with conn.begin():
                return await conn.run_sync(_dump, out)
    except (SQLAlchemyError, OSError) as e:
        if isinstance(e, OSError) and e.filename:  # a file of the backup, not the database
            raise
        raise BackupError(f"cannot read the database {display_url(url)}: {_reason(e, url)}", code=1) from None
    finally:
        await engine.dispose()


def _reason(e: Exception, url: str) -> str:
    """A database error's own message (without the statement and its values), the password masked."""
    return scrub(str(getattr(e, "orig", None) or e), url)


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables(conn)}


def _refuse_data(counts: Mapping[str, int]) -> None:
    first = sorted(counts, key=lambda name: name != "strategies")  # what the user thinks of first
    held = [f"{counts[name]} {name}" for name in first if counts[name]]
    if held:
        raise BackupError(
            f"the target database already holds data ({', '.join(held[:6])}"
            f"{', …' if len(held) > 6 else ''}): restore into an empty one, or pass --force to replace it"
        )


def _rows(path: Path, entry: TableEntry, table: Table) -> Iterator[dict[str, Any]]:
    kinds = {c.name: _kind(c) for c in table.columns}
    unknown = set(entry.columns) - set(kinds)
    if unknown:
        raise BackupError(
            f"db/{table.name}.jsonl: columns this ASTS does not know: {', '.join(sorted(unknown))}"
        )
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or set(row) != set(entry.columns):
                    raise ValueError("not a row of the table's columns")
                yield {k: _decode(kinds[k], v) for k, v in row.items()}
            except (ValueError, TypeError, InvalidOperation, binascii.Error) as e:
                raise BackupError(f"db/{table.name}.jsonl line {number}: {e}") from None


def _load(conn: Connection, src: Path, manifest: Manifest, force: bool) -> dict[str, int]:
    """Insert every row of the backup in the caller's transaction (emptying the tables first with
    ``force``); reset PostgreSQL's sequences."""
    entries = {t.name: t for t in manifest.tables}
    tables = _tables(conn)
    missing = set(entries) - {t.name for t in tables}
    if missing:
        raise BackupError(f"tables this ASTS does not know at that revision: {', '.join(sorted(missing))}")
    if force:
        for table in reversed(tables):
            conn.execute(delete(table))
    else:
        _refuse_data(_counts(conn))
    loaded: dict[str, int] = {}
    for table in (t for t in tables if t.name in entries):
        entry, batch, n = entries[table.name], [], 0
        for row in _rows(src / "db" / f"{table.name}.jsonl", entry, table):
            batch.append(row)
            n += 1
            if len(batch) == BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
        if n != entry.rows:
            raise BackupError(f"db/{table.name}.jsonl has {n} rows, manifest.json says {entry.rows}")
        loaded[table.name] = n
    if conn.dialect.name == "postgresql":
        for table in tables:
            (pk, *more) = table.primary_key.columns
            if more or _kind(pk) != "plain" or pk.type.python_type is not int:
                continue
            seq = conn.execute(select(func.pg_get_serial_sequence(table.name, pk.name))).scalar()
            if seq:  # the next id after the highest restored one
                last = select(func.coalesce(func.max(pk), 0)).scalar_subquery()
                conn.execute(select(func.setval(cast(literal(seq), REGCLASS), last + 1, False)))
    return loaded


async def _write_database(url: str, src: Path, manifest: Manifest, force: bool) -> dict[str, int]:
    """Bring the target to the backup's revision and load it, all or nothing."""
    script = ScriptDirectory.from_config(alembic_config("unused"))
    order = [r.revision for r in reversed(list(script.walk_revisions()))]
    if manifest.alembic_revision not in order:
        raise BackupError(
            f"the backup's schema revision {manifest.alembic_revision} is unknown to this ASTS: "
            "restore it with the version that made it (or a newer one)"
        )
    engine = _engine(url, write=True)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
            counts = await conn.run_sync(_counts)
        if current is not None and current not in order:
            raise BackupError(f"the target database is at schema revision {current}, unknown to this ASTS")
        if current is not None and order.index(current) > order.index(manifest.alembic_revision):
            raise BackupError(
                f"the target database is at schema revision {current}, newer than the backup's "
                f"{manifest.alembic_revision}: restore into an empty database"
            )
        if not force:
            _refuse_data(counts)  # before migrating: a refused restore changes nothing
        config = alembic_config(async_url(url))
        await asyncio.to_thread(command.upgrade, config, manifest.alembic_revision)
        async with engine.begin() as conn:
            return await conn.run_sync(_load, src, manifest, force)
    except (SQLAlchemyError, OSError) as e:
        if isinstance(e, OSError) and e.filename:  # a file of the backup, not the database
            raise
        # Rows the target refuses are the backup's fault (2); anything else, the database's (1).
        code = 2 if isinstance(e, IntegrityError | DataError) else 1
        raise BackupError(f"restoring into {display_url(url)} failed: {_reason(e, url)}", code=code) from None
    finally:
        await engine.dispose()
