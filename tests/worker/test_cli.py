"""The `asts strategy` CLI as a user runs it: a real process talking to the real API over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.live import TOKENS, api_client, live_cycles, poll, token_for
from worker.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
# The CLI's credentials file in these tests (never the user's own).
CONFIG_DIR = Path(tempfile.mkdtemp(prefix="asts-cli-"))
START = ["strategy", "start", "--type", "sma_cross", "--symbols", "MSFT/USD", "--interval", "300ms"]
PARAMS = ["-p", "fast=2", "-p", "slow=5", "-p", "size=5"]


@dataclass
class Run:
    """What one CLI invocation did."""

    code: int
    out: str
    err: str


async def asts(
    *args: str, api: str, token: str | None = None, stdin: bytes | None = None, config: Path | None = None
) -> Run:
    """Run ``python -m worker.cli ARGS --api API`` without blocking the loop that serves the API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "FORCE_COLOR"))}
    env.update(NO_COLOR="1", COLUMNS="200", ASTS_CONFIG_DIR=str(config or CONFIG_DIR))
    if token is None and api.rstrip("/") in TOKENS:
        token = token_for(api)
    if token:
        env["ASTS_API_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker.cli",
        *args,
        "--api",
        api,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def _strategy(api: str, sid: str) -> dict[str, object]:
    async with api_client(api, timeout=30) as http:
        r = await http.get(f"/strategies/{sid}")
        assert r.status_code == 200, r.text
        return dict(r.json())


async def _count(api: str) -> int:
    async with api_client(api, timeout=30) as http:
        return int((await http.get("/strategies")).json()["count"])


async def _start(api: str, *extra: str) -> str:
    run = await asts(*START, *PARAMS, *extra, api=api)
    assert run.code == 0, run.err
    m = re.fullmatch(r"started (s[0-9a-f]{8}) \(workflow strategy-(s[0-9a-f]{8})\)\n", run.out)
    assert m and m[1] == m[2], run.out
    return m[1]


async def test_start_list_status_halt_resume(api_url: str) -> None:
    sid = await _start(api_url)
    stored = await _strategy(api_url, sid)
    assert stored["params"] == {"fast": 2, "slow": 5, "size": "5"}
    assert stored["symbols"] == ["MSFT/USD"] and stored["interval_s"] == pytest.approx(0.3)
    assert stored["name"] == "sma_cross"  # the type when no --name is given

    listed = await asts("strategy", "list", api=api_url)
    assert listed.code == 0, listed.err
    row = next(line for line in listed.out.splitlines() if sid in line)
    assert "MSFT/USD" in row and "0.3s" in row and "running" in row

    async with api_client(api_url, timeout=30) as http:
        await poll(lambda: _cycled(http, sid), "a first cycle")
    status = await asts("strategy", "status", sid, api=api_url)
    assert status.code == 0, status.err
    assert f"{sid} sma_cross (sma_cross) — running" in status.out
    m = re.search(r"cycles done (\d+), failed (\d+)", status.out)
    assert m and int(m[1]) >= 1, status.out
    assert "MSFT/USD: " in status.out  # the last cycle's decision

    halted = await asts("strategy", "halt", sid, "--reason", "x", api=api_url)
    assert halted.code == 0, halted.err
    assert re.fullmatch(rf"{sid} halted at \S+\n", halted.out), halted.out
    stored = await _strategy(api_url, sid)
    assert (stored["status"], stored["status_reason"]) == ("halted", "x")
    status = await asts("strategy", "status", sid, api=api_url)
    assert "— halted x" in status.out, status.out

    resumed = await asts("strategy", "resume", sid, api=api_url)
    assert resumed.code == 0, resumed.err
    assert re.fullmatch(rf"{sid} running again since \S+\n", resumed.out), resumed.out
    assert (await _strategy(api_url, sid))["status"] == "running"


async def _cycled(http: httpx.AsyncClient, sid: str) -> bool:
    return await live_cycles(http, sid) >= 1


async def test_text_from_users_is_printed_as_is(api_url: str) -> None:
    """Names and reasons with square brackets are data, not Rich markup (it used to crash or vanish)."""
    sid = await _start(api_url, "--name", "[beta] desk")
    listed = await asts("strategy", "list", api=api_url)
    assert listed.code == 0, listed.err
    assert "[beta] desk" in listed.out
    halted = await asts("strategy", "halt", sid, "--reason", "odd [/] reason", api=api_url)
    assert halted.code == 0, halted.err
    status = await asts("strategy", "status", sid, api=api_url)
    assert status.code == 0, status.err
    assert f"{sid} [beta] desk (sma_cross) — halted odd [/] reason" in status.out


BAD = {
    "unknown type": (["--type", "nope"], "error: 422: unknown strategy type 'nope'"),
    "negative size": (
        ["-p", "size=-1"],
        "error: 422: invalid sma_cross parameters: size: must be greater than 0",
    ),
    "not a pair": (["-p", "notapair"], "error: parameter 'notapair' must look like key=value"),
    "markup in a pair": (["-p", "odd[/]"], "error: parameter 'odd[/]' must look like key=value"),
    "unknown symbol": (["--symbols", "NOPE/USD"], "error: 422: the paper exchange does not list 'NOPE/USD'"),
    "bad interval": (["--interval", "soon"], "error: 422: interval: Value error, interval 'soon' is not"),
}


@pytest.mark.parametrize("extra,message", BAD.values(), ids=BAD.keys())
async def test_bad_input_exits_2_with_an_error_line(api_url: str, extra: list[str], message: str) -> None:
    before = await _count(api_url)
    run = await asts(*START, *PARAMS, *extra, api=api_url)  # a repeated option: the last one counts
    assert run.code == 2, (run.out, run.err)
    assert run.err.startswith(message), run.err
    assert "Traceback" not in run.err and run.out == ""
    assert await _count(api_url) == before


async def test_unknown_strategy_exits_2(api_url: str) -> None:
    run = await asts("strategy", "halt", "s00000000", api=api_url)
    assert run.code == 2
    assert run.err == "error: 404: no strategy 's00000000'\n"


async def test_unreachable_api_exits_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = await asts("strategy", "list", api=url)
    assert run.code == 1, (run.out, run.err)
    assert run.err.startswith(f"error: cannot reach the API at {url}: "), run.err
    assert "Traceback" not in run.err and run.out == ""


async def test_kill_switch_from_the_cli(api_url: str) -> None:
    sid = await _start(api_url)
    async with api_client(api_url, timeout=30) as http:
        await poll(lambda: _cycled(http, sid), "a first cycle")
    halted = await asts(
        "halt", "--all", "--reason", "desk [kill]", "--wait", "all", "--timeout", "20s", api=api_url
    )
    assert halted.code == 0, halted.err
    assert re.match(r"halted at \S+ \(gate closed \d+ ms after the request\)\n", halted.out), halted.out
    row = next(line for line in halted.out.splitlines() if sid in line)
    assert "acked" in row, halted.out

    status = await asts("status", api=api_url)
    assert status.code == 0, status.err
    assert status.out.startswith("NeuroHub halted — desk [kill] (admin)"), status.out
    assert sid in status.out

    resumed = await asts("resume", "--all", "--reason", "clear", api=api_url)
    assert resumed.code == 0, resumed.err
    assert resumed.out.startswith("active since "), resumed.out
    status = await asts("status", api=api_url)
    assert status.out.startswith("NeuroHub active"), status.out


HALT_BAD = {
    "no target": (["--reason", "x"], "error: name one strategy, or --all for every strategy"),
    "both targets": (["s00000000", "--all", "--reason", "x"], "error: name one strategy, or --all"),
    "no reason": (["--all"], "error: --reason is required"),
    "bad wait": (["--all", "--reason", "x", "--wait", "never"], "error: --wait must be 'gate' or 'all'"),
    "bad timeout": (["--all", "--reason", "x", "--timeout", "soon"], "error: 422: ack_timeout"),
}


@pytest.mark.parametrize("args,message", HALT_BAD.values(), ids=HALT_BAD.keys())
async def test_bad_halt_exits_2(api_url: str, args: list[str], message: str) -> None:
    run = await asts("halt", *args, api=api_url)
    assert run.code == 2, (run.out, run.err)
    assert run.err.startswith(message), run.err
    assert "Traceback" not in run.err
    status = await asts("status", api=api_url)
    assert status.out.startswith("NeuroHub active"), status.out


async def test_approvals_from_the_cli(api_url: str) -> None:
    args = ["strategy", "start", "--type", "rsi_reversion", "--symbols", "MSFT/USD", "--interval", "1h"]
    params = ["-p", "period=14", "-p", "lower=99", "-p", "upper=99.5", "-p", "size=10"]
    run = await asts(*args, *params, "--approval-notional", "1", "-b", "daily_loss=1000", api=api_url)
    assert run.code == 0, run.err
    sid = run.out.split()[1]

    async def pending() -> str:
        listed = await asts("approvals", api=api_url)
        found = re.search(rf"(apr-{sid}\S*)", listed.out)
        return found[1] if found else ""

    approval_id = await poll(pending, "the order to wait for approval")
    assert approval_id.startswith("apr-")
    own = await asts("approve", approval_id, "--reason", "mine", api=api_url)  # admin started it
    assert own.code == 2 and "four eyes" in own.err, own.err
    risk = token_for(api_url, "risk")
    approved = await asts("approve", approval_id, "--reason", "checked", api=api_url, token=risk)
    assert approved.code == 0, approved.err
    assert approved.out == f"{approval_id} approved by risk1\n", approved.out
    again = await asts("reject", approval_id, api=api_url, token=risk)
    assert again.code == 2 and "already approved" in again.err, again.err
    listed = await asts("approvals", "--all", api=api_url)
    assert "approved" in next(line for line in listed.out.splitlines() if approval_id in line)
    stored = await _strategy(api_url, sid)
    assert stored["status"] == "running"


def test_a_bad_setting_in_the_environment_is_named_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTS_")}
    env.update(
        NO_COLOR="1", ASTS_HOME=str(tmp_path), ASTS_PAPER_MARGIN='{"initial": "0.1", "maintenance": "0.2"}'
    )
    run = subprocess.run(
        [sys.executable, "-m", "worker.cli", "up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "bad settings: ASTS_PAPER_MARGIN: the maintenance margin (0.2) must be below" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    env["ASTS_PAPER_MARGIN"] = '{"initial": "2"}'
    nested = subprocess.run(
        [sys.executable, "-m", "worker.cli", "up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        nested.returncode == 2 and "ASTS_PAPER_MARGIN (initial): Input should be less than" in nested.stderr
    )
