"""`asts backtest` and `asts optimize` as a user runs them: a real process, the real API and worker."""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.worker.test_cli import asts

MSFT = ["--symbol", "MSFT/USD", "--last", "600"]
SMA = ["--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20"]
COSTS = ["--cash", "10000", "--commission", "0.002", "--units", "whole"]
SEARCH = [
    "--strategy",
    "sma_cross",
    "--space",
    "fast=2:10",
    "--space",
    "slow=12:30",
    "--constraint",
    "fast < slow",
    "--steps",
    "4",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = "ts,open,high,low,close,volume\n"


def bars_csv(path: Path, n: int = 80) -> Path:
    """``n`` daily bars of a slow sine wave (several SMA crosses), valid OHLC on every row."""
    start = datetime(2021, 1, 4, tzinfo=UTC)
    rows, prev = [], 100.0
    for i in range(n):
        close = 100 + 10 * math.sin(i / 6)
        ts = (start + timedelta(days=i)).isoformat().replace("+00:00", "Z")
        high, low = max(prev, close) + 1, min(prev, close) - 1
        rows.append(f"{ts},{prev:.4f},{high:.4f},{low:.4f},{close:.4f},1000\n")
        prev = close
    path.write_text(HEADER + "".join(rows))
    return path


def _trades_match(trades: list[dict[str, object]], metrics: dict[str, float]) -> None:
    assert metrics["trades"] == len(trades) > 0
    assert all(float(str(t["size"])) == int(float(str(t["size"]))) for t in trades)  # whole units


async def test_backtest_prints_metrics_and_trades_as_json(api_url: str) -> None:
    run = await asts("backtest", *MSFT, *SMA, *COSTS, "--json", api=api_url)
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert out["id"].startswith("bt")
    m = out["metrics"]
    _trades_match(out["trades"], m)
    assert m["commissions"] > 0
    assert {"final_equity", "sharpe", "max_drawdown", "win_rate"} <= set(m)
    assert out["conventions"]


async def test_backtest_writes_trades_csv_and_a_png(api_url: str, tmp_path: Path) -> None:
    trades_csv, png = tmp_path / "trades.csv", tmp_path / "equity.png"
    run = await asts(
        "backtest", *MSFT, *SMA, *COSTS, "--json", "--csv", str(trades_csv), "--plot", str(png), api=api_url
    )
    assert run.code == 0, run.err
    out = json.loads(run.out)
    with trades_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(out["trades"]) > 0
    assert {"entry_ts", "exit_ts", "size", "pnl"} <= set(rows[0])
    assert [float(r["pnl"]) for r in rows] == pytest.approx([float(t["pnl"]) for t in out["trades"]])
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


async def test_backtest_of_a_csv_file(api_url: str, tmp_path: Path) -> None:
    path = bars_csv(tmp_path / "bars.csv")
    run = await asts("backtest", "--data", str(path), *SMA, *COSTS, "--json", api=api_url)
    assert run.code == 0, run.err
    out = json.loads(run.out)
    _trades_match(out["trades"], out["metrics"])
    assert out["metrics"]["commissions"] > 0


async def test_backtest_with_a_trailing_stop(api_url: str, tmp_path: Path) -> None:
    path = bars_csv(tmp_path / "bars.csv")
    run = await asts("backtest", "--data", str(path), *SMA, "--trailing", "0.02", "--json", api=api_url)
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert "trailing_stop" in {t["exit_reason"] for t in out["trades"]}
    assert "Trailing stop 0.02" in out["conventions"]


async def test_a_bad_csv_exits_1_naming_the_row(api_url: str, tmp_path: Path) -> None:
    good = bars_csv(tmp_path / "good.csv", n=30).read_text().splitlines()
    good[4] = "2021-01-07T00:00:00Z,100,101,99,-3,1000"  # line 5 of the file (the header is line 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(good) + "\n")
    run = await asts("backtest", "--data", str(bad), *SMA, "--json", api=api_url)
    assert run.code == 1, (run.out, run.err)
    assert run.err.startswith("error: backtest bt") and " failed: " in run.err, run.err
    assert "line 5" in run.err and "close -3 is not a positive price" in run.err, run.err
    # stdout holds at most the newline the (transient) progress display leaves behind.
    assert "Traceback" not in run.err and run.out.strip() == ""


async def test_backtest_of_a_csv_without_zones_takes_tz(api_url: str, tmp_path: Path) -> None:
    rows = bars_csv(tmp_path / "bars.csv").read_text().splitlines()[1:]
    naive = tmp_path / "naive.csv"
    naive.write_text("date,open,high,low,close,volume\n" + "".join(f"{r[:10]}{r[20:]}\n" for r in rows))
    run = await asts("backtest", "--data", str(naive), "--tz", "UTC", *SMA, *COSTS, "--json", api=api_url)
    assert run.code == 0, run.err
    _trades_match(json.loads(run.out)["trades"], json.loads(run.out)["metrics"])
    bad = tmp_path / "bad.csv"
    bad.write_text(naive.read_text().replace(",1000\n", ",-1\n", 1))
    refused = await asts("backtest", "--data", str(bad), "--tz", "UTC", *SMA, api=api_url)
    assert refused.code == 2 and "line 2: volume -1 is negative" in refused.err, refused.err


BAD = {
    "no data option": (["backtest", *SMA], "error: give exactly one of --data FILE.csv or --symbol"),
    "both data options": (
        ["backtest", "--data", "DATA", "--symbol", "MSFT/USD", *SMA],
        "error: give exactly one of --data FILE.csv or --symbol",
    ),
    "no such file": (["backtest", "--data", "/nonexistent/bars.csv", *SMA], "error: no such file"),
    "--tz without --data": (
        ["backtest", *MSFT, "--tz", "UTC", *SMA],
        "error: --tz applies to --data only",
    ),
    "unknown strategy": (
        ["backtest", *MSFT, "--strategy", "nope"],
        "error: 422: unknown strategy type 'nope'",
    ),
    "unknown strategy to optimise": (
        ["optimize", *MSFT, "--strategy", "nope", "--space", "fast=2:10"],
        "error: 422: unknown strategy type 'nope'",
    ),
    "bad --space": (
        ["optimize", *MSFT, "--strategy", "sma_cross", "--space", "fast=2-10"],
        "error: --space 'fast=2-10' must look like name=low:high",
    ),
    "--space without a range": (
        ["optimize", *MSFT, "--strategy", "sma_cross", "--space", "fast"],
        "error: --space 'fast' must look like name=low:high",
    ),
    "unknown searched parameter": (
        ["optimize", *MSFT, "--strategy", "sma_cross", "--space", "nope=1:2"],
        "error: 422: unknown sma_cross parameters: ['nope']",
    ),
}


@pytest.mark.parametrize("args,message", BAD.values(), ids=BAD.keys())
async def test_bad_input_exits_2_with_a_reason(
    api_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    data = bars_csv(tmp_path / "bars.csv")
    run = await asts(*(str(data) if a == "DATA" else a for a in args), api=api_url)
    assert run.code == 2, (run.out, run.err)
    assert run.err.startswith(message), run.err
    assert "Traceback" not in run.err and run.out == ""


async def test_optimize_json_best_params_satisfy_the_constraint(api_url: str) -> None:
    run = await asts("optimize", *MSFT, *SEARCH, "--json", api=api_url)
    assert run.code == 0, run.err
    op = json.loads(run.out)
    assert op["status"] == "done" and op["done"] == op["total"] > 0
    best = op["best_params"]
    assert best["fast"] < best["slow"]
    assert isinstance(best["fast"], int) and isinstance(best["slow"], int)  # int bounds stay ints
    assert 2 <= best["fast"] <= 10 and 12 <= best["slow"] <= 30
    assert op["best_score"] == op["top"][0]["score"]
    assert all(e["params"]["fast"] < e["params"]["slow"] for e in op["top"])


async def test_optimize_prints_a_table(api_url: str) -> None:
    run = await asts("optimize", *MSFT, *SEARCH, api=api_url)
    assert run.code == 0, run.err
    first = run.out.strip().splitlines()[0]
    assert first.startswith("optimisation op") and ": best {" in first and "(sharpe " in first, run.out
    assert "best results" in run.out and "total_return" in run.out, run.out
    assert "walk-forward" not in run.out
    assert "--params-from op" in run.out


async def test_optimize_walk_forward_prints_its_table(api_url: str) -> None:
    run = await asts("optimize", *MSFT, *SEARCH, "--walk-forward", "train=200,test=100", api=api_url)
    assert run.code == 0, run.err
    assert "walk-forward" in run.out and "out-of-sample return" in run.out, run.out
    rows = [line for line in run.out.splitlines() if re.match(r"│ \[\d+, \d+\] +│ \[\d+, \d+\]", line)]
    # 600 bars, 200 to train then 100 to test, stepping by the test length: four windows.
    assert [re.findall(r"\[\d+, \d+\]", r)[:2] for r in rows] == [
        ["[0, 200]", "[200, 300]"],
        ["[100, 300]", "[300, 400]"],
        ["[200, 400]", "[400, 500]"],
        ["[300, 500]", "[500, 600]"],
    ], run.out
    assert all('"fast": ' in r and '"slow": ' in r for r in rows)


async def test_optimize_finishes_when_the_strategy_refuses_some_candidates(api_url: str) -> None:
    """Without the constraint, fast >= slow candidates are refused by sma_cross and score -inf:
    the search still finishes (a -inf score once became null in JSON and stalled the workflow)."""
    space = ["--space", "fast=5:20", "--space", "slow=10:30", "--steps", "4"]
    run = await asts("optimize", *MSFT, "--strategy", "sma_cross", *space, "--json", api=api_url)
    assert run.code == 0, run.err
    op = json.loads(run.out)
    assert op["status"] == "done" and op["done"] == op["total"] == 16
    assert op["best_params"]["fast"] < op["best_params"]["slow"]
