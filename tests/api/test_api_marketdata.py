"""Market data over real HTTP: import, status, bars, gaps, backfills run by a real worker, backtests
from the store, and the paper venue listing stored series after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.deps import Deps
from activities.marketdata import import_csv
from exchanges.data import DATA_DIR
from store.db import make_engine, make_sessionmaker, migrate, sqlite_url
from tests.api.live import api_client, poll, serve_api
from tests.api.test_api_opticore import finished, uploaded

SPX = (DATA_DIR / "SPX-USD-1d.csv").read_text()


async def import_text(http: httpx.AsyncClient, text: str, **params: Any) -> httpx.Response:
    return await http.post("/data/import", params=params, content=text, headers={"Content-Type": "text/csv"})


async def test_import_is_validated_whole_and_idempotent_and_the_bars_read_back(
    http: httpx.AsyncClient,
) -> None:
    key = {"exchange": "csv", "symbol": "IMP/USD", "timeframe": "1d"}
    lines = SPX.splitlines()
    bad = "\n".join([*lines[:30], lines[30].replace(",", ",-", 2)[:60], *lines[31:40]]) + "\n"
    r = await import_text(http, bad, name="spx.csv", **key)
    assert r.status_code == 422, r.text
    assert r.json()["line"] == 31 and r.json()["detail"].startswith("spx.csv line 31: ")
    assert (await http.get("/data/candles", params=key)).json()["count"] == 0  # nothing of it stored

    r = await import_text(http, SPX, name="spx.csv", **key)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["bars"], out["new"], out["duplicates"], out["count"], out["source"]) == (
        3000,
        3000,
        0,
        3000,
        "csv:spx.csv",
    )
    again = (await import_text(http, SPX, **key)).json()
    assert (again["new"], again["duplicates"], again["count"]) == (0, 3000, 3000)

    listed = (await http.get("/data", params={"exchange": "csv"})).json()
    (series,) = [s for s in listed["data"] if s["symbol"] == "IMP/USD"]
    assert (series["count"], series["first"], series["gap_count"]) == (
        3000,
        "2007-02-01T00:00:00Z",
        out["gap_count"],
    )
    bars = (await http.get("/data/candles", params=key | {"since": "2007-02-01", "limit": 2})).json()
    assert bars["count"] == 2 and bars["data"][0] == {
        "ts": "2007-02-01T00:00:00Z",
        "open": "1437.9",
        "high": "1446.64",
        "low": "1437.9",
        "close": "1445.94",
        "volume": "2914890000",
    }
    gaps = (await http.get("/data/gaps", params=key | {"limit": 3})).json()
    assert len(gaps["data"]) == 3 and gaps["count"] == out["gap_count"] and gaps["missing"] == out["missing"]
    assert all(g["missing"] >= 1 for g in gaps["data"])


async def test_import_refusals(http: httpx.AsyncClient) -> None:
    key = {"exchange": "csv", "symbol": "REF/USD", "timeframe": "1d"}
    form = await http.post("/data/import", params=key, files={"file": ("x.csv", SPX)})
    assert form.status_code == 415 and "request body" in form.json()["detail"]
    hourly = await import_text(http, SPX, **(key | {"timeframe": "1h"}))  # daily bars are 1h-aligned
    assert hourly.status_code == 201
    misaligned = await import_text(http, SPX, **(key | {"timeframe": "1w"}))
    assert misaligned.status_code == 422 and misaligned.json()["line"] == 2
    bad_tf = await import_text(http, SPX, **(key | {"timeframe": "1month"}))
    assert bad_tf.status_code == 422 and "timeframe" in bad_tf.json()["detail"]
    # What schemathesis sent: a lone carriage return, then bytes the csv module refused (once a 500).
    odd = await import_text(http, "\r\U0009ad1a\x1f+\u00a1K", **key)
    assert odd.status_code == 422 and odd.json()["line"] == 1, odd.text


async def test_a_backfill_runs_as_a_workflow(http: httpx.AsyncClient) -> None:
    body = {"series": [{"exchange": "paper", "symbol": "GOOGL/USD", "timeframe": "1d", "page": 50}]}
    r = await http.post("/data/backfill", json=body)
    assert r.status_code == 202, r.text
    wid = r.json()["workflow_id"]
    assert wid.startswith("marketdata-") and r.json()["series"] == 1

    async def completed() -> dict[str, Any] | None:
        out: dict[str, Any] = (await http.get(f"/data/backfill/{wid}")).json()
        return out if out["status"] != "running" else None

    run = await poll(completed, "the backfill to complete", timeout=60)
    assert run["status"] == "completed"
    (result,) = run["result"]["series"]
    assert result["new"] >= 200 and result["count"] == result["new"] and not result["failed"]
    listed = (await http.get("/data", params={"exchange": "paper", "symbol": "GOOGL/USD"})).json()
    assert listed["data"][0]["count"] == result["count"]


async def test_backfill_refusals(http: httpx.AsyncClient) -> None:
    cases = [
        (
            {"series": [{"exchange": "paper", "symbol": "NOPE/USD", "timeframe": "1d"}]},
            "does not list 'NOPE/USD'",
        ),
        ({"series": [{"exchange": "nowhere", "symbol": "X/USD", "timeframe": "1d"}]}, "unknown exchange"),
        ({"series": [{"exchange": "paper", "symbol": "MSFT/USD", "timeframe": "1y"}]}, "timeframe"),
        ({"series": []}, "at least one"),
    ]
    for body, reason in cases:
        r = await http.post("/data/backfill", json=body)
        assert r.status_code == 422 and reason in r.json()["detail"], (body, r.text)
    assert (await http.get("/data/backfill/strategy-x")).status_code == 404
    assert (await http.get("/data/backfill/marketdata-nosuchrun")).status_code == 404


async def test_a_backtest_from_the_store_matches_the_same_csv(http: httpx.AsyncClient) -> None:
    key = {"exchange": "csv", "symbol": "BT/USD", "timeframe": "1d"}
    assert (await import_text(http, SPX, **key)).status_code == 201
    results = []
    for data in ({"csv_path": await uploaded(http, SPX)}, {"store": key}):
        body = {"data": data | {"last": 800}, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}
        r = await http.post("/backtests", json=body)
        assert r.status_code == 202, r.text
        bt = await finished(http, f"/backtests/{r.json()['id']}")
        assert bt["status"] == "done", bt["error"]
        results.append(bt)
    from_csv, from_store = results
    assert from_store["metrics"] == from_csv["metrics"] and from_store["trades"] == from_csv["trades"]
    assert from_csv["metrics"]["trades"] > 0
    missing = {"data": {"store": key | {"symbol": "NONE/USD"}}, "strategy": "sma_cross"}
    r = await http.post("/backtests", json=missing)
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "failed" and "no stored 1d bars of NONE/USD" in bt["error"]


def as_yahoo(text: str) -> str:
    """The same bars with the header and dates as Yahoo Finance writes them (no zone, Adj Close)."""
    lines = text.splitlines()
    rows = [f"{r[:10]},{r.split(',', 1)[1].rsplit(',', 1)[0]},1,{r.rsplit(',', 1)[1]}" for r in lines[1:]]
    return "\n".join(["Date,Open,High,Low,Close,Adj Close,Volume", *rows]) + "\n"


async def test_an_import_of_times_without_a_zone_needs_tz(http: httpx.AsyncClient) -> None:
    key = {"exchange": "csv", "symbol": "TZ/USD", "timeframe": "1d"}
    naive = as_yahoo(SPX)
    r = await import_text(http, naive, name="spx.csv", **key)
    assert r.status_code == 422 and r.json()["line"] == 2, r.text
    assert "has no zone" in r.json()["detail"] and '"tz": "UTC"' in r.json()["detail"]
    unknown = await import_text(http, naive, **key, tz="Mars/Olympus")
    assert unknown.status_code == 422 and "not a known time zone" in unknown.json()["detail"]
    r = await import_text(http, naive, name="spx.csv", **key, tz="UTC")
    assert r.status_code == 201, r.text
    assert (r.json()["bars"], r.json()["first"]) == (3000, "2007-02-01T00:00:00Z")
    bars = (await http.get("/data/candles", params=key | {"since": "2007-02-01", "limit": 1})).json()["data"]
    assert bars[0]["close"] == "1445.94"  # Close, not Adj Close


async def test_a_backtest_of_an_upload_without_zones_takes_tz(http: httpx.AsyncClient) -> None:
    naive = as_yahoo(SPX)
    bad = await http.post(
        "/data/files",
        params={"tz": "UTC"},
        content=naive.replace(",1446.64,", ",-1,", 1),
        headers={"Content-Type": "text/csv"},
    )
    assert bad.status_code == 422 and bad.json()["line"] == 2, bad.text
    kept = await http.post(
        "/data/files", params={"tz": "UTC"}, content=naive, headers={"Content-Type": "text/csv"}
    )
    assert kept.status_code == 201, kept.text
    data = {"csv_path": kept.json()["csv_path"], "last": 800}
    refusals = [
        ({"data": data | {"tz": "Mars/Olympus"}}, "not a known time zone"),
        ({"data": {"symbol": "MSFT/USD", "tz": "UTC"}}, "tz applies to csv_path only"),
    ]
    for body, reason in refusals:
        r = await http.post("/backtests", json=body | {"strategy": "sma_cross"})
        assert r.status_code == 422 and reason in r.text, r.text
    results = []
    for given in (data, data | {"tz": "UTC"}):
        r = await http.post("/backtests", json={"data": given, "strategy": "sma_cross"})
        assert r.status_code == 202, r.text
        results.append(await finished(http, f"/backtests/{r.json()['id']}"))
    without, with_tz = results
    assert without["status"] == "failed" and "line 2: ts '2007-02-01' has no zone" in without["error"]
    assert with_tz["status"] == "done", with_tz["error"]
    assert with_tz["metrics"]["trades"] > 0


async def test_after_a_restart_the_paper_venue_lists_a_stored_paper_series(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    url = sqlite_url(home / "asts.db")
    await migrate(url)
    engine = make_engine(url)
    deps = Deps(sessions=make_sessionmaker(engine), home=home)
    try:
        await import_csv(deps, text=SPX, exchange="paper", symbol="IDX/USD", timeframe="1d")
    finally:
        await deps.close()
        await engine.dispose()
    async with serve_api(dev_env, home) as base, api_client(base, timeout=30) as http:
        markets = {
            m["symbol"]: m for m in (await http.get("/markets", params={"exchange": "paper"})).json()["data"]
        }
        assert {"IDX/USD", "MSFT/USD", "EUR/USD"} <= set(markets)
        ticker = (await http.get("/data", params={"exchange": "paper"})).json()
        assert [s["symbol"] for s in ticker["data"]] == ["IDX/USD"]
