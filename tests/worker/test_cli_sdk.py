"""`asts strategy new|check`, a broken strategy refused at start, local backtests (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.asts.samples import MOMENTUM, PAIRS
from tests.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
PEEKS = '''
import numpy as np

from asts import Bars, Params, Signal, Strategy


class Peeks(Strategy):
    """Long when the next close is higher."""

    name = "peeks"

    def warmup(self, p):
        return 2

    def signal(self, bars: Bars, p) -> Signal:
        nxt = np.append(bars.close[1:], np.nan)
        return Signal.where(long=nxt > bars.close, flat=nxt < bars.close)
'''


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m worker.cli ARGS`` with no stack around (the API port is a free one)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "FORCE_COLOR"))}
    full |= {"NO_COLOR": "1", "COLUMNS": "200", "ASTS_API_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    full |= {"ASTS_CACHE_DIR": str(cwd / ".cache"), **env}
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_new_strategy_passes_its_checks_and_its_own_test(tmp_path: Path) -> None:
    made = run("strategy", "new", "channel_break", "--dir", "strats", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    target, test = tmp_path / "strats" / "channel_break.py", tmp_path / "strats" / "test_channel_break.py"
    assert "class ChannelBreak(Strategy):" in target.read_text() and test.is_file()
    checked = run("strategy", "check", str(target), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "channel_break passes the look-ahead and recursion checks" in checked.stdout
    assert "backtest on the bundled series:" in checked.stdout
    pytest = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert pytest.returncode == 0, pytest.stdout + pytest.stderr


def test_new_refuses_an_existing_file_and_a_bad_name(tmp_path: Path) -> None:
    assert run("strategy", "new", "twice", cwd=tmp_path).returncode == 0
    again = run("strategy", "new", "twice", cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = run("strategy", "new", "Not-A-Name", cwd=tmp_path)
    assert bad.returncode == 2 and "lower_snake_case" in bad.stderr


def test_check_refuses_a_strategy_that_reads_the_next_bar(tmp_path: Path) -> None:
    f = tmp_path / "peeks.py"
    f.write_text(textwrap.dedent(PEEKS))
    out = run("strategy", "check", str(f), cwd=tmp_path)
    assert out.returncode == 2
    assert "peeks refused: look-ahead check failed at bar 1" in out.stderr, out.stderr


def test_check_of_a_broken_file_names_its_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.py"
    f.write_text("import numpy\n\ndef signal(:\n")
    out = run("strategy", "check", str(f), cwd=tmp_path)
    assert out.returncode == 2 and f"{f}:3: SyntaxError" in out.stderr, out.stderr


def test_the_worker_and_the_api_refuse_to_start_on_a_broken_strategy(tmp_path: Path) -> None:
    strats = tmp_path / "strats"
    strats.mkdir()
    (strats / "good.py").write_text(textwrap.dedent(MOMENTUM))
    (strats / "needs.py").write_text("import os\nimport not_installed_anywhere\n")
    for command in ("worker", "api"):
        out = run(command, "--home", str(tmp_path / "home"), cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
        assert out.returncode == 2, out.stderr
        assert f"cannot start: {strats / 'needs.py'}:2: ModuleNotFoundError" in out.stderr, out.stderr


def test_a_local_backtest_runs_a_user_strategy_with_its_size_and_no_stack(tmp_path: Path) -> None:
    strats = tmp_path / "strats"
    strats.mkdir()
    (strats / "momentum.py").write_text(textwrap.dedent(MOMENTUM))
    args = (
        "backtest",
        "--strategy",
        "momentum",
        "--symbol",
        "MSFT/USD",
        "-p",
        "n=5",
        "-p",
        "size=3",
        "--json",
    )
    out = run(*args, "--local", cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["trades"] and {t["size"] for t in result["trades"]} == {3.0}
    assert "a fixed quantity of 3" in result["conventions"]
    # No --local and no API answering: it runs here, and says so.
    auto = run(*args, cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert auto.returncode == 0 and "running here (--local)" in auto.stdout
    assert json.loads(auto.stdout.splitlines()[-1])["metrics"] == result["metrics"]


def test_a_local_optimisation_searches_a_user_strategy(tmp_path: Path) -> None:
    strats = tmp_path / "strats"
    strats.mkdir()
    (strats / "momentum.py").write_text(textwrap.dedent(MOMENTUM))
    args = ("optimize", "--strategy", "momentum", "--symbol", "MSFT/USD", "-s", "n=2:40", "--steps", "5")
    out = run(*args, "--local", "--json", cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert out.returncode == 0, out.stderr
    op = json.loads(out.stdout)
    assert op["status"] == "done" and op["total"] == 5 and 2 <= op["best_params"]["n"] <= 40
    bad = run(*args, "--local", "-s", "m=1:3", cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert bad.returncode == 2 and "unknown momentum parameters: ['m']" in bad.stderr


def test_a_local_backtest_takes_the_series_of_a_strategy_s_peers(tmp_path: Path) -> None:
    strats = tmp_path / "strats"
    strats.mkdir()
    (strats / "pairs.py").write_text(textwrap.dedent(PAIRS))
    args = ("backtest", "--strategy", "pairs", "--symbol", "MSFT/USD", "--local", "--json")
    out = run(*args, "--peer", "GOOGL/USD", cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["metrics"]["trades"] > 5
    lacking = run(*args, cwd=tmp_path, ASTS_STRATEGY_PATHS=str(strats))
    assert lacking.returncode == 2 and "give it with --peer" in lacking.stderr
