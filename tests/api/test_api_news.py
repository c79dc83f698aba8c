"""GET /news over real HTTP, on a store filled by the real ingest activity from the sample feeds."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.deps import Deps
from activities.ingest import IngestActivities
from activities.ingest_contracts import FeedSource
from store.db import make_engine, make_sessionmaker
from tests.api.live import api_client, serve_api
from worker.settings import Settings

SAMPLE_ITEMS = 24  # 15 RSS + 10 JSON, one story in both


async def ingest_samples(home: Path) -> None:
    """Ingest both sample feeds into the store of the API served under ``home``."""
    engine = make_engine(Settings(home=home, database_url=None).db_url)
    deps = Deps(sessions=make_sessionmaker(engine), home=home)
    try:
        for name in ("sample.xml", "sample.json"):
            feed = FeedSource(name=name, path=f"data/news/{name}")
            await ActivityEnvironment().run(IngestActivities(deps).ingest_feed, feed)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def serve_news_api(env: WorkflowEnvironment, home: Path) -> AsyncIterator[str]:
    """The API (no worker needed: news is read from the store) with the sample feeds ingested."""
    async with serve_api(env, home, worker=False) as url:
        await ingest_samples(home)
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def news_http(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve_news_api(dev_env, tmp_path_factory.mktemp("news-api")) as url,
        api_client(url, timeout=30) as http,
    ):
        yield http


async def page(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    r = await http.get("/news", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(body["data"])
    return list(body["data"])


async def test_news_lists_every_item_newest_first(news_http: httpx.AsyncClient) -> None:
    items = await page(news_http)
    assert len(items) == SAMPLE_ITEMS
    stamps = [datetime.fromisoformat(n["published_at"]) for n in items]
    assert stamps == sorted(stamps, reverse=True)
    first = items[0]
    assert first["title"] == "Euro climbs to three-month high against the dollar"
    assert (
        first["symbols"] == ["EUR/USD"] and first["sentiment"] > 0 and first["sentiment_method"] == "lexicon"
    )
    assert set(first) >= {"id", "source", "guid", "url", "summary", "ingested_at", "content_hash"}
    assert len(await page(news_http, limit=3)) == 3


async def test_news_filters_by_symbol_and_time(news_http: httpx.AsyncClient) -> None:
    euro = await page(news_http, symbol="EUR/USD")
    assert euro and all("EUR/USD" in n["symbols"] for n in euro)
    assert [n["title"].casefold() for n in euro].count(
        "euro climbs to three-month high against the dollar"
    ) == 1
    until = "2017-12-31T23:59:59Z"
    msft = await page(news_http, symbol="MSFT/USD", until=until)
    assert len(msft) == 5
    assert all(datetime.fromisoformat(n["published_at"]) <= datetime(2018, 1, 1, tzinfo=UTC) for n in msft)
    window = await page(news_http, since="2026-11-01T00:00:00Z", until="2026-11-15T00:00:00Z")
    assert sorted(n["title"] for n in window) == [
        "ECB holds rates; euro little changed",
        "Microsoft shares tumble after cloud outage hits customers",
        "S&P 500 rallies to a record as tech stocks gain",
        "S&P 500 steady ahead of inflation report",
    ]
    # A time without a zone is UTC: the shared story at 14:30 is in, one second earlier it is out.
    assert (await page(news_http, symbol="EUR/USD", until="2026-11-20T14:30:00"))[0]["title"].startswith(
        "Euro"
    )
    earlier = await page(news_http, symbol="EUR/USD", until="2026-11-20T14:29:59")
    assert earlier[0]["title"] == "ECB holds rates; euro little changed"
    assert await page(news_http, symbol="BTC/USDT") == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"since": "not a date"}, "since"),
        ({"symbol": "X" * 65}, "symbol"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "is after until"),
    ],
)
async def test_bad_parameters_are_refused_with_a_reason(
    news_http: httpx.AsyncClient, params: dict[str, Any], reason: str
) -> None:
    r = await news_http.get("/news", params=params)
    assert r.status_code == 422
    assert reason in r.json()["detail"]
