"""The ingest_feed activity on the bundled sample feeds, from files and over real HTTP, and its failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.deps import Deps
from activities.feeds import ROOT
from activities.ingest import IngestActivities
from activities.ingest_contracts import FeedResult, FeedSource
from store import repo
from store.models import LlmCallRow
from tests.agents.support import llm_config
from tests.llm_emulator import LlmEmulator
from worker.launcher import free_port

SAMPLES = ROOT / "data" / "news"
SHARED_AT = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


class Routes(BaseHTTPRequestHandler):
    """Serves ``routes``: path → (status, body); counts every request."""

    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}
    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        Routes.hits[self.path] = Routes.hits.get(self.path, 0) + 1
        code, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def http_feeds() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the sample feeds and some broken answers; yields its URL."""
    Routes.routes = {
        "/rss": (200, (SAMPLES / "sample.xml").read_bytes()),
        "/feed": (200, (SAMPLES / "sample.json").read_bytes()),
        "/boom": (500, b"internal error"),
        "/busy": (503, b"try later"),
        "/garbage": (200, b"this is neither XML nor JSON {"),
    }
    Routes.hits = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def ingest(deps: Deps, **feed: Any) -> FeedResult:
    """Run the activity as Temporal would, on one feed."""
    result: FeedResult = await ActivityEnvironment().run(
        IngestActivities(deps).ingest_feed, FeedSource(**feed)
    )
    return result


async def failure(deps: Deps, **feed: Any) -> ApplicationError:
    """The ApplicationError the activity fails with."""
    with pytest.raises(ApplicationError) as info:
        await ingest(deps, **feed)
    return info.value


async def test_the_sample_feeds_store_each_story_once(backend: tuple[Deps, str]) -> None:
    deps = backend[0]
    rss = await ingest(deps, name="rss", path="data/news/sample.xml")
    assert (rss.fetched, rss.new, rss.duplicates, rss.skipped, rss.errors, rss.failed) == (
        15,
        15,
        0,
        0,
        [],
        False,
    )
    js = await ingest(deps, name="json", path=str(SAMPLES / "sample.json"))
    assert (js.fetched, js.new, js.duplicates, js.skipped) == (10, 9, 1, 0)
    again = await ingest(deps, name="rss", path="data/news/sample.xml")
    assert (again.new, again.duplicates) == (0, 15)
    async with deps.sessions() as s:
        rows = await repo.list_news(s, limit=1000)
        assert len(rows) == 24
        assert all(r.sentiment_method == "lexicon" and -1 < r.sentiment < 1 for r in rows)
        euro = await repo.news_as_of(s, symbol="EUR/USD", as_of=SHARED_AT)
        assert euro[0].title == "Euro climbs to three-month high against the dollar"
        assert euro[0].source == "rss" and euro[0].published_at == SHARED_AT and euro[0].sentiment > 0
        assert "ECB & the Federal Reserve" in euro[0].summary and "<b>" not in euro[0].summary
        before = await repo.news_as_of(s, symbol="EUR/USD", as_of=SHARED_AT.replace(second=0, minute=29))
        assert all(r.published_at < SHARED_AT for r in before) and before[0].title != euro[0].title
        msft_2017 = await repo.list_news(s, symbol="MSFT/USD", until=datetime(2018, 1, 1, tzinfo=UTC))
        assert len(msft_2017) == 5
        lawsuit = next(r for r in rows if "lawsuit" in r.title)
        assert lawsuit.symbols == ["GOOGL/USD"] and lawsuit.sentiment < 0


async def test_the_same_feeds_over_http_give_the_same_counts(deps: Deps, http_feeds: str) -> None:
    rss = await ingest(deps, name="rss", url=f"{http_feeds}/rss")
    assert (rss.fetched, rss.new, rss.duplicates) == (15, 15, 0)
    js = await ingest(deps, name="json", url=f"{http_feeds}/feed")  # no extension: detected as JSON
    assert (js.fetched, js.new, js.duplicates) == (10, 9, 1)
    async with deps.sessions() as s:
        assert {r.source for r in await repo.list_news(s, limit=1000)} == {"rss", "json"}


