"""`GET /scan` and strategies with a universe, over real HTTP against the real app and paper venue."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from exchanges.emulator.binance import BinanceEmulator, serve_binance_emulator
from tests.api.live import api_client, serve_api, start_strategy, strategy_body
from worker.launcher import free_port

PAPER = {"MSFT/USD", "GOOGL/USD", "EUR/USD", "SPX/USD"}
ROW_FIELDS = {"rank", "symbol", "score", "momentum", "volatility", "quote_volume", "spread_bps", "last"}


async def _scan(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await http.get("/scan", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_scan_ranks_the_paper_universe_in_two_requests(http: httpx.AsyncClient) -> None:
    out = await _scan(http, exchange="paper", top=10, quote="USD")
    assert out["exchange"] == "paper" and out["universe"] == 4
    rows = out["data"]
    assert out["count"] == len(rows) == 4 and {r["symbol"] for r in rows} == PAPER
    assert ROW_FIELDS <= set(rows[0])
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    keys = [(-r["score"], r["symbol"]) for r in rows]
    assert keys == sorted(keys)  # best first, equal scores by symbol
    assert all(float(r["last"]) > 0 and r["spread_bps"] > 0 for r in rows)
    assert out["requests"] == 2 and out["requests_by_method"] == {"markets": 1, "tickers": 1}
    assert out["filtered"] == [] and out["elapsed_ms"] >= 0

    # Scores move with the replayed prices (20 bars a second): compare scans of one bar, the top 2
    # between two full scans that saw the same prices (no bar began in between).
    def lasts(scan: dict[str, Any]) -> dict[str, str]:
        return {r["symbol"]: r["last"] for r in scan["data"]}

    for _ in range(200):
        before = await _scan(http, top=10, quote="USD")
        top2 = await _scan(http, top=2)
        after = await _scan(http, top=10, quote="USD")
        if lasts(before) == lasts(after):
            break
    else:
        pytest.fail("no bar lasted three scans: nothing to compare")
    ranked = sorted(before["data"], key=lambda r: (-r["score"], r["symbol"]))
    assert [r["symbol"] for r in top2["data"]] == [r["symbol"] for r in ranked[:2]]


async def test_filters_report_what_they_drop_and_why(http: httpx.AsyncClient) -> None:
    # Spreads move with the replayed prices (20 bars a second): the two scans must see one bar.
    for _ in range(20):
        every = {r["symbol"]: r for r in (await _scan(http))["data"]}
        widest = max(every.values(), key=lambda r: r["spread_bps"])
        limit = sorted(r["spread_bps"] for r in every.values())[-2]  # all but the widest pass
        out = await _scan(
            http, max_spread_bps=limit, min_volume="", symbols="MSFT/USD,GOOGL/USD,EUR/USD,SPX/USD,NOPE/USD"
        )
        if all(every[r["symbol"]]["last"] == r["last"] for r in out["data"]):
            break
    assert {r["symbol"] for r in out["data"]} == PAPER - {widest["symbol"]}
    reasons = {f["symbol"]: f["reason"] for f in out["filtered"]}
    assert reasons == {widest["symbol"]: "wide_spread", "NOPE/USD": "unlisted"}
    huge = await _scan(http, min_volume="1e30")
    assert huge["data"] == [] and {f["reason"] for f in huge["filtered"]} == {"low_volume"}
    assert len(huge["filtered"]) == 4 and "below 1E+30" in huge["filtered"][0]["detail"]


async def test_weights_change_the_order(http: httpx.AsyncClient) -> None:
    by_volume = await _scan(http, w_momentum=0, w_volatility=0, w_volume=1, w_spread=0)
    volumes = [float(r["quote_volume"]) for r in by_volume["data"]]
    assert volumes == sorted(volumes, reverse=True)
    by_spread = await _scan(http, w_momentum=0, w_volatility=0, w_volume=0, w_spread=1)
    spreads = [r["spread_bps"] for r in by_spread["data"]]
    assert spreads == sorted(spreads)


async def test_refine_re_ranks_the_head_from_bars(http: httpx.AsyncClient) -> None:
    out = await _scan(http, refine=3)
    assert out["requests_by_method"] == {"markets": 1, "tickers": 1, "ohlcv": 3}
    refined = [r for r in out["data"] if r["bar_momentum"] is not None]
    assert len(refined) == 3 and [r["rank"] for r in refined] == [1, 2, 3]


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "top zero": ({"top": 0}, "top: Input should be greater than or equal to 1"),
    "top a word": ({"top": "ten"}, "top: Input should be a valid integer"),
    "negative volume": ({"min_volume": "-1"}, "min_volume: Input should be greater than or equal to 0"),
    "negative spread": (
        {"max_spread_bps": "-1"},
        "max_spread_bps: Input should be greater than or equal to 0",
    ),
    "too much refining": ({"refine": 1000}, "refine: Input should be less than or equal to 200"),
    "all weights zero": (
        {"w_momentum": 0, "w_volatility": 0, "w_volume": 0, "w_spread": 0},
        "at least one weight must be non-zero",
    ),
    "repeated symbols": ({"symbols": "MSFT/USD,MSFT/USD"}, "symbols must not repeat"),
    "unknown exchange": ({"exchange": "nope"}, "unknown exchange 'nope'"),
}


@pytest.mark.parametrize(("params", "reason"), BAD.values(), ids=BAD.keys())
async def test_bad_parameters_are_refused_with_the_reason(
    http: httpx.AsyncClient, params: dict[str, Any], reason: str
) -> None:
    r = await http.get("/scan", params=params)
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]


async def test_a_strategy_with_a_universe_starts_and_bad_universes_are_refused(
    http: httpx.AsyncClient,
) -> None:
    sid = await start_strategy(http, symbols=[], universe={"quote": "USD", "top": 2})
    row = (await http.get(f"/strategies/{sid}")).json()
    assert row["symbols"] == [] and row["status"] == "running"
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "neither": ({"symbols": []}, "symbols: List should have at least 1 item, or give a universe"),
        "both": ({"universe": {"top": 2}}, "give symbols or a universe, not both"),
        "top too big": ({"symbols": [], "universe": {"top": 51}}, "top must be at most 50 for a strategy"),
        "unlisted": (
            {"symbols": [], "universe": {"symbols": ["NOPE/USD"]}},
            "NOPE/USD: the venue does not list it",
        ),
        "no such quote": ({"symbols": [], "universe": {"quote": "EUR"}}, "lists no symbol quoted in EUR"),
        "bad field": ({"symbols": [], "universe": {"top": 2, "colour": 1}}, "Extra inputs are not permitted"),
    }
    for name, (overrides, reason) in cases.items():
        r = await http.post("/strategies", json=strategy_body(**overrides))
        assert r.status_code == 422, (name, r.text)
        assert reason in r.json()["detail"], name


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def venue_api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, BinanceEmulator]]:
    """An API (no worker) with two ccxt venues: "emu", a Binance emulator listing 500 USDT
    markets, and "down", at a port nothing listens on."""
    async with contextlib.AsyncExitStack() as stack:
        emu = await stack.enter_async_context(serve_binance_emulator(synthetic=500, series={}))
        venues = {
            "emu": {"ccxt_id": "binance", "api_url": emu.url},
            "down": {"ccxt_id": "binance", "api_url": f"http://127.0.0.1:{free_port()}", "timeout_ms": 2000},
        }
        before = os.environ.get("ASTS_EXCHANGES")
        os.environ["ASTS_EXCHANGES"] = json.dumps(venues)  # read once, as the app's settings are made
        try:
            url = await stack.enter_async_context(
                serve_api(dev_env, tmp_path_factory.mktemp("scan-venues"), worker=False)
            )
        finally:
            if before is None:
                os.environ.pop("ASTS_EXCHANGES", None)
            else:
                os.environ["ASTS_EXCHANGES"] = before
        yield url, emu


async def test_500_symbols_of_a_binance_venue_take_one_tickers_request(
    venue_api: tuple[str, BinanceEmulator],
) -> None:
    url, emu = venue_api
    async with api_client(url, timeout=60) as http:
        before = emu.requests()
        r = await http.get("/scan", params={"exchange": "emu", "quote": "USDT", "top": 10, "refine": 12})
        assert r.status_code == 200, r.text
        out = r.json()
    assert out["universe"] == 500 and out["count"] == 10
    assert out["requests_by_method"] == {"markets": 1, "tickers": 1, "ohlcv": 12}
    after = emu.requests()
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert spent["GET /api/v3/ticker/24hr"] == 1 and spent["GET /api/v3/klines"] == 12
    assert spent.get("GET /api/v3/exchangeInfo", 0) <= 1  # once per connection of the API
    assert set(spent) <= {"GET /api/v3/exchangeInfo", "GET /api/v3/ticker/24hr", "GET /api/v3/klines"}


async def test_an_unreachable_venue_answers_503(venue_api: tuple[str, BinanceEmulator]) -> None:
    async with api_client(venue_api[0], timeout=30) as http:
        r = await http.get("/scan", params={"exchange": "down"})
    assert r.status_code == 503, r.text
    assert "down" in r.json()["detail"]
