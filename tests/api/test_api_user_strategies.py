"""A user's own strategy from a strategy directory: listed, validated, trading on the paper venue with
the signals its backtest gives bar by bar, pinned to its code version until upgraded."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from asts import registry
from asts.bars import Bars
from asts.engine import targets_of
from exchanges.data import DATA_DIR, load_candles
from tests.api.live import api_client, poll, serve_api
from tests.asts.samples import MOMENTUM, PAIRS, package_on_path
from trading.rules import CODE_TARGETS

FLIPPED = MOMENTUM.replace(
    "long=bars.close > before, flat=bars.close < before", "long=bars.close < before, flat=bars.close > before"
)
PARAMS = {"n": 3, "size": "5"}
MSFT = Bars.from_candles(load_candles(DATA_DIR / "MSFT-USD-1d.csv"))
BAR_INDEX = {int(t): i for i, t in enumerate(MSFT.ts)}


@pytest.fixture(scope="module")
def strategy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("strategies")
    (d / "momentum.py").write_text(textwrap.dedent(MOMENTUM))
    (d / "pairs.py").write_text(textwrap.dedent(PAIRS))
    return d


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, strategy_dir: Path
) -> AsyncIterator[str]:
    before = registry._current
    home = tmp_path_factory.mktemp("api")
    try:
        with package_on_path(tmp_path_factory.mktemp("site")):
            async with serve_api(dev_env, home, strategy_paths=str(strategy_dir)) as base:
                yield base
    finally:
        registry._current = before


@pytest_asyncio.fixture(loop_scope="session")
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(url, role="trader") as client:
        yield client


async def test_the_user_strategy_is_listed_with_its_schema_source_and_version(
    http: httpx.AsyncClient, strategy_dir: Path
) -> None:
    r = await http.get("/strategy-types")
    assert r.status_code == 200, r.text
    types = {t["name"]: t for t in r.json()["data"]}
    assert {"sma_cross", "rsi_reversion", "agent", "momentum"} <= set(types)
    m = types["momentum"]
    assert m["source"] == "file" and m["origin"] == str(strategy_dir / "momentum.py")
    assert m["code_version"] == registry.code_version(textwrap.dedent(MOMENTUM))
    assert m["params_schema"]["properties"]["n"]["maximum"] == 500 and m["warmup"] == 11
    assert types["sma_cross"]["source"] == "built-in"
    one = await http.get("/strategy-types/momentum")
    assert one.status_code == 200 and one.json() == m
    assert (await http.get("/strategy-types/nope")).status_code == 404


async def test_its_params_are_validated_naming_the_field(http: httpx.AsyncClient) -> None:
    body = {"name": "bad", "type": "momentum", "symbols": ["MSFT/USD"], "interval": "1s", "params": {"n": 0}}
    r = await http.post("/strategies", json=body)
    assert r.status_code == 422 and "n:" in r.json()["detail"], r.text
    r = await http.post("/strategies", json=body | {"params": {"lookback": 3}})
    assert r.status_code == 422 and "unknown parameter 'lookback'" in r.json()["detail"]


async def decisions(http: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    r = await http.get("/decisions", params={"strategy_id": sid, "limit": 5000})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def detail(http: httpx.AsyncClient, decision_id: int) -> dict[str, Any]:
    r = await http.get(f"/decisions/{decision_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_it_trades_on_the_paper_venue_with_its_backtest_s_signals_then_stays_on_its_version(
    http: httpx.AsyncClient, url: str, strategy_dir: Path
) -> None:
    r = await http.post(
        "/strategies",
        json={
            "name": "mine",
            "type": "momentum",
            "symbols": ["MSFT/USD"],
            "interval": "300ms",
            "params": PARAMS,
        },
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    v1 = registry.current().get("momentum")

    async def traded() -> bool:
        orders = (await http.get("/orders", params={"strategy_id": sid})).json()["count"]
        return orders >= 2 and len(await decisions(http, sid)) >= 30

    await poll(traded, "the user strategy to decide and trade", timeout=60)
    row = (await http.get(f"/strategies/{sid}")).json()
    assert row["code_version"] == v1.version and row["type"] == "momentum"

    # Bar by bar: every live decision is the backtest's target for the bar it read last.
    whole = targets_of(v1, MSFT, PARAMS)
    seen = await decisions(http, sid)
    for d in seen:
        assert d["code_version"] == v1.version
        last = datetime.fromisoformat((await detail(http, d["id"]))["inputs"]["window"]["last"])
        i = BAR_INDEX[int(last.timestamp()) * 10**9]
        assert CODE_TARGETS[int(whole[i])].value == d["target"], (last, d)
    assert {d["target"] for d in seen} >= {"long", "flat"}  # both sides of the rule, each compared

    # The file changes and the process loads it again (a restart): the strategy keeps version 1.
    (strategy_dir / "momentum.py").write_text(textwrap.dedent(FLIPPED))
    registry.install(registry.load([strategy_dir], cache_dir=registry.default_cache_dir()))
    v2 = registry.current().get("momentum")
    assert v2.version != v1.version
    count = len(await decisions(http, sid))

    async def more() -> bool:
        return len(await decisions(http, sid)) >= count + 5

    await poll(more, "decisions after the reload", timeout=60)
    assert {d["code_version"] for d in await decisions(http, sid)} == {v1.version}

    # Upgraded by its owner: from the next cycle on it decides with version 2, and that is recorded.
    r = await http.post(f"/strategies/{sid}/upgrade")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "strategy_id": sid,
        "from_version": v1.version,
        "to_version": v2.version,
        "changed": True,
    }
    again = await http.post(f"/strategies/{sid}/upgrade")
    assert again.json()["changed"] is False

    async def upgraded() -> list[dict[str, Any]]:
        return [d for d in await decisions(http, sid) if d["code_version"] == v2.version][:3]

    news = await poll(upgraded, "a decision by version 2", timeout=60)
    flipped = targets_of(v2, MSFT, PARAMS)
    for d in news:
        last = datetime.fromisoformat((await detail(http, d["id"]))["inputs"]["window"]["last"])
        assert CODE_TARGETS[int(flipped[BAR_INDEX[int(last.timestamp()) * 10**9]])].value == d["target"]
    events = (await http.get("/events", params={"strategy_id": sid, "kind": "code_upgraded"})).json()["data"]
    assert len(events) == 1 and v2.version in events[0]["reason"] and "trader1" in events[0]["reason"]
    assert (await http.get(f"/strategies/{sid}")).json()["code_version"] == v2.version


async def backtested(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """POST /backtests with ``body`` and wait for the finished record."""
    r = await http.post("/backtests", json=body)
    assert r.status_code == 202, r.text
    bid = r.json()["id"]

    async def done() -> dict[str, Any] | None:
        got = (await http.get(f"/backtests/{bid}")).json()
        return got if got["status"] in ("done", "failed") else None

    return await poll(done, f"backtest {bid}", timeout=60)


async def test_a_rest_backtest_runs_the_user_strategy(http: httpx.AsyncClient) -> None:
    body = {"strategy": "momentum", "params": PARAMS, "data": {"symbol": "MSFT/USD", "last": 500}}
    result = await backtested(http, body)
    assert result["status"] == "done", result
    assert result["metrics"]["trades"] > 5


async def test_a_strategy_from_an_installed_package_starts_over_rest_and_trades(
    http: httpx.AsyncClient,
) -> None:
    kinds = {t["name"]: t for t in (await http.get("/strategy-types")).json()["data"]}
    assert kinds["pkg_momentum"]["source"] == "package"
    assert kinds["pkg_momentum"]["origin"].endswith("asts_demo_pkg/__init__.py")
    body = {
        "name": "pkg",
        "type": "pkg_momentum",
        "symbols": ["MSFT/USD"],
        "interval": "300ms",
        "params": PARAMS,
    }
    r = await http.post("/strategies", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    async def traded() -> bool:
        return (await http.get("/orders", params={"strategy_id": sid})).json()["count"] >= 1

    await poll(traded, "the package's strategy to trade", timeout=60)
    row = (await http.get(f"/strategies/{sid}")).json()
    assert row["code_version"] == kinds["pkg_momentum"]["code_version"]


async def test_a_strategy_reading_a_peer_backtests_with_its_series_and_needs_it(
    http: httpx.AsyncClient,
) -> None:
    data = {"symbol": "MSFT/USD", "last": 800}
    lacking = await http.post("/backtests", json={"strategy": "pairs", "data": data})
    assert lacking.status_code == 422 and "GOOGL/USD" in lacking.json()["detail"]
    body = {"strategy": "pairs", "data": data, "peers": {"GOOGL/USD": {"symbol": "GOOGL/USD"}}}
    result = await backtested(http, body)
    assert result["status"] == "done" and result["metrics"]["trades"] > 5, result
    alone = {"name": "pairs", "type": "pairs", "symbols": ["MSFT/USD"], "interval": "1h"}
    refused = await http.post("/strategies", json=alone)
    assert refused.status_code == 422 and "add it to symbols" in refused.json()["detail"]
