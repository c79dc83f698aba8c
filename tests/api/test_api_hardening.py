"""Bad input gets a clear 4xx in bounded time, never a 500 and never a stall (real app, real HTTP).

Each probe asserts the status, the reason and that the answer came within ``FAST_S``: a
pathological value (a 40 KB duration, a 2 MB body, a body that never ends) is refused before
anything expensive looks at it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.api.live import api_client, serve_api

FAST_S = 0.1
MiB = 1024 * 1024
TIMEFRAMES = "e.g. 1m, 5m, 15m, 1h, 4h, 1d, 1w"
OUTSIDE = "csv_path must name a file under the data directory"


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served API's home: its data directory is ``data`` under it."""
    return tmp_path_factory.mktemp("hardening")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(dev_env: WorkflowEnvironment, api_home: Path) -> AsyncIterator[str]:
    """This module's API (the ``http`` fixture's), served from a home the tests know."""
    async with serve_api(dev_env, api_home) as url:
        yield url


async def timed(
    send: Callable[[], Awaitable[httpx.Response]], tries: int = 3
) -> tuple[httpx.Response, float]:
    """The response to the request ``send`` makes, and the fewest seconds it took in ``tries`` tries
    (a machine busy with other tests can delay one answer; a slow path is slow every time)."""
    fastest = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        r = await send()
        fastest = min(fastest, time.perf_counter() - started)
        if fastest < FAST_S:
            break
    return r, fastest


def detail(r: httpx.Response) -> str:
    """The reason an error answer gives."""
    return str(r.json()["detail"])


async def test_a_40_kb_duration_is_refused_at_once(http: httpx.AsyncClient) -> None:
    body = {"reason": "probe", "ack_timeout": "1" * 40_000 + "s"}
    r, took = await timed(lambda: http.post("/halt", json=body))
    assert r.status_code == 422, r.text
    assert "ack_timeout is 40001 characters long; a duration has at most 32" in detail(r)
    assert took < FAST_S, took


async def test_a_2_mb_json_body_is_refused_before_it_is_read(http: httpx.AsyncClient) -> None:
    body = b'{"name": "' + b"x" * (2 * MiB) + b'"}'
    r, took = await timed(
        lambda: http.post("/strategies", content=body, headers={"Content-Type": "application/json"})
    )
    assert r.status_code == 413, r.text
    assert detail(r) == f"the request body is over the {MiB} bytes allowed here"
    assert took < FAST_S, took


async def test_a_chunked_body_is_cut_off_once_it_grows_over_the_cap(http: httpx.AsyncClient) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"name": "'
        for _ in range(64):  # 4 MiB if it were all read
            sent += 64 * 1024
            yield b"x" * (64 * 1024)

    r, took = await timed(
        lambda: http.post("/strategies", content=endless(), headers={"Content-Type": "application/json"})
    )
    assert r.status_code == 413, r.text
    assert detail(r) == f"the request body is over the {MiB} bytes allowed here"
    assert took < FAST_S, took


