"""DataSpider's activity: read one feed, turn its entries into news items, store the new ones."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import activity

from activities.deps import Deps, translate_errors, utcnow
from activities.feeds import detect_format, parse_feed, read_feed
from activities.ingest_contracts import FeedResult, FeedSource
from store import repo
from trading.news import NewsItem, make_news_item, merge_aliases

# Notes kept per feed in the result (the counts stay exact).
MAX_NOTES = 20


def build_items(source: FeedSource, raw: bytes, now: datetime) -> tuple[list[NewsItem], int, list[str]]:
    """Parse ``raw`` and make the news items: (items, entries fetched, notes on skipped or odd entries)."""
    parsed = parse_feed(raw, fmt=detect_format(source, raw), name=source.name)
    aliases = merge_aliases(source.aliases)
    notes = list(parsed.notes)
    items: list[NewsItem] = []
    for entry in parsed.entries:
        item = make_news_item(
            source=source.name,
            title=entry.title,
            summary=entry.summary,
            published_at=entry.published_at,
            now=now,
            guid=entry.guid,
            url=entry.url,
            aliases=aliases,
        )
        if item is None:
            notes.append(f"{entry.ref}: no title; skipped")
        else:
            items.append(item)
    return items, len(parsed.entries) + parsed.unreadable, notes


class IngestActivities:
    """News ingestion; idempotent: a retry stores nothing twice (items are keyed by content hash)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="ingest_feed")
    @translate_errors
    async def ingest_feed(self, inp: FeedSource) -> FeedResult:
        """Fetch and parse ``inp``, normalise, tag and score its items, store them in one transaction."""
        raw = await read_feed(inp)
        now = utcnow()
        # Parsing a large feed takes a while: off the event loop, so other activities run meanwhile.
        items, fetched, notes = await asyncio.to_thread(build_items, inp, raw, now)
        async with self.deps.transaction() as s:
            new, duplicates = await repo.add_news_items(s, items=items, now=now)
        activity.logger.info(
            "feed ingested",
            extra={"feed": inp.name, "fetched": fetched, "new": new, "duplicates": duplicates},
        )
        return FeedResult(
            source=inp.name,
            fetched=fetched,
            new=new,
            duplicates=duplicates,
            skipped=fetched - len(items),
            errors=notes[:MAX_NOTES],
        )
