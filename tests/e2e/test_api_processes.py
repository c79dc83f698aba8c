"""`asts api --processes 2`: two API processes on one port, one store, one admin, one secret."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.encryption import TEST_CODEC_ENV
from tests.procs import free_port, kill_group, spawn, wait_http


def test_several_api_processes_serve_one_port_with_one_store(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {
        **TEST_CODEC_ENV,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "ASTS_TASK_QUEUE": f"procs-{os.getpid()}",
        "ASTS_ADMIN_PASSWORD": "two processes password",
    }
    proc = spawn(["api", "--port", str(port), "--processes", "2"], home=home, log_name="api.log", env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc, home / "api.log")
        with httpx.Client(base_url=url, timeout=30) as http:
            r = http.post("/auth/token", data={"username": "admin", "password": "two processes password"})
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            # New connections land on either process: every one accepts the token (one secret:
            # the first process to write it wins, both read it) and sees one admin.
            for _ in range(20):
                with httpx.Client(base_url=url, timeout=30, headers=auth) as fresh:
                    users = fresh.get("/auth/users").json()
                    assert [u["username"] for u in users["data"]] == ["admin"]
            assert (home / "jwt-secret").stat().st_mode & 0o777 == 0o600
        # The launcher and its two API processes (uvicorn's workers), all in the launcher's group.
        group = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True, check=True)
        assert len(group.stdout.split()) >= 3, group.stdout
    finally:
        kill_group(proc)
