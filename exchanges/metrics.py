"""Prometheus metrics of venue requests, recorded by the ccxt adapter around every request it makes.

Labels are bounded: ``venue`` is a configured venue name, ``operation`` one of the adapter's ccxt
calls, ``kind`` one of our error classes (trading.errors) the venue's answer was translated to.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

VENUE_REQUESTS = Histogram(
    "asts_venue_request_duration_seconds",
    "Time a venue took to answer one request (answered or failed), by venue and operation",
    ["venue", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
VENUE_ERRORS = Counter(
    "asts_venue_errors_total",
    "Venue requests that failed, by venue and the error they were translated to",
    ["venue", "kind"],
)
