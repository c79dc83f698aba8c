"""DataSpider's activity: read one feed, turn its entries into news items, store the new ones."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from temporalio import activity

from activities.deps import Deps, translate_errors, utcnow
from activities.feeds import detect_format, parse_feed, read_feed
from activities.ingest_contracts import FeedResult, FeedSource
from activities.llm_calls import call_rows, count_calls
from agents.llm import CallLog, LlmClient, LlmInvalidAnswer, LlmRejected, LlmUnavailable
from agents.prompts import NewsSentiment, sentiment_messages
from store import repo
from trading.news import NewsItem, make_news_item, merge_aliases

# Notes kept per feed in the result (the counts stay exact).
MAX_NOTES = 20
# New items scored by the model at once.
LLM_CONCURRENCY = 4


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
        logs: dict[str, CallLog] = {}
        llm = self.deps.llm_client() if inp.sentiment == "auto" else None
        if llm is not None:
            items, logs, failed = await self._llm_sentiment(llm, items)
            if failed:
                notes.append(f"{failed} item(s) kept their lexicon score: the model did not answer well")
        count_calls(self.deps.llm, logs)
        async with self.deps.transaction() as s:
            new, duplicates = await repo.add_news_items(s, items=items, now=now)
            rows = call_rows("news", None, logs)
            if rows:
                await repo.record_llm_calls(s, calls=rows, now=now)
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

    async def _llm_sentiment(
        self, llm: LlmClient, items: list[NewsItem]
    ) -> tuple[list[NewsItem], dict[str, CallLog], int]:
        """Score the items not stored yet with the model; any it cannot score keep the lexicon's."""
        async with self.deps.sessions() as s:
            known = await repo.stored_hashes(s, hashes=[i.content_hash for i in items])
        fresh = {i.content_hash: i for i in items if i.content_hash not in known}
        logs = {h[:24]: CallLog() for h in fresh}
        gate = asyncio.Semaphore(LLM_CONCURRENCY)

        async def one(h: str, item: NewsItem) -> tuple[str, float | None]:
            async with gate:
                msgs = sentiment_messages(item.title, item.summary, list(item.symbols))
                try:
                    got = await llm.structured(msgs, NewsSentiment, purpose="sentiment", log=logs[h[:24]])
                except (LlmUnavailable, LlmRejected, LlmInvalidAnswer):
                    return h, None
                return h, got.sentiment

        scored = dict(await asyncio.gather(*(one(h, i) for h, i in fresh.items())))
        out = [
            dataclasses.replace(i, sentiment=v, sentiment_method="llm")
            if (v := scored.get(i.content_hash)) is not None
            else i
            for i in items
        ]
        return out, logs, sum(1 for v in scored.values() if v is None)