async def test_a_csv_import_over_its_own_cap_is_refused(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with serve_api(dev_env, tmp_path, max_import_bytes=64 * 1024) as url, api_client(url) as http:
        params = {"symbol": "BIG/USD", "timeframe": "1d"}
        big = "ts,open,high,low,close,volume\n" + "2020-01-01T00:00:00Z,1,1,1,1,1\n" * 4000
        for chunked in (False, True):  # with a Content-Length, and without one
            r, took = await timed(
                lambda chunked=chunked: http.post(  # type: ignore[misc]
                    "/data/import",
                    params=params,
                    content=_chunks(big) if chunked else big,
                    headers={"Content-Type": "text/csv"},
                )
            )
            assert r.status_code == 413, r.text
            assert detail(r) == "the request body is over the 65536 bytes allowed here"
            assert took < FAST_S, took


async def _chunks(text: str) -> AsyncIterator[bytes]:
    data = text.encode()
    for i in range(0, len(data), 8192):
        yield data[i : i + 8192]


@pytest.mark.parametrize("path", ["/etc/passwd", "/nonexistent/x.csv", "../../../../etc/passwd"])
async def test_a_csv_path_outside_the_data_directory_gets_one_answer(
    http: httpx.AsyncClient, path: str
) -> None:
    r, took = await timed(
        lambda: http.post("/backtests", json={"data": {"csv_path": path}, "strategy": "sma_cross"})
    )
    assert r.status_code == 422, r.text
    assert detail(r) == OUTSIDE  # whether or not something is there
    assert took < FAST_S, took


async def test_a_symlink_in_the_data_directory_that_points_out_is_refused(
    http: httpx.AsyncClient, api_home: Path
) -> None:
    data = api_home / "data"
    data.mkdir(exist_ok=True)
    (data / "passwd.csv").symlink_to("/etc/passwd")
    (data / "nowhere.csv").symlink_to("/nonexistent/x.csv")
    for name in ("passwd.csv", "nowhere.csv", str(data / "passwd.csv")):
        r, took = await timed(
            lambda name=name: http.post(  # type: ignore[misc]
                "/backtests", json={"data": {"csv_path": name}, "strategy": "sma_cross"}
            )
        )
        assert r.status_code == 422, (name, r.text)
        assert detail(r) == OUTSIDE
        assert took < FAST_S, took


async def test_an_uploaded_csv_is_named_under_the_data_directory_and_backtested(
    http: httpx.AsyncClient, api_home: Path
) -> None:
    rows = [f"2021-01-{d:02d}T00:00:00Z,{100 + d},{101 + d},{99 + d},{100 + d},10" for d in range(1, 29)]
    text = "ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n"
    r = await http.post("/data/files", content=text, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    kept = r.json()
    assert kept["csv_path"].startswith("uploads/") and kept["bytes"] == len(text)
    assert (api_home / "data" / kept["csv_path"]).read_text() == text
    again = await http.post("/data/files", content=text, headers={"Content-Type": "text/csv"})
    assert again.json() == kept  # the same bytes are kept once
    body = {"data": {"csv_path": kept["csv_path"]}, "strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}
    assert (await http.post("/backtests", json=body)).status_code == 202
    for content, reason in ((b"", "the file is empty"), (b"\xff\xfe\x00", "the file is not UTF-8 text")):
        bad = await http.post("/data/files", content=content, headers={"Content-Type": "text/csv"})
        assert bad.status_code == 422 and detail(bad) == reason, bad.text


@pytest.mark.parametrize("ident", ["53727666973159876650176872448", str(2**63), "-1", "0"])
async def test_a_decision_id_that_cannot_be_stored_is_refused(http: httpx.AsyncClient, ident: str) -> None:
    r, took = await timed(lambda: http.get(f"/decisions/{ident}"))
    assert r.status_code == 422, r.text
    assert "decision_id: Input should be" in detail(r)
    assert took < FAST_S, took


async def test_the_largest_stored_decision_id_is_just_not_found(http: httpx.AsyncClient) -> None:
    r = await http.get(f"/decisions/{2**63 - 1}")
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("timeframe", ["", "x", "1M", "0h"])
async def test_an_empty_or_unknown_timeframe_names_the_known_ones(
    http: httpx.AsyncClient, timeframe: str
) -> None:
    r, took = await timed(lambda: http.get("/scan", params={"timeframe": timeframe}))
    assert r.status_code == 422, r.text
    assert detail(r).startswith("timeframe: ") and TIMEFRAMES in detail(r)
    assert took < FAST_S, took


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"top": "99999999999999999999999"}, "top: Input should be less than or equal to 1000"),
        ({"refine": "51"}, "refine: at most 50 on demand (ASTS_SCAN_MAX_REFINE), got 51"),
        ({"exchange": "binance"}, "unknown exchange 'binance'; configured: paper"),
        ({"w_momentum": "nan"}, "w_momentum: Input should be a finite number"),
    ],
)
async def test_scan_bounds_are_422(http: httpx.AsyncClient, params: dict[str, str], reason: str) -> None:
    r = await http.get("/scan", params=params)
    assert r.status_code == 422, r.text
    assert reason in detail(r)


