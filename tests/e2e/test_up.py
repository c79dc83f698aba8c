"""The whole stack as a user runs it: `asts up`, HTTP, halt, Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

from exchanges.factory import open_exchange
from tests.procs import free_port, kill_group, poll, signed_in_client, spawn, wait_http


def test_asts_up_trades_halts_and_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    api_port, t_port, ui_port = free_port(), free_port(), free_port()
    proc = spawn(
        [
            "up",
            "--api-port",
            str(api_port),
            "--temporal-port",
            str(t_port),
            "--ui-port",
            str(ui_port),
            "--bars-per-second",
            "10",
        ],
        home=home,
        log_name="up.log",
    )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_http(f"{api}/health", proc, home / "up.log")
        with signed_in_client(api, home) as http:
            assert http.get("/markets", params={"exchange": "paper"}).json()["count"] >= 3
            r = http.post(
                "/strategies",
                json={
                    "name": "e2e",
                    "type": "sma_cross",
                    "symbols": ["MSFT/USD", "GOOGL/USD"],
                    "interval": "300ms",
                    "params": {"fast": 2, "slow": 5, "size": "5"},
                },
            )
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            assert r.json()["workflow_id"] == f"strategy-{sid}"

            poll(lambda: http.get("/orders", params={"strategy_id": sid}).json()["count"] >= 2, "orders")
            poll(
                lambda: http.get("/positions", params={"strategy_id": sid}).json()["count"] >= 1, "positions"
            )
            poll(
                lambda: http.get("/decisions", params={"strategy_id": sid}).json()["count"] >= 2, "decisions"
            )
            poll(lambda: http.get("/pnl", params={"strategy_id": sid}).json()["count"] >= 1, "pnl")
            live = http.get(f"/strategies/{sid}").json()["live"]
            assert live["cycles_done"] >= 1

            halted = http.post(f"/strategies/{sid}/halt", json={"reason": "e2e"})
            assert halted.status_code == 200, halted.text
            returned_at = datetime.fromisoformat(halted.json()["at"])
            time.sleep(2.0)  # several intervals
            venue = open_exchange("paper", home=home, bars_per_second=10)
            venue_orders = asyncio.run(venue.orders())
            asyncio.run(venue.close())
            assert venue_orders
            assert max(o.created_at for o in venue_orders) <= returned_at
            assert http.get(f"/strategies/{sid}").json()["status"] == "halted"
            events = http.get("/events", params={"strategy_id": sid, "kind": "halt"}).json()
            assert events["data"][0]["reason"] == "e2e"

            assert (
                http.post(
                    "/strategies", json={"name": "x", "type": "nope", "symbols": ["MSFT/USD"]}
                ).status_code
                == 422
            )
        # The first start made the admin, showed its password once and signed the CLI in.
        password_file = home / "admin-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert (home / "up.log").read_text().count(password) == 1
        # The banner names the console, which the API serves at / (make test built it).
        assert f"Console    {api}" in (home / "up.log").read_text()
        opened = httpx.get(f"{api}/", follow_redirects=True, timeout=30)
        assert opened.status_code == 200 and str(opened.url) == f"{api}/console/"
        assert '<div id="root">' in opened.text
        listed = subprocess.run(
            [sys.executable, "-m", "worker.cli", "strategy", "list", "--api", api],
            env=os.environ | {"ASTS_CONFIG_DIR": str(home / "config"), "NO_COLOR": "1", "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert listed.returncode == 0 and sid in listed.stdout, listed.stderr
        for log in (home / "logs").glob("*.log"):  # the password is shown once, never logged
            assert password not in log.read_text(errors="replace"), log.name
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, (home / "up.log").read_text()[-3000:]
        children = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout.split()
        assert children == [], f"orphans left: {children}"
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGTERM)  # let it stop its children; SIGKILL only if it hangs


def test_children_stop_even_when_the_launcher_is_killed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ports = [free_port(), free_port(), free_port()]
    proc = spawn(
        ["up", "--api-port", str(ports[0]), "--temporal-port", str(ports[1]), "--ui-port", str(ports[2])],
        home=home,
        log_name="up.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{ports[0]}/health", proc, home / "up.log")
        running = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout.split()
        assert len(running) == 3, running  # server, worker, API
        proc.kill()  # SIGKILL: the launcher gets no chance to clean up
        proc.wait(timeout=10)
        poll(
            lambda: not subprocess.run(["pgrep", "-f", str(home)], capture_output=True).stdout,
            "the children to exit",
            timeout=30,
        )
    finally:
        subprocess.run(["pkill", "-KILL", "-f", str(home)], check=False)
