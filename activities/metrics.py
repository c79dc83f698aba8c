"""Prometheus metrics of the trading activities (served by `asts worker --metrics-port`).

Events are counted by the activities where they happen, never by workflow code (a workflow
replays). Every label takes few values: outcomes, rule and breaker names, strategy types,
configured venues and models. The exception is ``strategy_id`` on the two per-strategy state
gauges of ``STATE``: they carry only the strategies expected to cycle now (running, their hub
not halted), a set the quota ``max_running_strategies_per_user`` bounds, and a strategy's
series goes when it stops; the "strategy not cycling" alert needs to say which one.

The state gauges (gates, breakers, orders in doubt, approvals, last cycles) are read from the
store and from NeuroHub's status query by the worker's sampler (worker/monitoring.py), so every
replica reports the same figures whichever replica ran the activity that changed them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from threading import Lock
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from agents.llm import CallLog

ORDERS = Counter(
    "asts_orders_total",
    "Orders by outcome: placed, blocked (a gate), venue_rejected, or unknown (its workflow gave up)",
    ["outcome"],
)
FILLS = Counter("asts_fills_total", "Fills recorded (each venue execution once)", ["venue", "side"])
FILLED_NOTIONAL = Counter(
    "asts_filled_notional_total",
    "Quantity times price of the fills recorded, in the quote currency",
    ["venue", "quote"],
)
RISK_REJECTIONS = Counter(
    "asts_risk_rejections_total",
    "Orders refused before placement, once per failing reason: a risk rule's name, gate or no_shorts",
    ["reason"],
)
MISMATCHES = Counter("asts_reconcile_mismatches_total", "Differences found between the venue and our books")
DECISIONS = Counter("asts_decisions_total", "Agent decisions by target", ["target"])
CYCLES = Counter(
    "asts_cycles_total",
    "Strategy cycles that ended, by strategy type and outcome (done, failed)",
    ["strategy_type", "outcome"],
)
CYCLE_SECONDS = Histogram(
    "asts_cycle_duration_seconds",
    "A successful cycle's time from its start to its reconcile step, by strategy type",
    ["strategy_type"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
APPROVALS = Counter(
    "asts_approvals_total", "Approvals decided, by outcome (approved, rejected, expired)", ["outcome"]
)
LLM_CALLS = Counter(
    "asts_llm_calls_total",
    "Requests to a language model, by outcome (ok, error)",
    ["provider", "model", "outcome"],
)
LLM_TOKENS = Counter(
    "asts_llm_tokens_total",
    "Tokens the language models were sent (input) and answered (output)",
    ["provider", "model", "direction"],
)
LLM_COST = Counter(
    "asts_llm_cost_total",
    "What the language model calls cost, in the currency of ASTS_LLM_PRICES",
    ["provider", "model"],
)

SAMPLE_ERRORS = Counter(
    "asts_state_sample_errors_total", "Reads of the state gauges that failed (the last read stays shown)"
)

# A rejection reason outside the risk rules: one of the two gates refused it, or the venue holds no shorts.
GATE_REASON, NO_SHORTS_REASON = "gate", "no_shorts"


def provider_of(base_url: str | None) -> str:
    """The provider label of a model endpoint: its host (and port), never its path or credentials."""
    if not base_url:
        return "none"
    parts = urlsplit(base_url)
    return (parts.hostname or "unknown") + (f":{parts.port}" if parts.port else "")


def count_llm_calls(logs: Mapping[str, CallLog], provider: str) -> None:
    """Count every call of ``logs`` with its tokens and cost (a retried call cost tokens too)."""
    for log in logs.values():
        for c in log.calls:
            LLM_CALLS.labels(provider, c.model, "ok" if c.ok else "error").inc()
            if c.tokens_in:
                LLM_TOKENS.labels(provider, c.model, "input").inc(c.tokens_in)
            if c.tokens_out:
                LLM_TOKENS.labels(provider, c.model, "output").inc(c.tokens_out)
            if c.cost:
                LLM_COST.labels(provider, c.model).inc(float(c.cost))


def count_fill(venue: str, symbol: str, side: str, qty: Decimal, price: Decimal) -> None:
    """Count one new fill and its notional (in the quote currency of ``symbol``: "BTC/USDT" -> USDT)."""
    FILLS.labels(venue, side).inc()
    quote = symbol.split("/", 1)[1].split(":", 1)[0] if "/" in symbol else "unknown"
    FILLED_NOTIONAL.labels(venue, quote).inc(float(qty * price))


# --- state, as the worker's sampler last read it --------------------------------------------


@dataclass(frozen=True)
class Breaker:
    """One breaker as sampled: its scope ("hub": NeuroHub's global one; "strategy": the tightest of
    the strategies' own), the remaining fraction of its limit, and how many have tripped."""

    scope: str
    name: str
    headroom_ratio: float
    tripped: int = 0


@dataclass(frozen=True)
class StateSample:
    """The figures the state gauges show, read at ``at`` (a Unix time)."""

    at: float
    hub_gates: Mapping[str, str] = field(default_factory=dict)  # hub id -> active | reducing | halted
    strategies: Mapping[str, int] = field(default_factory=dict)  # gate state -> strategies in it
    breakers: tuple[Breaker, ...] | None = None  # None: NeuroHub did not answer
    orders_unknown: int = 0
    approvals_pending: int = 0
    approval_timeout_s: float | None = None  # until the pending approval that expires first does
    last_cycles: Mapping[str, float] = field(default_factory=dict)  # strategy id -> Unix time
    intervals: Mapping[str, float] = field(default_factory=dict)  # strategy id -> its interval_s


class StateCollector(Collector):
    """Serves the last ``StateSample`` as gauges; before the first one (a process that samples
    nothing, like the API), every family is served empty."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._sample: StateSample | None = None

    def set(self, sample: StateSample) -> None:
        """Show ``sample`` from the next scrape on."""
        with self._lock:
            self._sample = sample

    def collect(self) -> Iterator[Metric]:
        """The gauges of the last sample."""
        with self._lock:
            sample = self._sample
        yield from _families(sample)

    def describe(self) -> Iterable[Metric]:
        """The families, without samples (so the registry knows the names)."""
        return list(_families(None))


def _families(s: StateSample | None) -> Iterator[Metric]:
    gate = GaugeMetricFamily(
        "asts_hub_gate_open",
        "1 when NeuroHub's global gate is open, 0 when halted or reduce-only",
        labels=["hub_id"],
    )
    kill = GaugeMetricFamily(
        "asts_kill_switch_engaged",
        "1 when NeuroHub's global gate is halted (the kill switch)",
        labels=["hub_id"],
    )
    counts = GaugeMetricFamily(
        "asts_strategies", "Strategies not stopped, by the state of their own gate", labels=["state"]
    )
    headroom = GaugeMetricFamily(
        "asts_breaker_headroom_ratio",
        "Fraction of a breaker's limit left before it trips (0 or less: tripped); "
        "scope strategy: the tightest of the strategies' own",
        labels=["scope", "breaker"],
    )
    tripped = GaugeMetricFamily(
        "asts_breakers_tripped", "Breakers at or over their limit", labels=["scope", "breaker"]
    )
    unknown = GaugeMetricFamily(
        "asts_orders_unknown",
        "Unfinished orders no workflow has updated for 15 minutes: the venue may or may not hold them",
    )
    pending = GaugeMetricFamily("asts_approvals_pending", "Orders waiting for a human's approval")
    timeout = GaugeMetricFamily(
        "asts_approval_timeout_remaining_seconds",
        "Seconds until the first pending approval expires (absent when none is pending)",
    )
    last = GaugeMetricFamily(
        "asts_strategy_last_cycle_timestamp_seconds",
        "When a strategy expected to cycle last finished a cycle (or started, before its first), Unix time",
        labels=["strategy_id"],
    )
    interval = GaugeMetricFamily(
        "asts_strategy_interval_seconds",
        "The cycle interval of a strategy expected to cycle",
        labels=["strategy_id"],
    )
    sampled = GaugeMetricFamily(
        "asts_state_sampled_timestamp_seconds", "When this process last read the state gauges, Unix time"
    )
    if s is not None:
        for hub_id, state in sorted(s.hub_gates.items()):
            gate.add_metric([hub_id], 1.0 if state == "active" else 0.0)
            kill.add_metric([hub_id], 1.0 if state == "halted" else 0.0)
        for state in ("running", "reduce_only", "halted"):
            counts.add_metric([state], float(s.strategies.get(state, 0)))
        for b in s.breakers or ():
            headroom.add_metric([b.scope, b.name], b.headroom_ratio)
            tripped.add_metric([b.scope, b.name], float(b.tripped))
        unknown.add_metric([], float(s.orders_unknown))
        pending.add_metric([], float(s.approvals_pending))
        if s.approval_timeout_s is not None:
            timeout.add_metric([], s.approval_timeout_s)
        for sid, ts in sorted(s.last_cycles.items()):
            last.add_metric([sid], ts)
        for sid, secs in sorted(s.intervals.items()):
            interval.add_metric([sid], secs)
        sampled.add_metric([], s.at)
    yield from (gate, kill, counts, headroom, tripped, unknown, pending, timeout, last, interval, sampled)


STATE = StateCollector()
REGISTRY.register(STATE)
