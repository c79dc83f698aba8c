"""Stripping a feed's HTML takes time linear in its length, whatever the markup: hostile content (an
unclosed "<script" repeated, "<" repeated) is read once, not once per "<"."""

from __future__ import annotations

import time

import pytest

from trading.news import normalise_text, strip_tags

MB = 1_000_000
HOSTILE = {
    "unclosed <script": "<script" * (MB // 7),
    "< alone": "<" * MB,
    "<script> with no end": "<script>" * (MB // 8),
    "</script without >": "<script>x</script " * (MB // 18),
    "end tag then spaces": "<script>" + "</script" + " " * MB,
    "<a with no >": "<a " * (MB // 3),
    "<<>": "<<>" * (MB // 3),
    "style blocks": "<style>p{}</style>text " * (MB // 23),
    "entities": "&amp;&#" * (MB // 7),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_megabyte_of_hostile_markup_is_stripped_in_under_a_second(text: str) -> None:
    started = time.perf_counter()
    normalise_text(text)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>a<script>b", "a b"),  # a block with no end tag loses its tag only
        ("<SCRIPT type='x'>evil()</Script >kept", "kept"),
        ("<scripts>kept</scripts>", "kept"),
        ("a < b and c > d", "a d"),
        ("1 < 2", "1 < 2"),  # a "<" that opens no tag is text
        ("<b>bold</b><<i>x", "bold < x"),
        ("<style>p{color:red}</style><p>para</p>", "para"),
        ("x<script>a</script>y<script>b</script>z", "x y z"),
    ],
)
def test_tags_and_blocks_are_removed_as_before(raw: str, clean: str) -> None:
    assert normalise_text(raw) == clean


def test_strip_tags_leaves_text_alone() -> None:
    text = "Plain text, no markup at all. " * 1000
    assert strip_tags(text) == text
