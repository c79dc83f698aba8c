"""The production topology on one machine, for the multi-worker tests and ``bench/chaos.py``.

A Temporal dev server stands in for the cluster; the application database is a PostgreSQL server
of the topology's own (a fresh data directory and port, so restarting it disturbs nobody else);
the API and N workers are separate ``asts`` processes sharing one home (the paper venue's state
file, the JWT secret) and one set of payload keys. Every process is the real command a deployment
runs; the topology only starts, kills and restarts them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess  # nosec B404: the topology runs PostgreSQL's own tools, without a shell
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.converter import DataConverter

from worker.codec import EncryptionCodec, encrypted_converter, parse_keys
from worker.launcher import Stack, free_port, port_open

PG_USER = "asts"
PG_DATABASE = "asts"
ADMIN = "admin"
TOOL_TIMEOUT_S = 120


class TopologyError(RuntimeError):
    """A part of the topology could not be started or stopped."""


def _pg_bindir() -> Path:
    """Where initdb and pg_ctl are: Debian's newest /usr/lib/postgresql/N/bin, else beside pg_ctl on
    PATH (resolved: a lone link to pg_ctl does not bring the other tools)."""
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    if versions:
        return max(versions, key=lambda p: int(p.parent.name))
    found = shutil.which("pg_ctl")
    if not found:
        raise TopologyError("PostgreSQL's server tools (initdb, pg_ctl) were not found: install postgresql")
    return Path(found).resolve().parent


class PrivatePostgres:
    """A PostgreSQL server of its own on 127.0.0.1, trusting local connections (tests and benches
    only). Run as root, its tools run as the ``postgres`` user: initdb refuses root."""

    def __init__(self) -> None:
        # Under the system's temporary directory, not a test's: the postgres user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="asts-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._bin = _pg_bindir()
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """The application database's URL."""
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self._bin / tool), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        # A fixed tool of PostgreSQL with arguments the topology builds; no shell.
        done = subprocess.run(  # noqa: S603  # nosec B603
            argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
        if check and done.returncode != 0:
            raise TopologyError(f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
        return done

    def init(self) -> None:
        """Create the cluster and its database, and start it."""
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 300\n"
                # Durability against the machine's crash is not what is tested: a server's crash
                # (an "immediate" stop) keeps what the OS has, so fsync may be off. Commits must
                # stay synchronous: with synchronous_commit off, a crash loses commits already
                # acknowledged (the chaos run found a placed order's record gone that way).
                "fsync = off\nfull_page_writes = off\n"
            )
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, PG_DATABASE)

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clean) or ``immediate`` (as after a crash: recovery at start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "immediate") -> None:
        """Stop (dropping every connection) and start again."""
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        """Stop the server if it runs and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _payload_keys() -> tuple[dict[str, str], str]:
    key_id = f"topology-{secrets.token_hex(4)}"
    return {key_id: base64.b64encode(secrets.token_bytes(32)).decode()}, key_id


@dataclass
class Topology:
    """The API and ``workers`` worker processes on a dev server and the database at ``db_url``."""

    home: Path
    db_url: str
    workers: int = 2
    env: Mapping[str, str] = field(default_factory=dict)  # more settings for every process
    task_queue: str = "asts"
    bars_per_second: float = 2.0
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    stack: Stack = field(init=False)
    codec_keys: dict[str, str] = field(init=False)
    codec_key_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.codec_keys, self.codec_key_id = _payload_keys()
        self.stack = Stack(
            home=self.home,
            api_port=free_port(),
            temporal_port=free_port(),
            ui_port=free_port(),
            bars_per_second=self.bars_per_second,
            say=lambda _line: None,
            extra_env={
                "ASTS_DATABASE_URL": self.db_url,
                "ASTS_TASK_QUEUE": self.task_queue,
                "ASTS_CODEC_KEYS": json.dumps(self.codec_keys),
                "ASTS_CODEC_KEY_ID": self.codec_key_id,
                "ASTS_ADMIN_PASSWORD": self.admin_password,
                "ASTS_CONFIG_DIR": str(self.home / "config"),
                **self.env,
            },
        )

    @property
    def address(self) -> str:
        """The Temporal frontend."""
        return self.stack.address

    @property
    def api_url(self) -> str:
        """The API's base URL."""
        return self.stack.api_url

    @property
    def converter(self) -> DataConverter:
        """The data converter of the topology's processes (its payload keys)."""
        return encrypted_converter(
            EncryptionCodec(parse_keys(self.codec_keys, self.codec_key_id, source="topology"))
        )

    async def client(self) -> Client:
        """A Temporal client with the topology's payload keys."""
        return await Client.connect(self.address, data_converter=self.converter)

    def worker_names(self) -> list[str]:
        """The workers running now."""
        return [c.name for c in self.stack.children if c.name.startswith("worker-")]

    def start(self) -> None:
        """Start the server, the workers and the API, waiting until each is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.stack.start_temporal()
        for i in range(self.workers):
            self.start_worker(f"worker-{i}")
        self.start_api()

    def start_worker(self, name: str) -> None:
        """Start the worker ``name`` (``worker-<n>``); return once it polls its task queues."""
        child = self.stack.spawn(
            name, [sys.executable, "-m", "worker.cli", "worker", "--home", str(self.home)]
        )
        self.stack.wait_ready(
            child, lambda: b"worker ready" in child.log.read_bytes()[child.log_start :], name
        )

    def kill_worker(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill the worker ``name`` (SIGKILL: no graceful shutdown, activities cut off mid-way)."""
        self.stack.kill(name, sig)

    def start_api(self) -> None:
        """Start the API; return once /health answers."""
        argv = [
            sys.executable,
            "-m",
            "worker.cli",
            "api",
            "--home",
            str(self.home),
            "--port",
            str(self.stack.api_port),
        ]
        child = self.stack.spawn("api", argv)
        self.stack.wait_ready(child, self._api_healthy, "API")

    def restart_api(self, sig: int = signal.SIGKILL) -> None:
        """Kill the API and start it again."""
        self.stack.kill("api", sig)
        self.start_api()

    def restart_temporal(self, sig: int = signal.SIGKILL) -> None:
        """Kill the Temporal server and start it again on its database file (workers reconnect)."""
        self.stack.kill("temporal", sig)
        self.stack.start_temporal()

    def _api_healthy(self) -> bool:
        if not port_open("127.0.0.1", self.stack.api_port):
            return False
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def admin(self) -> httpx.AsyncClient:
        """An HTTP client for the API, signed in as the first admin (call ``sign_in`` first)."""
        return httpx.AsyncClient(base_url=self.api_url, timeout=30)

    async def sign_in(self, http: httpx.AsyncClient) -> None:
        """Sign ``http`` in as the admin: every later request carries the token."""
        r = await http.post("/auth/token", data={"username": ADMIN, "password": self.admin_password})
        if r.status_code != 200:
            raise TopologyError(f"the admin's sign-in failed: {r.status_code} {r.text[:300]}")
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after the grace period)."""
        self.stack.stop()
