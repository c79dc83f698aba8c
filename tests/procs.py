"""Helpers for tests that run ASTS processes the way a user does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
from temporalio.client import Client

from tests.encryption import TEST_CODEC_ENV
from worker.launcher import free_port

T = TypeVar("T")

__all__ = ["free_port", "kill_group", "signed_in_client", "spawn", "until", "wait_http", "worker_env"]


async def until(
    probe: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 90, log: Path | None = None
) -> T:
    """Poll ``probe`` until it returns something (not None); fail naming ``what`` after ``timeout``
    seconds, with the end of the process log ``log`` when there is one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    tail = f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None and log.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")


def worker_env(client: Client, task_queue: str, db_url: str, **more: str) -> dict[str, str]:
    """The environment of a worker process that serves ``task_queue`` on ``client``'s Temporal and
    the store at ``db_url``, with the tests' payload keys, and ``more`` settings."""
    return {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "ASTS_TASK_QUEUE": task_queue,
        **TEST_CODEC_ENV,  # the payload keys of the tests' clients
        "ASTS_DATABASE_URL": db_url,
        **more,
    }


def spawn(
    args: list[str], *, home: Path, log_name: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Run ``python -m worker.cli ARGS`` in its own process group, logging to ``home/LOG_NAME``."""
    full_env = dict(os.environ)
    for name in ("TEMPORAL_ADDRESS", "ASTS_ADMIN_PASSWORD", "ASTS_API_TOKEN"):
        full_env.pop(name, None)
    full_env["ASTS_CONFIG_DIR"] = str(home / "config")  # the CLI's credentials stay in the test's home
    full_env.update(env or {})
    full_env["ASTS_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    with (home / log_name).open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "worker.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group of ``proc`` and reap it."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    """Wait until GET ``url`` answers 200, failing early with the log if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"process exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def poll(fn: Callable[[], T], what: str, timeout: float = 90.0) -> T:
    """Call ``fn`` until it returns something truthy and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = fn()
        if out:
            return out
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def signed_in_client(api: str, home: Path, timeout: float = 60.0) -> httpx.Client:
    """An HTTP client for ``api`` with the token `asts up` stored when it signed the CLI in as admin
    (waiting for it: the sign-in follows the API's first healthy answer)."""
    path = home / "config" / "credentials.json"

    def token() -> str | None:
        try:
            entry = json.loads(path.read_text()).get(api)
        except (OSError, ValueError):
            return None
        return str(entry["access_token"]) if entry else None

    found = poll(token, f"the CLI's sign-in to {api}", timeout=timeout)
    return httpx.Client(base_url=api, timeout=30, headers={"Authorization": f"Bearer {found}"})
