"""Cycle latency and throughput of the trading lifecycle on the embedded stack.

For each variant (how the steps run) and each concurrency (1, 10, 100 strategies) it
starts that many StrategyWorkflows on a real Temporal dev server (SQLite-backed, as
`asts up` runs it), with the real activities, store (SQLite) and paper venue, lets
them cycle for a fixed window, and reads every cycle's start and close time from
Temporal's visibility store: a cycle's latency is its CycleWorkflow's start to close
(scan → analyse → risk → execute with one OrderWorkflow per order → reconcile).
The baseline is every step as a regular activity; the figures are ratios against it
measured in the same run. Results go to BENCHMARKS.md.

    python -m bench.lifecycle [--window 15] [--concurrency 1,10,100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.contracts import HaltRequest, StepMode
from activities.deps import Deps
from bench.report import machine_line, percentile, write_section
from bench.stack import embedded_stack, start_strategies
from worker.launcher import DEV_SERVER_DYNAMIC_CONFIG
from worker.runtime import ensure_hub, serve_workers
from workflows.strategy import StrategyWorkflow

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Variant:
    """One way of running the cycle: how the steps run, and the dev server's dynamic config."""

    name: str
    step_mode: StepMode
    server_config: dict[str, int | str] = field(default_factory=dict)
    worker_options: dict[str, Any] = field(default_factory=dict)


VARIANTS = [
    Variant("baseline: default server, every step a regular activity", "activity"),
    Variant("default server, local activities", "local"),
    Variant("tuned server, every step a regular activity", "activity", DEV_SERVER_DYNAMIC_CONFIG),
    Variant("tuned server, local activities (what `asts up` runs)", "local", DEV_SERVER_DYNAMIC_CONFIG),
]


@dataclass
class Result:
    """Figures of one variant at one concurrency."""

    variant: str
    strategies: int
    cycles: int
    window_s: float
    p50_ms: float
    p95_ms: float

    @property
    def per_second(self) -> float:
        """Completed cycles per second over the window."""
        return self.cycles / self.window_s


async def run_one(client: Client, deps: Deps, variant: Variant, n: int, window: float) -> Result:
    """Run ``n`` strategies for ``window`` seconds and measure their cycles."""
    run = uuid.uuid4().hex[:6]
    tq = f"bench-{run}"
    async with serve_workers(client, deps, task_queue=tq, **variant.worker_options):
        # As `asts up` runs: strategies register with a NeuroHub and report after every cycle.
        hub = await ensure_hub(client, hub_id=f"hub-{run}", task_queue=tq)
        handles = await start_strategies(
            client,
            deps,
            task_queue=tq,
            n=n,
            prefix=f"b{run}",
            interval_s=0.0,
            step_mode=variant.step_mode,
            hub_id=hub.id,
        )
        await asyncio.sleep(3.0)  # warm-up: first cycles load the sandbox and caches
        begin = datetime.now(UTC)
        await asyncio.sleep(window)
        end = datetime.now(UTC)
        await asyncio.gather(
            *(h.execute_update(StrategyWorkflow.stop, HaltRequest(reason="bench")) for h in handles)
        )
        await asyncio.gather(*(h.result() for h in handles))
        await hub.terminate()
    latencies: list[float] = []
    async for wf in client.list_workflows(
        f'WorkflowType = "CycleWorkflow" AND WorkflowId STARTS_WITH "cycle-b{run}"'
    ):
        if wf.close_time and begin <= wf.close_time <= end:
            latencies.append((wf.close_time - wf.start_time).total_seconds() * 1000)
    if not latencies:
        raise RuntimeError(f"no cycle completed in the window for {variant.name} x{n}")
    return Result(
        variant.name,
        n,
        len(latencies),
        (end - begin).total_seconds(),
        statistics.median(latencies),
        percentile(latencies, 0.95),
    )


def write_report(results: list[Result], path: Path, started: datetime) -> str:
    """Write this benchmark's section of BENCHMARKS.md: absolute figures and ratios against the baseline."""
    base = {r.strategies: r for r in results if r.variant == VARIANTS[0].name}
    lines = [
        machine_line(started),
        "Embedded stack: Temporal dev server with SQLite persistence (a fresh one per variant), one",
        "Python worker in the benchmark's process (NeuroHub on its control queue, every strategy",
        "registered and reporting to it after each cycle), application database in SQLite, paper venue.",
        "Each strategy runs cycles back to back (interval 0). A cycle is scan → analyse → risk",
        "approve → execute (one OrderWorkflow per order) → reconcile; its latency is its",
        "CycleWorkflow's start to close as recorded by Temporal, for every cycle that closed in the",
        "measured window (after a warm-up); cycles/s counts those closes. *Tuned server* raises the dev",
        "server's task-queue reader poll limits (`worker/launcher.py`, `DEV_SERVER_DYNAMIC_CONFIG`);",
        "*local activities* runs the cycle steps and order placement as local activities. Ratios",
        "compare each variant with the baseline at the same concurrency, measured in the same run",
        "(latency ratio < 1 and throughput ratio > 1 are better).",
        "",
        "| variant | strategies | cycles | p50 ms | p95 ms | cycles/s "
        "| p50 vs baseline | cycles/s vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b = base[r.strategies]
        lines.append(
            f"| {r.variant} | {r.strategies} | {r.cycles} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | "
            f"{r.per_second:.1f} | {r.p50_ms / b.p50_ms:.2f} | {r.per_second / b.per_second:.2f} |"
        )
    return write_section(path, "Trading lifecycle (`bench/lifecycle.py`)", "\n".join(lines))


async def run_variant(variant: Variant, concurrency: list[int], window: float) -> list[Result]:
    """Start a fresh dev server with the variant's config and measure every concurrency."""
    results = []
    async with embedded_stack(variant.server_config) as stack:
        for n in concurrency:
            r = await run_one(stack.client, stack.deps, variant, n, window)
            print(
                f"{variant.name} x{n}: {r.cycles} cycles, p50 {r.p50_ms:.0f} ms, "
                f"p95 {r.p95_ms:.0f} ms, {r.per_second:.1f}/s",
                flush=True,
            )
            results.append(r)
    return results


async def main(window: float, concurrency: list[int], out: Path) -> None:
    """Run every variant at every concurrency and write the report."""
    started = datetime.now(UTC)
    results = [r for v in VARIANTS for r in await run_variant(v, concurrency, window)]
    results.sort(key=lambda r: (r.strategies, [v.name for v in VARIANTS].index(r.variant)))
    print(write_report(results, out, started))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured per run")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated strategy counts")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    asyncio.run(main(args.window, [int(x) for x in args.concurrency.split(",")], args.out))
