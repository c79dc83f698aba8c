"""Backtests and optimisations over real HTTP, run as workflows by a real worker."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.live import poll

MSFT = {"symbol": "MSFT/USD", "last": 600}


async def finished(http: httpx.AsyncClient, path: str, timeout: float = 120) -> dict[str, Any]:
    """The record at ``path`` once it is no longer running."""

    async def done() -> dict[str, Any] | None:
        out: dict[str, Any] = (await http.get(path)).json()
        return out if out["status"] != "running" else None

    return await poll(done, f"{path} to finish", timeout)


async def uploaded(http: httpx.AsyncClient, text: str) -> str:
    """Upload a CSV file (``POST /data/files``); the ``csv_path`` a backtest names it by."""
    r = await http.post("/data/files", content=text, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    return str(r.json()["csv_path"])


async def test_a_backtest_runs_as_a_workflow_and_stores_its_result(http: httpx.AsyncClient) -> None:
    body = {
        "data": MSFT,
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 20},
        "settings": {"cash": 10000, "commission": 0.001, "units": "whole"},
    }
    r = await http.post("/backtests", json=body)
    assert r.status_code == 202, r.text
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "done", bt["error"]
    m = bt["metrics"]
    assert m["trades"] == len(bt["trades"]) > 0 and m["commissions"] > 0
    assert set(m) >= {
        "final_equity",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "win_rate",
        "buy_and_hold_return",
    }
    assert len(bt["equity"]["equity"]) == len(bt["equity"]["ts"]) == len(bt["equity"]["drawdown"]) > 100
    assert "fills at bar t+1's open" in bt["conventions"] and "Data: " in bt["conventions"]
    assert all(float(t["size"]) == int(float(t["size"])) for t in bt["trades"])  # whole units


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"data": {"symbol": "NOPE/USD"}, "strategy": "sma_cross"}, "no bundled series"),
        ({"data": {"csv_path": "/nonexistent/x.csv"}, "strategy": "sma_cross"}, "under the data directory"),
        ({"data": {"csv_path": "missing.csv"}, "strategy": "sma_cross"}, "missing.csv: No such file"),
        ({"data": {}, "strategy": "sma_cross"}, "exactly one"),
        ({"data": MSFT, "strategy": "sma_cross", "params": {"fast": 9, "slow": 3}}, "slow"),
        ({"data": MSFT, "strategy": "nope"}, "unknown strategy type"),
        ({"data": MSFT, "strategy": "sma_cross", "settings": {"commission": -1}}, "commission"),
        # A float fraction finer than the sizing's 18 decimal places (once a 500, found by fuzzing).
        ({"data": MSFT, "strategy": "sma_cross", "settings": {"fraction": 5e-324}}, "fraction 5e-324"),
    ],
)
async def test_bad_backtest_requests_get_a_reason(
    http: httpx.AsyncClient, body: dict[str, Any], reason: str
) -> None:
    r = await http.post("/backtests", json=body)
    assert r.status_code == 422, r.text
    assert reason in str(r.json()["detail"])


async def test_a_bad_csv_fails_the_backtest_with_the_row(http: httpx.AsyncClient) -> None:
    bad = await uploaded(
        http,
        "ts,open,high,low,close,volume\n2020-01-01T00:00:00Z,1,2,1,1.5,10\n2020-01-02T00:00:00Z,1,2,1,-3,10\n",
    )
    r = await http.post("/backtests", json={"data": {"csv_path": bad}, "strategy": "sma_cross"})
    assert r.status_code == 202
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "failed" and "line 3" in bt["error"]


async def test_a_grid_search_shows_progress_and_its_best_can_be_traded(http: httpx.AsyncClient) -> None:
    body = {
        "data": MSFT,
        "strategy": "sma_cross",
        "space": {"fast": [2, 12], "slow": [10, 40]},
        "constraints": ["fast < slow"],
        "steps": 6,
        "chunk_size": 5,
        "objective": "sharpe",
    }
    r = await http.post("/optimizations", json=body)
    assert r.status_code == 202, r.text
    oid = r.json()["id"]
    op = await finished(http, f"/optimizations/{oid}")
    assert op["status"] == "done", op["error"]
    assert op["done"] == op["total"] > 10
    scores = [e["score"] for e in op["top"]]
    assert scores == sorted(scores, reverse=True) and op["best_score"] == scores[0]
    assert op["best_params"]["fast"] < op["best_params"]["slow"]
    s = await http.post(
        "/strategies",
        json={
            "name": "from opt",
            "type": "sma_cross",
            "symbols": ["MSFT/USD"],
            "params_from": oid,
            "interval": "1h",
        },
    )
    assert s.status_code == 201, s.text
    got = (await http.get(f"/strategies/{s.json()['id']}")).json()
    assert (
        got["params"]["fast"] == op["best_params"]["fast"]
        and got["params"]["slow"] == op["best_params"]["slow"]
    )
    refused = await http.post(
        "/strategies",
        json={"name": "x", "type": "rsi_reversion", "symbols": ["MSFT/USD"], "params_from": oid},
    )
    assert refused.status_code == 422 and "searched sma_cross" in refused.text


async def test_walk_forward_reports_out_of_sample_windows(http: httpx.AsyncClient) -> None:
    body = {
        "data": MSFT,
        "strategy": "sma_cross",
        "space": {"fast": [2, 10], "slow": [12, 30]},
        "constraints": ["fast < slow"],
        "steps": 4,
        "walk_forward": {"train": 200, "test": 100},
    }
    r = await http.post("/optimizations", json=body)
    assert r.status_code == 202, r.text
    op = await finished(http, f"/optimizations/{r.json()['id']}")
    assert op["status"] == "done", op["error"]
    rows = op["walk_forward"]
    assert len(rows) == 4 and op["done"] == op["total"] == 4
    for row in rows:
        (a, b), (c, d) = row["train"], row["test"]
        assert b == c and d - c == 100 and b - a == 200  # tests follow their training, never overlap it
        assert "total_return" in row["out_of_sample"]


async def test_an_optimisation_can_be_cancelled(http: httpx.AsyncClient) -> None:
    body = {
        "data": {"symbol": "MSFT/USD"},
        "strategy": "sma_cross",
        "space": {"fast": [2, 60], "slow": [10, 200]},
        "constraints": ["fast < slow"],
        "chunk_size": 20,
    }
    r = await http.post("/optimizations", json=body)
    oid = r.json()["id"]
    for _ in range(600):  # under way: some chunks done
        live = (await http.get(f"/optimizations/{oid}")).json()
        if live["done"] > 0:
            break
        await asyncio.sleep(0.05)
    assert 0 < live["done"] < live["total"], live
    c = await http.delete(f"/optimizations/{oid}")
    assert c.status_code == 200, c.text
    op = await finished(http, f"/optimizations/{oid}", timeout=60)
    assert op["status"] == "cancelled" and op["done"] < op["total"]
    assert (await http.delete("/optimizations/nope")).status_code == 404
    assert (await http.get("/optimizations/nope")).status_code == 404
    assert (await http.get("/backtests/nope")).status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"method": "random", "n": 50_000}, "less than or equal to 20000"),
        ({"space": {"fast": [1, 1000], "slow": [1, 1000]}}, "20000"),
        ({"space": {"nope": [1, 5]}}, "unknown sma_cross parameters"),
        ({"space": {"fast": [2, 5], "slow": [10, 20]}, "constraints": ["fast > slow"]}, "no parameter set"),
        ({"constraints": ["fast < __import__"]}, "constraint"),
    ],
)
async def test_bad_optimisations_get_a_reason(
    http: httpx.AsyncClient, body: dict[str, Any], reason: str
) -> None:
    base = {"data": MSFT, "strategy": "sma_cross", "space": {"fast": [2, 5], "slow": [10, 20]}}
    r = await http.post("/optimizations", json=base | body)
    assert r.status_code == 422, r.text
    assert reason in str(r.json()["detail"])
