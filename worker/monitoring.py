"""The worker's metrics endpoints and its state sampler.

Two endpoints, both on ``worker_metrics_host``: ours (prometheus_client, the registry of
activities.metrics and exchanges.metrics) on ``worker_metrics_port``, and the Temporal SDK's
own (workflow and activity task latencies, failures, slots, polls) on ``worker_sdk_metrics_port``,
served by the SDK's core through the telemetry of the process's one Temporal ``Runtime``.

The sampler reads what the state gauges show from where it is true whichever replica changed
it: the gates, orders in doubt, approvals and last cycles from the store, the breakers from
NeuroHub's status query (a query adds nothing to the hub's history). Every replica reports the
same figures; the alert rules take the max (or min) over them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from prometheus_client import start_http_server
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError

from activities.contracts import BreakerStatus, HubStatus
from activities.control import hub_of
from activities.deps import Deps, utcnow
from activities.metrics import SAMPLE_ERRORS, STATE, Breaker, StateSample
from store import repo
from worker.settings import Settings

log = logging.getLogger(__name__)

# How often the state gauges are read (the scrape interval of deploy/prometheus/prometheus.yml).
SAMPLE_EVERY_S = 15.0
# An unfinished order no workflow has written for this long is in doubt (followed ones: every <= 30 s).
STUCK_AFTER = timedelta(minutes=15)
HUB_QUERY_TIMEOUT = timedelta(seconds=5)

# One SDK runtime per process (its metrics server binds once), with the address it serves on.
_runtime: tuple[str, Runtime] | None = None
# The addresses this process serves our metrics on already.
_served: set[tuple[str, int]] = set()


def sdk_runtime(settings: Settings) -> Runtime | None:
    """The process's Temporal runtime serving the SDK's metrics on ``worker_sdk_metrics_port``, made
    on the first call (None when the port is unset: the SDK's default runtime serves none).

    Counters end in ``_total`` and durations are in seconds with a ``_seconds`` suffix, like ours.
    """
    global _runtime
    port = settings.worker_sdk_metrics_port
    if not port:
        return None
    address = f"{settings.worker_metrics_host}:{port}"
    if _runtime is None:
        metrics = PrometheusConfig(
            bind_address=address, counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True
        )
        _runtime = (address, Runtime(telemetry=TelemetryConfig(metrics=metrics)))
    elif _runtime[0] != address:
        raise ValueError(f"this process serves the SDK's metrics on {_runtime[0]} already, not {address}")
    return _runtime[1]


def serve_metrics(settings: Settings) -> None:
    """Serve our metrics on ``worker_metrics_host:worker_metrics_port`` (once per process)."""
    port = settings.worker_metrics_port
    if not port or (settings.worker_metrics_host, port) in _served:
        return
    start_http_server(port, addr=settings.worker_metrics_host)
    _served.add((settings.worker_metrics_host, port))


def _ratio(b: BreakerStatus) -> float:
    """The fraction of the limit left (headroom over limit); a zero limit is all or nothing."""
    if b.limit == 0:
        return 0.0 if b.tripped else 1.0
    return float(b.headroom / abs(b.limit))


def breakers_of(status: HubStatus) -> tuple[Breaker, ...]:
    """NeuroHub's global breakers, and per breaker name the tightest of the strategies' own."""
    out = [Breaker("hub", b.name, _ratio(b), int(b.tripped)) for b in status.breakers]
    tightest: dict[str, tuple[float, int]] = {}
    for entry in status.strategies:
        for b in entry.readings:
            ratio, tripped = tightest.get(b.name, (float("inf"), 0))
            tightest[b.name] = (min(ratio, _ratio(b)), tripped + int(b.tripped))
    out += [Breaker("strategy", name, ratio, n) for name, (ratio, n) in sorted(tightest.items())]
    return tuple(out)


async def hub_breakers(client: Client, hub_id: str) -> tuple[Breaker, ...] | None:
    """The breakers of NeuroHub ``hub_id`` as its status query answers (None: it did not)."""
    try:
        status = await client.get_workflow_handle(hub_id).query(
            "status", result_type=HubStatus, rpc_timeout=HUB_QUERY_TIMEOUT
        )
    except RPCError as e:
        log.info("NeuroHub's breakers not read: %s", e.message, extra={"hub_id": hub_id})
        return None
    return breakers_of(status)


async def read_state(deps: Deps, client: Client | None, *, hub_id: str) -> StateSample:
    """Read what the state gauges show now."""
    now = utcnow()
    async with deps.sessions() as s:
        gates = await repo.hub_gate_states(s)
        counts = await repo.strategy_gate_counts(s)
        unknown = await repo.count_stale_orders(s, before=now - STUCK_AFTER)
        pending, first_expiry = await repo.pending_approvals(s)
        running = await repo.cycling_strategies(s)
    last: dict[str, float] = {}
    intervals: dict[str, float] = {}
    for row, cycled_at in running:
        if gates.get(hub_of(row)) == "halted":  # the kill switch holds every cycle: its own alert
            continue
        # Before its first cycle, or after a resume or a change, the clock starts at the change.
        since = max(cycled_at, row.updated_at) if cycled_at is not None else row.updated_at
        last[row.id] = since.timestamp()
        intervals[row.id] = float(row.interval_s)
    return StateSample(
        at=time.time(),
        hub_gates=gates,
        strategies=counts,
        breakers=await hub_breakers(client, hub_id) if client is not None else None,
        orders_unknown=unknown,
        approvals_pending=pending,
        approval_timeout_s=(first_expiry - now).total_seconds() if first_expiry is not None else None,
        last_cycles=last,
        intervals=intervals,
    )


async def sample_state(deps: Deps, client: Client | None, *, hub_id: str) -> None:
    """Read the state once and show it; a failed read is counted and logged, the last one stays."""
    try:
        STATE.set(await read_state(deps, client, hub_id=hub_id))
    except Exception as e:  # a failed read must never stop the worker; the next one may pass
        SAMPLE_ERRORS.inc()
        log.warning("state gauges not read: %s", e)


async def sample_forever(
    deps: Deps, client: Client | None, *, hub_id: str, every_s: float = SAMPLE_EVERY_S
) -> None:
    """Read the state every ``every_s`` seconds until cancelled."""
    while True:
        await sample_state(deps, client, hub_id=hub_id)
        await asyncio.sleep(every_s)
