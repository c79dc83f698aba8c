"""DataSpider as a user runs it: `asts up` creates the schedule, news appears in the API and the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from tests.procs import free_port, kill_group, poll, signed_in_client, spawn, wait_http
from workflows.options import NEWS_SCHEDULE_ID

ROOT = Path(__file__).resolve().parents[2]


def asts(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "TEMPORAL_"))}
    env.update(NO_COLOR="1", COLUMNS="250")
    if home is not None:  # the stack's home: its payload key, and the CLI's sign-in by `asts up`
        env["ASTS_HOME"] = str(home)
        env["ASTS_CONFIG_DIR"] = str(home / "config")
    cmd = [sys.executable, "-m", "worker.cli", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False)


async def schedule_runs(address: str) -> int:
    client = await Client.connect(address)
    return (await client.get_schedule_handle(NEWS_SCHEDULE_ID).describe()).info.num_actions


def test_asts_up_ingests_the_sample_news_on_a_schedule(tmp_path: Path) -> None:
    home = tmp_path / "home"
    api_port, t_port, ui_port = free_port(), free_port(), free_port()
    args = ["up", "--api-port", str(api_port), "--temporal-port", str(t_port), "--ui-port", str(ui_port)]
    proc = spawn(args, home=home, log_name="up.log", env={"ASTS_NEWS_INTERVAL_S": "2"})
    api, address = f"http://127.0.0.1:{api_port}", f"127.0.0.1:{t_port}"
    try:
        wait_http(f"{api}/health", proc, home / "up.log")
        with signed_in_client(api, home) as http:
            poll(
                lambda: http.get("/news", params={"limit": 1000}).json()["count"] == 24,
                "the sample news",
                timeout=60,
            )
            euro = http.get("/news", params={"symbol": "EUR/USD", "until": "2017-12-31T00:00:00Z"}).json()
            assert euro["count"] == 5 and all("EUR/USD" in n["symbols"] for n in euro["data"])
        # The first run at creation, then one every 2 s; nothing is stored twice.
        poll(lambda: asyncio.run(schedule_runs(address)) >= 3, "three scheduled runs", timeout=60)
        listed = asts("news", "--symbol", "MSFT/USD", "--api", api, home=home)
        assert listed.returncode == 0, listed.stderr
        assert "Microsoft shares tumble after cloud outage hits customers" in listed.stdout
        ingest = asts("news", "ingest", "--feed", "data/news/sample.xml", "--temporal", address, home=home)
        assert ingest.returncode == 0, ingest.stderr
        assert "new 0, duplicates 15, failed feeds 0" in ingest.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, (home / "up.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)
