"""docs/strategies.md, run as a new user would: every ``$`` command of it, in order, in a fresh directory.

``asts up`` is started in the background on free ports (the commands after it reach it through
``ASTS_API_PORT``); ``<id>`` stands for the id the last ``asts strategy start`` printed. At the
end the strategy must have traded on the paper venue and recorded decisions by its code version.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.procs import free_port, kill_group, poll, signed_in_client, spawn, wait_http

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
BIN = Path(sys.executable).parent


def doc_commands(text: str) -> list[str]:
    """The ``$`` lines of the document's console blocks, in order."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continue
        if inside and line.startswith("$ "):
            out.append(line[2:].strip())
    return out


def test_the_document_has_the_whole_path_from_new_to_trading() -> None:
    commands = doc_commands(DOC.read_text())
    assert commands[0].startswith("asts strategy new breakout")
    assert any(c.startswith("asts up") for c in commands)
    assert any(c.startswith("asts strategy start --type breakout") for c in commands)


def test_every_command_of_the_strategy_guide_works_in_a_fresh_directory(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    api_port, t_port, ui_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "ASTS_API_TOKEN")}
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "ASTS_HOME": str(home),
        "ASTS_CONFIG_DIR": str(home / "config"),
        "ASTS_API_PORT": str(api_port),
        "ASTS_CACHE_DIR": str(tmp_path / "cache"),
        "PWD": str(work),
    }
    up = None
    strategy_id = ""
    try:
        for command in doc_commands(DOC.read_text()):
            command = command.replace("<id>", strategy_id)
            if command.startswith("export "):
                name, _, value = command.removeprefix("export ").partition("=")
                env[name] = os.path.expandvars(value.replace("$PWD", str(work)))
                continue
            if command.startswith("asts up"):
                args = [
                    *shlex.split(command)[2:],
                    "--api-port",
                    str(api_port),
                    "--temporal-port",
                    str(t_port),
                ]
                up = spawn(["up", *args, "--ui-port", str(ui_port)], home=home, log_name="up.log", env=env)
                wait_http(f"http://127.0.0.1:{api_port}/health", up, home / "up.log")
                poll(lambda: (home / "config").exists(), "the CLI to be signed in", timeout=60)
                continue
            done = subprocess.run(
                ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            started = re.search(r"started (s[0-9a-f]+)", done.stdout)
            if started:
                strategy_id = started.group(1)
        assert up is not None and strategy_id, "the guide starts the stack and a strategy"
        api = f"http://127.0.0.1:{api_port}"
        with signed_in_client(api, home) as http:
            poll(
                lambda: http.get("/orders", params={"strategy_id": strategy_id}).json()["count"] >= 1,
                "an order",
            )
            row = http.get(f"/strategies/{strategy_id}").json()
            kinds = {t["name"]: t for t in http.get("/strategy-types").json()["data"]}
            assert (
                kinds["breakout"]["source"] == "file"
                and row["code_version"] == kinds["breakout"]["code_version"]
            )
            decided = http.get("/decisions", params={"strategy_id": strategy_id}).json()["data"]
            assert decided and {d["code_version"] for d in decided} == {row["code_version"]}
    finally:
        if up is not None:
            kill_group(up)
