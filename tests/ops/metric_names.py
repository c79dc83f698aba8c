"""The metric names the code registers, and the ones a PromQL expression reads: a rule or panel
that reads a name nothing serves fails its test, so renaming a metric breaks it there."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

# The modules that define every metric we serve: the worker's and the API's.
import activities.metrics
import api.app
import exchanges.metrics

MODULES = (activities.metrics, api.app, exchanges.metrics)
# Series Prometheus makes itself, for every target it scrapes.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
}
NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def registered() -> set[str]:
    """Every series name our registry can serve (a counter ``x_total``, a histogram's ``x_bucket``...)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {s.name for s in family.samples}
    return names


def read_by(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, grouping labels, strings,
    durations, functions and keywords aside)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, regexes
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # range durations
    names = set()
    for m in NAME.finditer(text):
        rest = text[m.end() :].lstrip()
        if rest.startswith("("):  # a function or an aggregation
            continue
        word = m.group()
        if word in KEYWORDS or word.lower() in ("inf", "nan") or re.fullmatch(r"\d+[smhdwy]?", word):
            continue
        if m.start() > 0 and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # 1e3, 0.95
        names.add(word)
    return names
