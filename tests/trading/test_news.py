"""News items: normalisation, the content hash, symbol tagging on word boundaries, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from trading.news import (
    DEFAULT_ALIASES,
    LEXICON_METHOD,
    content_hash,
    make_news_item,
    merge_aliases,
    normalise_text,
    parse_published,
    tag_symbols,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<p>Microsoft <b>beats</b>\n\t estimates</p>", "Microsoft beats estimates"),
        ("S&amp;P 500 &#8212; up&nbsp;1%", "S&P 500 — up 1%"),
        ("<script>alert('x')</script>Euro <style>p{}</style>rises", "Euro rises"),
        ("   ", ""),
        ("a<br/>b", "a b"),
    ],
)
def test_normalise_text_strips_tags_unescapes_and_collapses_space(raw: str, clean: str) -> None:
    assert normalise_text(raw) == clean


def test_the_same_story_hashes_the_same_whatever_its_markup_and_case() -> None:
    plain = content_hash("Euro climbs to a high", "The euro rose 0.8% & the ECB held.")
    html = content_hash("EURO  Climbs to a HIGH", "<p>The <b>euro</b> rose 0.8% &amp; the ECB held.</p>")
    assert plain == html
    assert len(plain) == 64 and int(plain, 16) >= 0


def test_the_hash_separates_title_from_summary_and_changes_with_the_text() -> None:
    base = content_hash("Euro climbs", "steadily")
    assert content_hash("Euro climbs steadily", "") != base
    assert content_hash("Euro climbs", "steadily.") != base
    assert content_hash("Euro falls", "steadily") != base


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("Microsoft beats estimates", ("MSFT/USD",)),
        ("MICROSOFT's cloud and msft shares", ("MSFT/USD",)),
        ("Microsoftish startup raises money", ()),
        ("The European economy", ()),
        ("The euro-area economy and the euro", ("EUR/USD",)),
        ("EUR/USD slips; EURUSD options", ("EUR/USD",)),
        ("S&P 500 hits record while the S&P500 futures and SPX options trade", ("SPX/USD",)),
        ("S&P  500 with two spaces", ("SPX/USD",)),
        ("S&P 5000 is not an index we follow", ()),
        ("Alphabet and Google, then the ECB", ("EUR/USD", "GOOGL/USD")),
        ("googled it", ()),
        ("", ()),
    ],
)
def test_symbols_are_tagged_on_whole_words_ignoring_case(text: str, symbols: tuple[str, ...]) -> None:
    assert tag_symbols(text, DEFAULT_ALIASES) == symbols


def test_aliases_override_per_symbol_and_an_empty_list_turns_a_symbol_off() -> None:
    aliases = merge_aliases({"BTC/USDT": ["bitcoin"], "MSFT/USD": [], "EUR/USD": ["single currency"]})
    assert set(aliases) == {"BTC/USDT", "EUR/USD", "GOOGL/USD", "SPX/USD"}
    text = "Microsoft buys bitcoin while the single currency and the euro drift"
    assert tag_symbols(text, aliases) == ("BTC/USDT", "EUR/USD")
    assert tag_symbols("the euro drifts", aliases) == ()
    assert merge_aliases(None) == {s: tuple(n) for s, n in DEFAULT_ALIASES.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-03-01T21:15:00Z", datetime(2017, 3, 1, 21, 15, tzinfo=UTC)),
        ("2017-03-01T23:15:00+02:00", datetime(2017, 3, 1, 21, 15, tzinfo=UTC)),
        ("2017-03-01", datetime(2017, 3, 1, tzinfo=UTC)),
        ("Wed, 01 Mar 2017 21:15:00 GMT", datetime(2017, 3, 1, 21, 15, tzinfo=UTC)),
        ("Wed, 01 Mar 2017 16:15:00 -0500", datetime(2017, 3, 1, 21, 15, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_are_read_as_utc(text: str, expected: datetime | None) -> None:
    parsed = parse_published(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


def test_make_news_item_normalises_tags_scores_and_hashes() -> None:
    item = make_news_item(
        source="feed",
        title=" <b>Microsoft</b> beats estimates ",
        summary="<p>Shares surge &amp; analysts upgrade.</p>",
        published_at=datetime(2017, 1, 26, 22, 5, tzinfo=timezone(timedelta(hours=1))),
        now=NOW,
        guid=" g1 ",
        url="https://news.example.com/a ",
    )
    assert item is not None
    assert (item.title, item.summary) == ("Microsoft beats estimates", "Shares surge & analysts upgrade.")
    assert item.published_at == datetime(2017, 1, 26, 21, 5, tzinfo=UTC)
    assert item.symbols == ("MSFT/USD",)
    assert item.sentiment > 0.5 and item.sentiment_method == LEXICON_METHOD
    assert item.content_hash == content_hash("Microsoft beats estimates", "Shares surge & analysts upgrade.")
    assert (item.guid, item.url) == ("g1", "https://news.example.com/a")


def test_an_item_cannot_be_published_before_it_is_seen() -> None:
    undated = make_news_item(source="f", title="Euro steady", summary="", published_at=None, now=NOW)
    future = make_news_item(
        source="f", title="Euro steady", summary="", published_at=NOW + timedelta(days=3), now=NOW
    )
    naive = make_news_item(
        source="f", title="Euro steady", summary="", published_at=datetime(2017, 5, 1, 9, 0), now=NOW
    )
    assert undated is not None and undated.published_at == NOW
    assert future is not None and future.published_at == NOW
    assert naive is not None and naive.published_at == datetime(2017, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("title", ["", "   ", "<p> </p>"])
def test_an_entry_without_a_title_is_no_item(title: str) -> None:
    assert make_news_item(source="f", title=title, summary="Euro rises", published_at=NOW, now=NOW) is None
