"""Reading feeds: fetch over http(s) or from a file, parse RSS/Atom (feedparser) or JSON.

The adapter boundary of DataSpider: httpx and feedparser failures become our error tree
here (an unreachable server or a 5xx is a ``TemporaryError``, retried; a 4xx, a missing
file or a feed that cannot be parsed is ``InvalidInput``, never retried).
"""

from __future__ import annotations

import asyncio
import calendar
import dataclasses
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx

from activities.ingest_contracts import FeedFormat, FeedSource
from exchanges.data import DATA_DIR
from trading.errors import InvalidInput, TemporaryError
from trading.news import parse_published

ROOT = DATA_DIR.parent
HTTP_TIMEOUT_S = 15.0
MAX_FEED_BYTES = 5_000_000
MAX_ITEMS = 1000
USER_AGENT = "asts-dataspider/0.1"
_JSON_FIELDS_SUMMARY = ("content_text", "content_html", "summary", "body")
_JSON_FIELDS_DATE = ("date_published", "published", "published_at", "date_modified", "updated")


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry as read, before normalisation."""

    ref: str
    title: str
    summary: str
    url: str = ""
    guid: str = ""
    published_at: datetime | None = None


@dataclass
class ParsedFeed:
    """The entries of a feed, how many could not be read at all, and notes about both."""

    entries: list[Entry] = field(default_factory=list)
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)


def resolve_path(path: str) -> Path:
    """A feed file's path; a relative one is taken relative to the ASTS checkout."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p


async def read_file(source: FeedSource) -> bytes:
    """The bytes of a local feed file."""
    path = resolve_path(source.path or "")
    if not path.is_file():
        raise InvalidInput(f"feed {source.name!r}: no such file {path}")
    if path.stat().st_size > MAX_FEED_BYTES:
        raise InvalidInput(f"feed {source.name!r}: {path} is larger than {MAX_FEED_BYTES} bytes")
    return await asyncio.to_thread(path.read_bytes)


async def fetch_url(source: FeedSource, *, timeout: float = HTTP_TIMEOUT_S) -> bytes:
    """The body of an http(s) feed; network errors, 429 and 5xx are temporary, other 4xx are not."""
    url, name = source.url or "", source.name
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/feed+json, */*"}
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http,
            http.stream("GET", url, headers=headers) as r,
        ):
            code = r.status_code
            if code >= 500 or code in (408, 429):
                raise TemporaryError(f"feed {name!r}: {url} answered {code} {r.reason_phrase}; retry later")
            if code >= 400:
                raise InvalidInput(f"feed {name!r}: {url} answered {code} {r.reason_phrase}")
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise InvalidInput(f"feed {name!r}: {url} is larger than {MAX_FEED_BYTES} bytes")
            return bytes(body)
    except httpx.InvalidURL as e:
        raise InvalidInput(f"feed {name!r}: invalid url {url!r}: {e}") from e
    except httpx.HTTPError as e:
        raise TemporaryError(f"feed {name!r}: cannot fetch {url}: {type(e).__name__}: {e}") from e


async def read_feed(source: FeedSource) -> bytes:
    """The raw bytes of a feed, from its URL or its file."""
    return await fetch_url(source) if source.url is not None else await read_file(source)


def detect_format(source: FeedSource, raw: bytes) -> FeedFormat:
    """``rss`` or ``json``: as configured, else by extension, else by the first character."""
    if source.format != "auto":
        return source.format
    if source.location.lower().split("?")[0].endswith(".json"):
        return "json"
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "rss"


def parse_feed(raw: bytes, *, fmt: FeedFormat, name: str) -> ParsedFeed:
    """The entries of a feed in format ``fmt`` (``rss`` covers RSS and Atom)."""
    return parse_json(raw, name=name) if fmt == "json" else parse_rss(raw, name=name)


def _from_struct(value: Any) -> datetime | None:
    if isinstance(value, time.struct_time):
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _dated(entry: Entry, raw_date: str, parsed: datetime | None, notes: list[str]) -> Entry:
    if raw_date and parsed is None:
        notes.append(f"{entry.ref}: unreadable date {raw_date[:60]!r}; published at ingestion time")
    return dataclasses.replace(entry, published_at=parsed)


def parse_rss(raw: bytes, *, name: str) -> ParsedFeed:
    """Entries of an RSS or Atom document (a malformed one that still yields entries is read)."""
    doc = feedparser.parse(io.BytesIO(raw))
    if not doc.entries and (doc.bozo or not doc.version):
        reason = doc.get("bozo_exception") or "no RSS or Atom root element"
        raise InvalidInput(f"feed {name!r} is not valid RSS or Atom: {reason}")
    out = ParsedFeed()
    if doc.bozo:
        out.notes.append(f"feed is malformed ({doc.get('bozo_exception')}); read what could be read")
    for n, e in enumerate(doc.entries[:MAX_ITEMS], 1):
        content = e.get("content") or []
        summary = e.get("summary") or (content[0].get("value", "") if content else "")
        raw_date = str(e.get("published") or e.get("updated") or "")
        parsed = _from_struct(e.get("published_parsed")) or _from_struct(e.get("updated_parsed"))
        if parsed is None and raw_date:
            parsed = parse_published(raw_date)
        link, guid = str(e.get("link") or ""), str(e.get("id") or "")
        entry = Entry(f"item {n}", str(e.get("title") or ""), str(summary), link, guid)
        out.entries.append(_dated(entry, raw_date, parsed, out.notes))
    _note_cut(out, len(doc.entries))
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_date(obj: dict[str, Any]) -> tuple[str, datetime | None]:
    for key in _JSON_FIELDS_DATE:
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return str(value), datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                return str(value), None
        if isinstance(value, str) and value.strip():
            return value, parse_published(value)
    return "", None


def parse_json(raw: bytes, *, name: str) -> ParsedFeed:
    """Entries of a JSON Feed 1.x document, or of a plain JSON list of item objects."""
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInput(f"feed {name!r} is not valid JSON: {e}") from e
    if isinstance(doc, dict):
        items = doc.get("items")
        if not isinstance(items, list):
            raise InvalidInput(f"feed {name!r}: a JSON feed object needs an 'items' list (JSON Feed 1.x)")
    elif isinstance(doc, list):
        items = doc
    else:
        raise InvalidInput(f"feed {name!r}: JSON must be a JSON Feed object or a list of items")
    out = ParsedFeed()
    for n, obj in enumerate(items[:MAX_ITEMS], 1):
        if not isinstance(obj, dict):
            out.unreadable += 1
            out.notes.append(f"item {n}: not a JSON object; skipped")
            continue
        summary = next((s for k in _JSON_FIELDS_SUMMARY if (s := _text(obj.get(k))).strip()), "")
        url = _text(obj.get("url")) or _text(obj.get("external_url")) or _text(obj.get("link"))
        raw_date, parsed = _json_date(obj)
        entry = Entry(f"item {n}", _text(obj.get("title")), summary, url, _text(obj.get("id")))
        out.entries.append(_dated(entry, raw_date, parsed, out.notes))
    _note_cut(out, len(items))
    return out


def _note_cut(out: ParsedFeed, total: int) -> None:
    if total > MAX_ITEMS:
        out.notes.append(f"feed has {total} items; read the first {MAX_ITEMS}")
