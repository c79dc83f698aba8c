"""`asts backup` and `asts restore`: every row, file and secret comes back exactly, on either backend,
from a snapshot taken while the system writes; bad input is a clear refusal (exit 2), never a traceback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import JSON, Table, Text, cast, null, select
from sqlalchemy.sql.elements import ColumnElement
from typer.testing import CliRunner

from api.auth.service import ADMIN_PASSWORD_FILE
from api.auth.tokens import SECRET_FILE
from exchanges.factory import open_exchange
from store import repo
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from store.models import Base
from store.types import Money, UTCDateTime
from tests.encryption import TEST_CODEC_KEYS, TEST_CODEC_SETTINGS
from tests.pg import create_pg_database, drop_pg_database, pg_server_url
from tests.procs import kill_group, poll, signed_in_client, spawn, wait_http
from tests.store.factories import add_strategy, order_fields
from trading.models import OrderRequest, OrderType, Side
from worker import backup
from worker.backup import BackupError, create_backup, restore_backup
from worker.cli import app
from worker.launcher import dev_server_argv, free_port, port_open
from worker.settings import Settings

PASSPHRASE = "correct horse battery staple"
JWT = "jwt-secret-of-the-backup-tests-only-0123456789"
ADMIN_PASSWORD = "admin-password-of-the-backup-tests"
BIG = Decimal("12345678901234567890.123456789012345678")  # NUMERIC(38, 18): every digit counts
TINY = Decimal("-0.000000000000000001")
AWARE = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
DOC = {"nested": {"ü ✓": [1, 2.5, "x", None, True]}, "big": 12345678901234567890, "$json": "not alone"}
VALID = {
    ("strategies", "status"): "running",
    ("hub_gates", "state"): "active",
    ("approvals", "status"): "pending",
}
ROWS = 3


# ---- sites: a home, a database and the settings of both ------------------------------------


@dataclass
class Site:
    """One installation: its home and database."""

    home: Path
    url: str
    temporal_port: int  # nothing listens there unless a test makes it

    def settings(self, **more: Any) -> Settings:
        return Settings(  # type: ignore[call-arg]
            home=self.home,
            database_url=SecretStr(self.url),
            temporal_address=f"127.0.0.1:{self.temporal_port}",
            **more,
        )

    def env(self) -> dict[str, str | None]:
        """The same settings, for a CLI run."""
        return {
            "ASTS_HOME": str(self.home),
            "ASTS_DATABASE_URL": self.url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "ASTS_BACKUP_PASSPHRASE": PASSPHRASE,
            "ASTS_CODEC_KEYS": None,
            "ASTS_JWT_SECRET": None,
            "NO_COLOR": "1",
        }


NewSite = Callable[[str, str], Awaitable[Site]]


@pytest_asyncio.fixture(loop_scope="session")
async def new_site(tmp_path: Path) -> AsyncIterator[NewSite]:
    """Make sites on SQLite or on a fresh PostgreSQL database (dropped at the end); not migrated."""
    made: list[str] = []

    async def make(backend: str, name: str) -> Site:
        home = tmp_path / name
        if backend == "sqlite":
            url = sqlite_url(home / "asts.db")
        else:
            url = await create_pg_database(pg_server_url())
            made.append(url)
        return Site(home=home, url=url, temporal_port=free_port())

    yield make
    for url in made:
        await drop_pg_database(pg_server_url(), url)


# ---- rows of every table ----------------------------------------------------------------------


def _value(table: Table, column: Any, i: int, rows: dict[str, list[dict[str, Any]]]) -> Any:
    """Row ``i``'s value for ``column``: the awkward cases of its type; row 2 is NULL where allowed."""
    if column.foreign_keys:
        (fk,) = column.foreign_keys
        return rows[fk.column.table.name][i][fk.column.name]
    if (table.name, column.name) in VALID:
        return VALID[(table.name, column.name)]
    kind = column.type
    if i == 2 and column.nullable and not column.primary_key:
        return null() if isinstance(kind, JSON) else None  # SQL NULL (None would be a JSON null)
    if isinstance(kind, JSON):
        return [DOC, JSON.NULL, {"$json": None}][i]  # a document, a JSON null, a one-key look-alike
    if isinstance(kind, Money):
        return [BIG, TINY, Decimal(0)][i]
    if isinstance(kind, UTCDateTime):
        return AWARE + timedelta(days=i)
    python = kind.python_type
    if python is bool:
        return i % 2 == 0
    if python is int:
        return [1, 2**40, 3][i] if column.primary_key or column.name == "source_id" else [7, -3, 0][i]
    if python is float:
        return [0.1, 1e-300, -2.5][i]
    return f"{i}é'\"✓{column.name}"[: kind.length or None]