async def test_a_form_posted_to_a_json_route_is_415(http: httpx.AsyncClient) -> None:
    r, took = await timed(lambda: http.post("/strategies", data={"name": "x", "type": "sma_cross"}))
    assert r.status_code == 415, r.text
    assert detail(r) == (
        "send the body as JSON (Content-Type: application/json), "
        "not Content-Type 'application/x-www-form-urlencoded'"
    )
    assert took < FAST_S, took
    plain = await http.post("/halt", content=b'{"reason": "x"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415, plain.text


async def test_the_sign_in_form_and_csv_uploads_are_not_json_and_pass(http: httpx.AsyncClient) -> None:
    r = await http.post("/auth/token", data={"username": "nobody", "password": "wrong password"})
    assert r.status_code != 415 and "no-store" in r.headers["cache-control"]
    csv = await http.post("/data/files", content="ts\n1\n", headers={"Content-Type": "text/csv"})
    assert csv.status_code == 201, csv.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]:80"])
async def test_a_foreign_host_header_is_400(http: httpx.AsyncClient, host: str) -> None:
    r, took = await timed(lambda: http.get("/health", headers={"Host": host}))
    assert r.status_code == 400, r.text
    assert detail(r) == f"Host {host!r} is not served here (allowed: ASTS_ALLOWED_HOSTS)"
    assert took < FAST_S, took


@pytest.mark.parametrize("host", ["127.0.0.1:1234", "localhost", "LOCALHOST:8000", "[::1]:8000"])
async def test_the_local_host_names_are_served(http: httpx.AsyncClient, host: str) -> None:
    r = await http.get("/health", headers={"Host": host})
    assert r.status_code == 200, r.text


async def test_every_answer_carries_the_security_headers(http: httpx.AsyncClient) -> None:
    answers = [
        await http.get("/health"),
        await http.get("/nope"),
        await http.get("/decisions/0"),
        await http.get("/health", headers={"Host": "evil.example"}),
        await http.post("/strategies", data={"a": "b"}),
    ]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    docs = await http.get("/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "http" not in csp  # Swagger UI's scripts are served here
    me = await http.get("/auth/me")
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        (
            "/strategies",
            {"name": "x", "type": "sma_cross", "symbols": ["MSFT/USD"], "exchange": "kraken"},
            "unknown exchange 'kraken'; configured: paper",
        ),
        (
            "/analyze",
            {"symbol": "MSFT/USD", "exchange": "kraken"},
            "unknown exchange 'kraken'; configured: paper",
        ),
        ("/reconcile", {"exchange": "kraken"}, "unknown exchange 'kraken'; configured: paper"),
        (
            "/backtests",
            {
                "data": {"store": {"exchange": "kraken", "symbol": "X/USD", "timeframe": "1d"}},
                "strategy": "sma_cross",
            },
            "data.store.exchange: unknown exchange 'kraken'; configured: paper, csv",
        ),
        (
            "/strategies",
            {
                "name": "x",
                "type": "sma_cross",
                "symbols": ["MSFT/USD"],
                "params": {f"k{i}": i for i in range(65)},
            },
            "params: Dictionary should have at most 64 items",
        ),
        (
            "/strategies",
            {"name": "x", "type": "sma_cross", "symbols": ["MSFT/USD"], "risk": {"a": "x" * 20_000}},
            "risk: Value error, is 20008 bytes as JSON, over the 16384 allowed",
        ),
        (
            "/strategies",
            {"name": "x", "type": "sma_cross", "symbols": ["x" * 65]},
            "symbols.0: String should have at most 64 characters",
        ),
        (
            "/strategies",
            {"name": "x", "type": "sma_cross", "symbols": ["MSFT/USD"], "interval": 10**400},
            "interval: Value error, interval must be between 50ms and 7 days",
        ),
        ("/halt", {"reason": "x", "ack_timeout": "2h"}, "ack_timeout must be between 50ms and 1h, got 7200s"),
        (
            "/optimizations",
            {"data": {"symbol": "MSFT/USD"}, "strategy": "sma_cross", "space": {"fast": [2, 9]}, "seed": -1},
            "seed: Input should be greater than or equal to 0",
        ),
    ],
)
async def test_unbounded_or_unconfigured_input_is_422(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], reason: str
) -> None:
    r, took = await timed(lambda: http.post(path, json=body))
    assert r.status_code == 422, r.text
    assert reason in detail(r)
    assert took < 1.0, took  # these reach the venue or the store: fast, if not as fast as the probes