@pytest.mark.parametrize("path", ["/boom", "/busy"])
async def test_a_server_error_is_retryable(deps: Deps, http_feeds: str, path: str) -> None:
    err = await failure(deps, name="flaky", url=f"{http_feeds}{path}")
    assert err.type == "TemporaryError" and not err.non_retryable
    assert "answered 5" in err.message and path in err.message
    assert Routes.hits[path] == 1  # the activity does not retry by itself: Temporal does
    async with deps.sessions() as s:
        assert await repo.list_news(s) == []


async def test_an_unreachable_server_is_retryable(deps: Deps) -> None:
    err = await failure(deps, name="down", url=f"http://127.0.0.1:{free_port()}/rss")
    assert err.type == "TemporaryError" and not err.non_retryable and "cannot fetch" in err.message


async def test_a_missing_page_is_a_clear_non_retryable_error(deps: Deps, http_feeds: str) -> None:
    err = await failure(deps, name="gone", url=f"{http_feeds}/nosuch.xml")
    assert err.type == "InvalidInput" and err.non_retryable
    assert err.message == f"feed 'gone': {http_feeds}/nosuch.xml answered 404 Not Found"


async def test_a_missing_file_names_its_path(deps: Deps, tmp_path: Path) -> None:
    err = await failure(deps, name="nofile", path=str(tmp_path / "absent.xml"))
    assert err.type == "InvalidInput" and err.non_retryable
    assert str(tmp_path / "absent.xml") in err.message


@pytest.mark.parametrize(
    ("body", "fmt", "reason"),
    [
        (b"this is neither XML nor JSON {", "auto", "not valid RSS or Atom"),
        (b"<html><body>hello</body></html>", "rss", "not valid RSS or Atom"),
        (b'{"items": [', "auto", "not valid JSON"),
        (b'{"title": "no items"}', "json", "'items' list"),
        (b'"just a string"', "json", "JSON Feed object or a list"),
    ],
)
async def test_a_malformed_feed_is_a_clear_error(
    deps: Deps, tmp_path: Path, body: bytes, fmt: str, reason: str
) -> None:
    path = tmp_path / "feed.txt"
    path.write_bytes(body)
    err = await failure(deps, name="bad", path=str(path), format=fmt)
    assert err.type == "InvalidInput" and err.non_retryable and reason in err.message


async def test_garbage_over_http_is_a_clear_error(deps: Deps, http_feeds: str) -> None:
    err = await failure(deps, name="junk", url=f"{http_feeds}/garbage")
    assert err.non_retryable and "feed 'junk' is not valid RSS or Atom" in err.message


async def test_untitled_items_are_skipped_and_undated_ones_are_published_when_ingested(
    deps: Deps, tmp_path: Path
) -> None:
    items = [
        {"title": "", "summary": "Microsoft gains"},
        {"title": "Microsoft note without a date", "body": "<p>Shares rose</p>"},
        42,
        {"title": "Euro from the future", "published": "2999-01-01T00:00:00Z", "id": 7},
        {"title": "Euro on a date we cannot read", "published_at": "the day after tomorrow"},
        {"title": "Google rally", "published_at": "Tue, 05 Sep 2017 14:00:00 GMT", "url": "https://x.test/g"},
    ]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(items))
    before = datetime.now(UTC)
    out = await ingest(deps, name="list", path=str(path))
    after = datetime.now(UTC)
    assert (out.fetched, out.new, out.duplicates, out.skipped) == (6, 4, 0, 2)
    assert any("item 1: no title" in e for e in out.errors)
    assert any("item 3: not a JSON object" in e for e in out.errors)
    assert any("item 5: unreadable date" in e for e in out.errors)
    async with deps.sessions() as s:
        rows = {r.title: r for r in await repo.list_news(s)}
    assert before <= rows["Microsoft note without a date"].published_at <= after
    assert before <= rows["Euro from the future"].published_at <= after
    assert rows["Euro from the future"].guid == "7"
    assert before <= rows["Euro on a date we cannot read"].published_at <= after
    google = rows["Google rally"]
    assert google.published_at == datetime(2017, 9, 5, 14, tzinfo=UTC) and google.url == "https://x.test/g"
    assert rows["Microsoft note without a date"].summary == "Shares rose"


