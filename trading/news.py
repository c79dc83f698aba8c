"""News items as the agents see them: normalised text, a content hash, symbol tags and a sentiment score.

Pure: feeds are fetched and parsed elsewhere (``activities/feeds.py``); this module
turns the fields of one entry into a ``NewsItem``. Two feeds carrying the same story
give the same ``content_hash`` (hash of the normalised, case-folded title and summary),
so the store keeps it once.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from trading import sentiment

LEXICON_METHOD = "lexicon"
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 4000

# Symbol → the names a story uses for it (matched case-insensitively, on word boundaries).
DEFAULT_ALIASES: Mapping[str, Sequence[str]] = {
    "MSFT/USD": ("Microsoft", "MSFT"),
    "GOOGL/USD": ("Alphabet", "Google", "GOOGL"),
    "SPX/USD": ("S&P 500", "SPX", "S&P500"),
    "EUR/USD": ("euro", "EUR/USD", "EURUSD", "ECB"),
}

# A tag holds no "<", so a match attempt from one "<" never scans past the next: every pattern
# here runs in time linear in the text, whatever the text (see ``strip_tags``).
_TAG = re.compile(r"<[^<>]*>")
_BLOCK = re.compile(r"<(script|style)\b[^<>]*>", re.IGNORECASE)
_BLOCK_ENDS = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One normalised news item, ready to store."""

    source: str
    guid: str
    url: str
    title: str
    summary: str
    published_at: datetime
    symbols: tuple[str, ...]
    sentiment: float
    sentiment_method: str
    content_hash: str


def strip_tags(text: str) -> str:
    """``text`` with every tag, and every script or style block with its content, replaced by a space.

    Time linear in the length of the text however it is made (thousands of "<script" with no end,
    "<" repeated): a tag cannot contain "<", so no match attempt scans past the next "<", and the
    end of each kind of block is searched for once per stretch of text (a failed search is
    remembered). A block with no end tag loses its opening tag only; a "<" that opens no tag
    stays as text.
    """
    pieces: list[str] = []
    ends: dict[str, tuple[int, int, int]] = {}  # block name -> (searched from, end tag at, after it)
    done = 0
    opening = _BLOCK.search(text)
    while opening is not None:
        after = _block_end(text, opening.group(1).lower(), opening.end(), ends)
        if after < 0:  # no end tag: only an ordinary tag
            opening = _BLOCK.search(text, opening.end())
            continue
        pieces += (_TAG.sub(" ", text[done : opening.start()]), " ")
        done = after
        opening = _BLOCK.search(text, after)
    pieces.append(_TAG.sub(" ", text[done:]))
    return "".join(pieces)


def _block_end(text: str, block: str, start: int, ends: dict[str, tuple[int, int, int]]) -> int:
    """Where the text goes on after the end tag of the ``block`` opened before ``start`` (-1: it has
    none); ``ends`` holds the last search for each block, reused while its answer lies ahead."""
    searched_from, at, after = ends.get(block, (-1, -1, -1))
    if searched_from < 0 or start < searched_from or 0 <= at < start:
        m = _BLOCK_ENDS[block].search(text, start)
        searched_from, at, after = (start, m.start(), m.end()) if m else (start, -1, -1)
        ends[block] = (searched_from, at, after)
    return after


def normalise_text(text: str) -> str:
    """Plain text: HTML tags (and script/style blocks) removed, entities unescaped, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(strip_tags(text))).strip()


def content_hash(title: str, summary: str) -> str:
    """SHA-256 hex of the normalised, case-folded ``title + "\\n" + summary``."""
    key = f"{normalise_text(title).casefold()}\n{normalise_text(summary).casefold()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _alias_pattern(alias: str) -> str:
    """A regex for ``alias`` as a whole word (any run of whitespace between its parts)."""
    parts = [re.escape(p) for p in alias.split()]
    return r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"


def tag_symbols(text: str, aliases: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Symbols (sorted) whose aliases occur in ``text`` as whole words, ignoring case."""
    found = []
    for symbol, names in aliases.items():
        patterns = [_alias_pattern(n) for n in names if n.strip()]
        if patterns and re.search("|".join(patterns), text, re.IGNORECASE):
            found.append(symbol)
    return tuple(sorted(found))


def merge_aliases(
    overrides: Mapping[str, Sequence[str]] | None, base: Mapping[str, Sequence[str]] = DEFAULT_ALIASES
) -> dict[str, tuple[str, ...]]:
    """``base`` with the symbols of ``overrides`` replaced or added (``[]`` turns a symbol off)."""
    merged = {s: tuple(names) for s, names in base.items()}
    merged.update({s: tuple(names) for s, names in (overrides or {}).items()})
    return {s: names for s, names in merged.items() if names}


def parse_published(value: str) -> datetime | None:
    """A UTC datetime from ISO 8601 / RFC 3339 or RFC 2822 text; None when it cannot be read.

    A time without a zone is taken as UTC.
    """
    text = value.strip()
    if not text:
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def make_news_item(
    *,
    source: str,
    title: str,
    summary: str,
    published_at: datetime | None,
    now: datetime,
    guid: str = "",
    url: str = "",
    aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
) -> NewsItem | None:
    """Normalise, hash, tag and score one entry; None when it has no title.

    An entry without a date, or dated after ``now``, is published at ``now``: nothing
    may be seen before it was ingested. A naive date is taken as UTC.
    """
    clean_title = normalise_text(title)[:MAX_TITLE_CHARS]
    if not clean_title:
        return None
    clean_summary = normalise_text(summary)[:MAX_SUMMARY_CHARS]
    when = now if published_at is None else published_at
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=UTC)
    when = min(when.astimezone(UTC), now.astimezone(UTC))
    text = f"{clean_title}. {clean_summary}"
    return NewsItem(
        source=source,
        guid=guid.strip(),
        url=url.strip(),
        title=clean_title,
        summary=clean_summary,
        published_at=when,
        symbols=tag_symbols(text, aliases),
        sentiment=sentiment.score(text),
        sentiment_method=LEXICON_METHOD,
        content_hash=content_hash(clean_title, clean_summary),
    )
