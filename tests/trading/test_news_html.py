"""Stripping a feed's HTML takes time linear in its length, whatever the markup: hostile content (an
unclosed "<script" repeated, "<" repeated) is read once, not once per "<". Linear is checked as the
growth from an eighth of a megabyte to a megabyte (see ``tests.scaling``), never against a clock."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.scaling import FACTOR, LINEAR_AT_MOST, growth
from trading.news import normalise_text, strip_tags

MB = 1_000_000
HOSTILE = {  # hostile markup of about n characters
    "unclosed <script": lambda n: "<script" * (n // 7),
    "< alone": lambda n: "<" * n,
    "<script> with no end": lambda n: "<script>" * (n // 8),
    "</script without >": lambda n: "<script>x</script " * (n // 18),
    "end tag then spaces": lambda n: "<script>" + "</script" + " " * n,
    "<a with no >": lambda n: "<a " * (n // 3),
    "<<>": lambda n: "<<>" * (n // 3),
    "style blocks": lambda n: "<style>p{}</style>text " * (n // 23),
    "entities": lambda n: "&amp;&#" * (n // 7),
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markup_is_stripped_in_linear_time(make: Callable[[int], str]) -> None:
    texts = {n: make(n) for n in (MB // FACTOR, MB)}
    assert growth(lambda n: normalise_text(texts[n]), MB // FACTOR) < LINEAR_AT_MOST


def test_the_growth_measure_tells_quadratic_work_from_linear() -> None:
    unclosed = re.compile(r"<[^>]*>")  # the naive tag pattern: from each "<" it scans to the end

    assert growth(lambda n: unclosed.search("<" * n), 2_000) > LINEAR_AT_MOST


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