async def test_a_feed_can_bring_its_own_aliases(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "crypto.json"
    path.write_text(json.dumps([{"title": "Microsoft adds bitcoin to its treasury", "id": "c1"}]))
    aliases = {"BTC/USDT": ["bitcoin", "BTC"], "MSFT/USD": []}
    assert (await ingest(deps, name="crypto", path=str(path), aliases=aliases)).new == 1
    async with deps.sessions() as s:
        (row,) = await repo.list_news(s)
        assert row.symbols == ["BTC/USDT"]
        assert await repo.news_as_of(s, symbol="MSFT/USD", as_of=datetime.now(UTC)) == []


def test_a_feed_needs_exactly_one_location() -> None:
    with pytest.raises(ValueError, match="exactly one of url or path"):
        FeedSource(name="none")
    with pytest.raises(ValueError, match="exactly one of url or path"):
        FeedSource(name="both", url="https://x.test/f", path="f.xml")
    with pytest.raises(ValueError, match="http:// or https://"):
        FeedSource(name="ftp", url="ftp://x.test/f")
    assert FeedSource(name="ok", url="HTTPS://x.test/f").location == "HTTPS://x.test/f"


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2017-10-26T20:20:00Z</updated>
<entry><title>Alphabet tops forecasts</title><id>urn:a:1</id><link href="https://news.example.com/a1"/>
<updated>2017-10-26T20:20:00Z</updated>
<content type="html">&lt;p&gt;Google revenue grew&lt;/p&gt;</content></entry>
</feed>"""
LOOSE_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Euro rises&nbsp;again</title><pubDate>Fri, 03 Nov 2017 10:10:00 GMT</pubDate></item>
</channel></rss>"""


async def test_an_atom_feed_is_read_like_rss(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "atom.xml"
    path.write_bytes(ATOM)
    assert (await ingest(deps, name="atom", path=str(path))).new == 1
    async with deps.sessions() as s:
        (row,) = await repo.list_news(s)
    assert (row.title, row.summary, row.guid, row.url) == (
        "Alphabet tops forecasts",
        "Google revenue grew",
        "urn:a:1",
        "https://news.example.com/a1",
    )
    assert row.published_at == datetime(2017, 10, 26, 20, 20, tzinfo=UTC)
    assert row.symbols == ["GOOGL/USD"] and row.sentiment > 0


async def test_a_loose_feed_that_still_has_items_is_read_with_a_note(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "loose.xml"
    path.write_bytes(LOOSE_RSS)
    out = await ingest(deps, name="loose", path=str(path))
    assert (out.fetched, out.new, out.failed) == (1, 1, False)
    assert out.errors and "malformed" in out.errors[0] and "undefined entity" in out.errors[0]
    async with deps.sessions() as s:
        (row,) = await repo.list_news(s)
    assert row.title == "Euro rises again" and row.symbols == ["EUR/USD"]


async def test_with_a_model_new_items_get_its_sentiment_and_the_calls_are_recorded(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu)
    # Alternate the model's answers: strongly negative, then the emulator's default (its first enum value).
    emu.script("ok", "500")
    emu.answer({"sentiment": -0.9})
    first = await ingest(deps, name="sample-rss", path="data/news/sample.xml")
    assert first.new == 15 and any("lexicon score" in e for e in first.errors)
    async with deps.sessions() as s:
        rows = await repo.list_news(s, limit=100)
        calls = (await s.scalars(select(LlmCallRow).where(LlmCallRow.purpose == "sentiment"))).all()
    methods = [r.sentiment_method for r in rows]
    assert methods.count("lexicon") == 1 and methods.count("llm") == 14
    assert -0.9 in [r.sentiment for r in rows if r.sentiment_method == "llm"]
    assert (
        len(calls) == 15 and sum(not c.ok for c in calls) == 1 and all(c.strategy_id is None for c in calls)
    )
    asked = len(emu.requests)
    again = await ingest(deps, name="sample-rss", path="data/news/sample.xml")
    assert again.new == 0 and len(emu.requests) == asked  # stored items are never scored twice
    lexicon_only = await ingest(deps, name="sample-json", path="data/news/sample.json", sentiment="lexicon")
    assert lexicon_only.new > 0 and len(emu.requests) == asked