def sample_rows() -> dict[str, list[dict[str, Any]]]:
    """Three rows for every table of the models, parents before children."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        rows[table.name] = [{c.name: _value(table, c, i, rows) for c in table.columns} for i in range(ROWS)]
    return rows


async def seed(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                await conn.execute(table.insert(), sample_rows()[table.name])
    finally:
        await engine.dispose()


async def read_all(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as the application reads it, and which JSON cells are SQL NULL."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                nulls: list[ColumnElement[Any]] = [
                    cast(c, Text).is_(None) for c in table.columns if isinstance(c.type, JSON)
                ]
                stmt = select(*table.columns, *nulls).order_by(*table.primary_key.columns)
                out[table.name] = [tuple(r) for r in (await conn.execute(stmt)).all()]
    finally:
        await engine.dispose()
    return out


async def paper_state(
    home: Path,
) -> tuple[list[tuple[str, str, Decimal, Decimal | None]], dict[str, Decimal]]:
    venue = open_exchange("paper", home=home)
    try:
        orders = [(o.client_order_id, o.status.value, o.qty, o.price) for o in await venue.orders()]
        return orders, await venue.balance()
    finally:
        await venue.close()


async def make_source(site: Site) -> None:
    """A migrated, full database; a paper venue with a resting order; a JWT secret and admin password."""
    await migrate(site.url)
    await seed(site.url)
    venue = open_exchange("paper", home=site.home)
    try:
        await venue.create_order(
            OrderRequest("bk-1", "MSFT/USD", Side.BUY, OrderType.LIMIT, Decimal("10"), Decimal("1.5"))
        )
    finally:
        await venue.close()
    (site.home / SECRET_FILE).write_text(JWT + "\n")
    (site.home / ADMIN_PASSWORD_FILE).write_text(ADMIN_PASSWORD + "\n")


def every_file(path: Path) -> Iterator[Path]:
    return (p for p in path.rglob("*") if p.is_file())


# ---- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("sqlite", "postgresql"), ("postgresql", "sqlite")],
)
async def test_every_row_file_and_secret_comes_back_exactly(
    source: str, target: str, new_site: NewSite, tmp_path: Path
) -> None:
    src = await new_site(source, "src")
    await make_source(src)
    out = tmp_path / "backup"
    made = await asyncio.to_thread(create_backup, src.settings(**TEST_CODEC_SETTINGS), out, PASSPHRASE)

    m = made.manifest
    assert m.backend == source and m.alembic_revision and m.tables[0].name == "api_keys"
    assert {t.name: t.rows for t in m.tables} == {t.name: ROWS for t in Base.metadata.sorted_tables}
    assert [t.name for t in m.tables] == [t.name for t in Base.metadata.sorted_tables]  # parents first
    expected = "one repeatable read transaction, read only on" if source == "postgresql" else "SQLite"
    assert expected in m.snapshot
    assert m.secrets == {"codec_keys": "ASTS_CODEC_KEYS", "jwt_secret": "file", "admin_password": "file"}
    assert set(m.files) == {"secrets.enc", "paper-exchange.db", *(f"db/{t.name}.jsonl" for t in m.tables)}
    assert (out.stat().st_mode & 0o777, (out / "db").stat().st_mode & 0o777) == (0o700, 0o700)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in every_file(out))
    for name, entry in m.files.items():
        assert (out / name).stat().st_size == entry.size
    orders_line = json.loads((out / "db" / "orders.jsonl").read_text().splitlines()[0])
    assert orders_line["qty"] == str(BIG) and orders_line["created_at"] == "2024-03-01T06:30:00.123456+00:00"

    dst = await new_site(target, "dst")
    restored = await asyncio.to_thread(restore_backup, dst.settings(), out, PASSPHRASE, force=False)
    assert restored.rows == {t.name: ROWS for t in Base.metadata.sorted_tables}

    got, want = await read_all(dst.url), await read_all(src.url)
    assert got == want
    order = got["orders"][0]
    qty, created = order[8], order[16]  # the columns' order in the model
    assert str(qty) == str(BIG) and created == AWARE and created.tzinfo == UTC
    assert got["strategies"][0][4] == DOC  # symbols: the document itself, "$json" key and all
    json_columns = [c.name for c in Base.metadata.tables["backtests"].columns if isinstance(c.type, JSON)]
    sql_null = dict(zip(json_columns, got["backtests"][2][-4:], strict=True))
    assert sql_null == {"request": False, "metrics": True, "trades": True, "equity": True}
    assert got["backtests"][1][3] is None and got["backtests"][1][-4] is False  # a JSON null, not SQL NULL
    assert got["strategies"][2][4] == {"$json": None}

    assert await paper_state(dst.home) == await paper_state(src.home)
    assert (dst.home / SECRET_FILE).read_text().strip() == JWT
    assert (dst.home / ADMIN_PASSWORD_FILE).read_text().strip() == ADMIN_PASSWORD
    keys = json.loads((dst.home / "codec-keys.json").read_text())
    assert keys == {"current": TEST_CODEC_SETTINGS["codec_key_id"], "keys": TEST_CODEC_KEYS}
    for name in ("codec-keys.json", SECRET_FILE, ADMIN_PASSWORD_FILE, "paper-exchange.db"):
        assert (dst.home / name).stat().st_mode & 0o777 == 0o600, name
    assert any("ASTS_CODEC_KEYS" in note for note in restored.notes)

    # The sequences carry on after the restored ids: the next order is not refused as a duplicate.
    engine = make_engine(dst.url)
    try:
        async with make_sessionmaker(engine).begin() as s:
            row = await repo.upsert_order(
                s, **order_fields(strategy_id=str(got["strategies"][0][0]), cycle=9)
            )
        assert row.id == 2**40 + 1
    finally:
        await engine.dispose()


class OrderWriter:
    """Writes strategies with their orders, each strategy and its orders in one transaction."""

    legs = 4

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        self.written = 0
        self.stop = asyncio.Event()

    async def add(self) -> None:
        sid = f"s{self.written:06d}"
        async with self.sessions.begin() as s:
            await add_strategy(s, sid)
            for leg in range(self.legs):
                await repo.upsert_order(s, **order_fields(sid, cycle=1, leg=leg))
        self.written += 1

    async def run(self) -> None:
        while not self.stop.is_set():
            await self.add()
            await asyncio.sleep(0)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_backup_taken_while_orders_are_written_is_one_consistent_snapshot(
    backend: str, new_site: NewSite, tmp_path: Path
) -> None:
    site = await new_site(backend, "busy")
    await migrate(site.url)
    writer = OrderWriter(site.url)
    for _ in range(250):
        await writer.add()
    task = asyncio.create_task(writer.run())
    try:
        await asyncio.sleep(0.05)
        before = writer.written
        out = tmp_path / "backup"
        made = await asyncio.to_thread(create_backup, site.settings(), out, PASSPHRASE)
        during = writer.written - before
    finally:
        writer.stop.set()
        await task
        await writer.engine.dispose()
    assert during > 0, "the writer never wrote while the backup ran"

    counts = {t.name: t.rows for t in made.manifest.tables}
    lines = {
        name: [json.loads(x) for x in (out / "db" / f"{name}.jsonl").read_text().splitlines()]
        for name in counts
    }
    assert counts == {name: len(rows) for name, rows in lines.items()}
    strategies = {r["id"] for r in lines["strategies"]}
    per_strategy: dict[str, int] = {}
    for o in lines["orders"]:
        per_strategy[o["strategy_id"]] = per_strategy.get(o["strategy_id"], 0) + 1
    assert set(per_strategy) == strategies, "an order without its strategy, or a strategy without orders"
    assert set(per_strategy.values()) == {OrderWriter.legs}, "half of a transaction in the snapshot"
    assert 250 <= len(strategies) < writer.written


# ---- refusals, as the CLI gives them ---------------------------------------------------------


@dataclass
class Made:
    """A SQLite installation and its backup, for the CLI tests."""

    src: Site
    out: Path


@pytest.fixture
def made(tmp_path: Path) -> Made:
    src = Site(home=tmp_path / "src", url=sqlite_url(tmp_path / "src" / "asts.db"), temporal_port=free_port())
    asyncio.run(make_source(src))
    with sqlite3.connect(src.home / "temporal.db") as db:  # stands for the dev server's database
        db.execute("CREATE TABLE executions (id TEXT)")
    (src.home / "codec-keys.json").write_text(json.dumps({"current": "test-1", "keys": TEST_CODEC_KEYS}))
    (src.home / "codec-keys.json").chmod(0o600)
    out = tmp_path / "backup"
    run = CliRunner().invoke(app, ["backup", str(out)], env=src.env())
    assert run.exit_code == 0, run.output
    assert f"backup written to {out}" in run.output and "temporal.db" in run.output
    return Made(src=src, out=out)


def target(tmp_path: Path, name: str = "dst") -> Site:
    return Site(home=tmp_path / name, url=sqlite_url(tmp_path / name / "asts.db"), temporal_port=free_port())


def refused(run: Any, *words: str) -> None:
    assert run.exit_code == 2, run.output
    assert isinstance(run.exception, SystemExit) and "Traceback" not in run.output
    for word in words:
        assert word in run.output, run.output


def test_the_secrets_file_holds_no_key_material_in_clear(made: Made) -> None:
    sealed = (made.out / "secrets.enc").read_bytes()
    doc = json.loads(sealed)
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["n"] >= 2**15 and doc["cipher"] == "AES-256-GCM"
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 16
    texts = [JWT, ADMIN_PASSWORD, *TEST_CODEC_KEYS.values()]
    clear = [t.encode() for t in texts] + [base64.b64decode(k) for k in TEST_CODEC_KEYS.values()]
    for path in every_file(made.out):
        data = path.read_bytes()
        assert not [c for c in clear if c in data], f"{path.name} holds a secret in clear"


def test_restore_into_a_fresh_home_then_refuse_the_same_again_without_force(
    made: Made, tmp_path: Path
) -> None:
    dst = target(tmp_path)
    run = CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env())
    assert run.exit_code == 0, run.output
    assert "restored into" in run.output and f"{3 * len(Base.metadata.tables)} rows" in run.output
    assert (dst.home / "temporal.db").stat().st_mode & 0o777 == 0o600
    assert JWT not in run.output and ADMIN_PASSWORD not in run.output

    again = CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env())
    refused(again, "already has", "--force")
    for name in ("temporal.db", "paper-exchange.db", "jwt-secret"):  # the files already there block it
        (dst.home / name).unlink()
    (dst.home / "codec-keys.json").unlink()
    (dst.home / "admin-password").unlink()
    again = CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env())
    refused(again, "already holds data", "3 strategies", "--force")

    forced = CliRunner().invoke(app, ["restore", str(made.out), "--force"], env=dst.env())
    assert forced.exit_code == 0, forced.output
    assert asyncio.run(read_all(dst.url)) == asyncio.run(read_all(made.src.url))


def test_a_wrong_passphrase_is_refused(made: Made, tmp_path: Path) -> None:
    env = target(tmp_path).env() | {"ASTS_BACKUP_PASSPHRASE": "not the passphrase"}
    refused(
        CliRunner().invoke(app, ["restore", str(made.out)], env=env),
        "wrong passphrase or damaged secrets file",
    )
    wrong = tmp_path / "wrong"
    wrong.write_text("also not the passphrase\n")
    run = CliRunner().invoke(app, ["restore", str(made.out), "--passphrase-file", str(wrong)], env=env)
    refused(run, "wrong passphrase or damaged secrets file")


def test_the_passphrase_comes_from_a_file_or_the_environment_never_missing(
    made: Made, tmp_path: Path
) -> None:
    env = target(tmp_path).env() | {"ASTS_BACKUP_PASSPHRASE": None}
    refused(
        CliRunner().invoke(app, ["restore", str(made.out)], env=env), "no passphrase", "--passphrase-file"
    )
    refused(CliRunner().invoke(app, ["backup", str(tmp_path / "b2")], env=env), "no passphrase")
    assert not (tmp_path / "b2").exists()
    given = tmp_path / "passphrase"
    given.write_text(PASSPHRASE + "\n")
    run = CliRunner().invoke(app, ["restore", str(made.out), "--passphrase-file", str(given)], env=env)
    assert run.exit_code == 0, run.output
    refused(
        CliRunner().invoke(
            app, ["restore", str(made.out), "--passphrase-file", str(tmp_path / "nope")], env=env
        ),
        "cannot read the passphrase file",
    )


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("tamper", "db/orders.jsonl does not match its checksum"),
        ("remove", "paper-exchange.db is missing"),
        ("manifest", "manifest.json was altered"),
        ("no manifest", "manifest.json is missing"),
    ],
)
def test_a_damaged_backup_is_refused_naming_the_file(
    made: Made, tmp_path: Path, damage: str, named: str
) -> None:
    if damage == "tamper":
        path = made.out / "db" / "orders.jsonl"
        path.write_text(path.read_text().replace(str(BIG), str(BIG + 1), 1))
    elif damage == "remove":
        (made.out / "paper-exchange.db").unlink()
    elif damage == "manifest":  # a row count changed, every checksum still right: the HMAC catches it
        doc = json.loads((made.out / "manifest.json").read_text())
        doc["tables"][0]["rows"] += 1
        (made.out / "manifest.json").write_text(json.dumps(doc))
    else:
        (made.out / "manifest.json").unlink()
    dst = target(tmp_path)
    refused(CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env()), named)
    assert not (dst.home / "paper-exchange.db").exists()


def test_a_backup_goes_only_into_a_new_or_empty_directory_and_a_failed_one_leaves_nothing(
    made: Made, tmp_path: Path
) -> None:
    refused(CliRunner().invoke(app, ["backup", str(made.out)], env=made.src.env()), "not an empty directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert CliRunner().invoke(app, ["backup", str(empty)], env=made.src.env()).exit_code == 0
    assert (empty / "manifest.json").exists() and empty.stat().st_mode & 0o777 == 0o700

    blank = Site(
        home=tmp_path / "blank", url=sqlite_url(tmp_path / "blank" / "asts.db"), temporal_port=free_port()
    )
    failed = tmp_path / "failed"
    refused(CliRunner().invoke(app, ["backup", str(failed)], env=blank.env()), "no ASTS schema")
    assert not failed.exists() and not list(tmp_path.glob(".failed.partial-*"))


def test_restore_refuses_while_the_temporal_port_listens(made: Made, tmp_path: Path) -> None:
    dst = target(tmp_path)
    with socket.socket() as server:
        server.bind(("127.0.0.1", dst.temporal_port))
        server.listen()
        run = CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env())
    refused(run, f"a Temporal server is listening on 127.0.0.1:{dst.temporal_port}", "stop the stack")
    assert not (dst.home / "temporal.db").exists() and not (dst.home / "asts.db").exists()


def test_restore_refuses_while_a_temporal_server_has_the_file_open(made: Made, tmp_path: Path) -> None:
    dst = target(tmp_path)
    dst.home.mkdir()
    port = free_port()  # not the configured one: the open file gives it away
    server = subprocess.Popen(
        dev_server_argv(dst.home / "temporal.db", port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert server.poll() is None and time.monotonic() < deadline, "the dev server did not start"
            time.sleep(0.1)
        run = CliRunner().invoke(app, ["restore", str(made.out), "--force"], env=dst.env())
        refused(run, "temporal.db is in use", f"process {server.pid} has it open")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_read_passphrase_refuses_short_ones(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="at least 8 characters"):
        backup.read_passphrase(None, {"ASTS_BACKUP_PASSPHRASE": "short"})
    assert backup.read_passphrase(None, {"ASTS_BACKUP_PASSPHRASE": PASSPHRASE}) == PASSPHRASE
    assert backup.JWT_SECRET_FILE == SECRET_FILE and backup.ADMIN_PASSWORD_FILE == ADMIN_PASSWORD_FILE


def test_a_restore_that_fails_half_way_leaves_the_target_empty(made: Made, tmp_path: Path) -> None:
    # The last table loaded gets a duplicate row; checksums and HMAC made right, so only the
    # database can refuse it, after every other table was inserted.
    last = Base.metadata.sorted_tables[-1].name
    path = made.out / "db" / f"{last}.jsonl"
    path.write_text(path.read_text() + path.read_text().splitlines()[0] + "\n")
    manifest = json.loads((made.out / "manifest.json").read_text())
    next(t for t in manifest["tables"] if t["name"] == last)["rows"] += 1
    manifest["files"][f"db/{last}.jsonl"] = backup._digest(path).model_dump()
    _, mac_key = backup._unseal((made.out / "secrets.enc").read_bytes(), PASSPHRASE)
    manifest["mac"] = backup._mac(manifest, mac_key)
    (made.out / "manifest.json").write_text(json.dumps(manifest))

    dst = target(tmp_path)
    refused(CliRunner().invoke(app, ["restore", str(made.out)], env=dst.env()), "failed", "UNIQUE")
    assert all(not rows for rows in asyncio.run(read_all(dst.url)).values())
    assert [p.name for p in dst.home.iterdir()] == ["asts.db"]  # no venue, Temporal or secret file


# ---- the whole stack ------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m worker.cli ARGS`` as a user runs it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "TEMPORAL_"))}
    full.update(NO_COLOR="1", COLUMNS="200", ASTS_BACKUP_PASSPHRASE=PASSPHRASE, **env)
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args], env=full, capture_output=True, text=True, timeout=120
    )


def _up(home: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    api_port, t_port, ui_port = free_port(), free_port(), free_port()
    args = ["up", "--api-port", str(api_port), "--temporal-port", str(t_port), "--ui-port", str(ui_port)]
    proc = spawn([*args, "--bars-per-second", "10"], home=home, log_name="up.log")
    api = f"http://127.0.0.1:{api_port}"
    wait_http(f"{api}/health", proc, home / "up.log")
    return proc, api, t_port


def _stop(proc: subprocess.Popen[bytes], home: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0, (home / "up.log").read_text()[-3000:]


def test_a_running_stack_backed_up_and_restored_into_a_fresh_home_keeps_trading(tmp_path: Path) -> None:
    home, fresh, out = tmp_path / "home", tmp_path / "fresh", tmp_path / "backup"
    proc, api, _ = _up(home)
    try:
        with signed_in_client(api, home) as http:
            r = http.post(
                "/strategies",
                json={
                    "name": "kept",
                    "type": "sma_cross",
                    "symbols": ["MSFT/USD"],
                    "interval": "300ms",
                    "params": {"fast": 2, "slow": 5, "size": "5"},
                },
            )
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            poll(lambda: http.get(f"/strategies/{sid}").json()["live"]["cycles_done"] >= 3, "three cycles")
            made = _cli("backup", str(out), "--home", str(home), env={})  # while it trades
            assert made.returncode == 0, made.stdout + made.stderr
            assert "temporal.db" in made.stdout and "paper-exchange.db" in made.stdout
            poll(lambda: http.get(f"/strategies/{sid}").json()["live"]["cycles_done"] >= 5, "more cycles")
        _stop(proc, home)
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)

    pnl = [json.loads(x) for x in (out / "db" / "pnl_snapshots.jsonl").read_text().splitlines()]
    backed_up = max(p["cycle"] for p in pnl if p["strategy_id"] == sid)
    restored = _cli(
        "restore", str(out), "--home", str(fresh), env={"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert (fresh / "codec-keys.json").read_bytes() == (home / "codec-keys.json").read_bytes()

    proc, api, _ = _up(fresh)
    try:
        with signed_in_client(api, fresh) as http:  # the restored admin password signs the CLI in
            assert http.get(f"/strategies/{sid}").json()["status"] == "running"
            # Its workflow carries on from the restored history (a new one would count from 0).
            live = poll(lambda: http.get(f"/strategies/{sid}").json()["live"], "the strategy's workflow")
            assert live["cycles_done"] >= 3
            poll(
                lambda: http.get(f"/strategies/{sid}").json()["live"]["cycles_done"] > backed_up + 3,
                "the restored strategy to keep cycling",
            )
            newer = http.get("/pnl", params={"strategy_id": sid, "limit": 1}).json()["data"][0]
            assert newer["cycle"] > backed_up
        _stop(proc, fresh)
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)
