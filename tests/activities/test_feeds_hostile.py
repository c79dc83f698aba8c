"""A feed of hostile markup is parsed and its items built in bounded time (feedparser's sanitiser,
then our stripping, which is linear: see tests/trading/test_news_html.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from activities.ingest import build_items
from activities.ingest_contracts import FeedSource


def test_a_hostile_feed_is_parsed_and_its_items_built_in_bounded_time() -> None:
    summary = "&lt;script" * 10_000  # 100 KB of escaped markup, "<script" once unescaped
    xml = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>Microsoft &lt;b&gt;beats&lt;/b&gt;</title><description>{summary}</description>"
        "<guid>1</guid></item></channel></rss>"
    ).encode()
    source = FeedSource(name="hostile", path="hostile.xml")
    started = time.perf_counter()
    items, fetched, _ = build_items(source, xml, datetime(2026, 1, 1, tzinfo=UTC))
    assert time.perf_counter() - started < 5.0  # feedparser's own sanitiser is the slow part
    assert fetched == 1 and items[0].title == "Microsoft beats"