async def test_a_strategy_without_an_interval_takes_the_default(http: httpx.AsyncClient) -> None:
    body = {
        "name": "default interval",
        "type": "sma_cross",
        "symbols": ["MSFT/USD"],
        "params": {"fast": 2, "slow": 5},
    }
    r = await http.post("/strategies", json=body)
    assert r.status_code == 201, r.text
    got = await http.get(f"/strategies/{r.json()['id']}")
    assert got.json()["interval_s"] == 10.0


@pytest.mark.parametrize(
    "path",
    ["/orders", "/positions", "/decisions", "/pnl", "/events", "/news", "/approvals", "/data", "/strategies"],
)
async def test_every_list_is_paged(http: httpx.AsyncClient, path: str) -> None:
    r = await http.get(path, params={"limit": 1, "offset": 0})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == len(r.json()["data"]) <= 1
    too_many = await http.get(path, params={"limit": 10**9})
    assert too_many.status_code == 422 and "limit: Input should be less than or equal to" in detail(too_many)
    negative = await http.get(path, params={"offset": -1})
    assert negative.status_code == 422, negative.text


async def test_markets_are_paged_by_symbol(http: httpx.AsyncClient) -> None:
    every = (await http.get("/markets")).json()
    page = (await http.get("/markets", params={"limit": 2, "offset": 1})).json()
    assert [m["symbol"] for m in page["data"]] == [m["symbol"] for m in every["data"]][1:3]
    assert page["count"] == 2


async def test_a_time_out_of_range_in_utc_is_422(http: httpx.AsyncClient) -> None:
    r = await http.get("/news", params={"since": "0001-01-01T00:00:00+01:00"})
    assert r.status_code == 422, r.text
    assert "out of range in UTC" in detail(r)


async def test_running_backtests_and_optimisations_are_capped(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    caps = {"max_running_backtests_per_user": 1, "max_running_optimizations": 1}
    # No worker: what starts stays running, so the count is exact.
    async with serve_api(dev_env, tmp_path, worker=False, **caps) as url, api_client(url) as http:
        backtest = {"data": {"symbol": "MSFT/USD"}, "strategy": "sma_cross"}
        assert (await http.post("/backtests", json=backtest)).status_code == 202
        r = await http.post("/backtests", json=backtest)
        assert r.status_code == 429, r.text
        assert detail(r) == (
            "admin has 1 backtests running, the most allowed (ASTS_MAX_RUNNING_BACKTESTS_PER_USER=1)"
        )
        search = {"data": {"symbol": "MSFT/USD"}, "strategy": "sma_cross", "space": {"fast": [2, 9]}}
        assert (await http.post("/optimizations", json=search)).status_code == 202
        r = await http.post("/optimizations", json=search)
        assert r.status_code == 429, r.text
        assert (
            detail(r)
            == "1 optimizations are running, the most allowed at once (ASTS_MAX_RUNNING_OPTIMIZATIONS=1)"
        )
