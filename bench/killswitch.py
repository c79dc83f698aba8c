"""How fast the kill switch closes the gate, and every strategy acknowledges, at 10, 100, 1000 strategies.

On the embedded stack (the tuned Temporal dev server with SQLite persistence, a worker in
this process with NeuroHub on its own task queue, the API over HTTP, SQLite store, paper
venue) it starts N running strategies (a cycle an hour: registered, reporting, idle between
cycles), waits until NeuroHub knows them all and is quiet, then repeats:

* **global halt**, ``POST /halt`` with ``wait="all"``: the time from the request until the
  global gate's transaction committed (after which no order can be placed), and until the
  last strategy acknowledged;
* **baseline, per-strategy halts**: what a system without a global gate does,
  ``POST /strategies/{id}/halt`` for each; the time until the last strategy's gate closed.

followed each time by the matching resume. p50/p95 over the repetitions go to BENCHMARKS.md,
with the global gate's time as a ratio of the baseline's measured in the same run.

    python -m bench.killswitch [--counts 10,100,1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from temporalio.client import WorkflowHandle

from bench.report import machine_line, percentile, write_section
from bench.stack import Stack, embedded_stack, serve_api, start_strategies
from worker.launcher import DEV_SERVER_DYNAMIC_CONFIG
from worker.runtime import ensure_hub, serve_workers
from workflows.neurohub import NeuroHubWorkflow

BIN = Path(sys.executable).parent
BASELINE_CONCURRENCY = 64
TITLE = "Kill switch (`bench/killswitch.py`)"


@dataclass
class Figures:
    """Milliseconds per repetition at one strategy count."""

    strategies: int
    gate_ms: list[float]
    last_ack_ms: list[float]
    answered_ms: list[float]
    baseline_ms: list[float]
    setup_s: float

    def row(self) -> str:
        g50, g95 = statistics.median(self.gate_ms), percentile(self.gate_ms, 0.95)
        a50, a95 = statistics.median(self.last_ack_ms), percentile(self.last_ack_ms, 0.95)
        r50 = statistics.median(self.answered_ms)
        b50, b95 = statistics.median(self.baseline_ms), percentile(self.baseline_ms, 0.95)
        return (
            f"| {self.strategies} | {len(self.gate_ms)} | {g50:.0f} | {g95:.0f} | {a50:.0f} | {a95:.0f} | "
            f"{r50:.0f} | {b50:.0f} | {b95:.0f} | {g50 / b50:.2g} |"
        )


def ms_since(t0: datetime, t: datetime) -> float:
    return (t - t0).total_seconds() * 1000


async def wait_known(hub: WorkflowHandle, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = await hub.query(NeuroHubWorkflow.counters)
        if st["strategies"] >= n and st["reports_received"] >= n:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"NeuroHub did not see {n} strategies cycle within {timeout}s")


async def settle(hub: WorkflowHandle, quiet_s: float = 1.0, timeout: float = 120.0) -> None:
    """Wait until NeuroHub has received no signal for ``quiet_s``: strategies idle between cycles."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        received = (await hub.query(NeuroHubWorkflow.counters))["signals_received"]
        if received == last:
            return
        last = received
        await asyncio.sleep(quiet_s)


async def global_halt(http: httpx.AsyncClient) -> tuple[float, float, float]:
    """POST /halt with wait=all; then POST /resume. Returns gate closed, last ack and answer times."""
    asked = datetime.now(UTC)
    t0 = time.perf_counter()
    r = await http.post("/halt", json={"reason": "bench", "wait": "all", "ack_timeout": "600s"})
    answered = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    out = r.json()
    if out["unacknowledged_strategies"] or not out["strategies"]:
        raise RuntimeError(f"not acknowledged: {out['unacknowledged_strategies'][:5]} {out.get('note', '')}")
    last = max(datetime.fromisoformat(a["at"]) for a in out["strategies"])
    resumed = await http.post("/resume", json={"reason": "bench", "wait": "all", "ack_timeout": "600s"})
    resumed.raise_for_status()
    return ms_since(asked, datetime.fromisoformat(out["gate_changed_at"])), ms_since(asked, last), answered


async def per_strategy_halts(http: httpx.AsyncClient, ids: list[str]) -> float:
    """Baseline: POST /strategies/{id}/halt for every strategy (64 requests at a time, as a client
    would: more only queue on the API's database pool); when the last strategy's gate closed."""
    gate = asyncio.Semaphore(BASELINE_CONCURRENCY)
    body = {"reason": "bench"}

    async def post(path: str) -> httpx.Response:
        async with gate:
            return (await http.post(path, json=body)).raise_for_status()

    asked = datetime.now(UTC)
    halted = await asyncio.gather(*(post(f"/strategies/{sid}/halt") for sid in ids))
    closed = max(datetime.fromisoformat(r.json()["at"]) for r in halted)
    await asyncio.gather(*(post(f"/strategies/{sid}/resume") for sid in ids))
    return ms_since(asked, closed)


async def measure(stack: Stack, n: int, repeat: int) -> Figures:
    tq, hub_id = f"ks-{uuid.uuid4().hex[:6]}", f"hub-{uuid.uuid4().hex[:6]}"
    client = stack.client
    async with serve_workers(client, stack.deps, task_queue=tq, max_concurrent_workflow_tasks=200):
        hub = await ensure_hub(client, hub_id=hub_id, task_queue=tq)
        t0 = time.perf_counter()
        prefix = f"k{uuid.uuid4().hex[:6]}"
        handles = await start_strategies(
            client, stack.deps, task_queue=tq, n=n, prefix=prefix, interval_s=3600.0, hub_id=hub_id
        )
        await wait_known(hub, n, timeout=60 + n * 0.5)
        setup = time.perf_counter() - t0
        ids = [f"{prefix}{i}" for i in range(n)]
        gate, acks, answered, baseline = [], [], [], []
        async with serve_api(stack, task_queue=tq, hub_id=hub_id) as http:
            for _ in range(repeat):
                await settle(hub)
                g, a, r = await global_halt(http)
                gate.append(g)
                acks.append(a)
                answered.append(r)
                await settle(hub)
                baseline.append(await per_strategy_halts(http, ids))
                print(
                    f"  x{n}: gate {g:.0f} ms, last ack {a:.0f} ms, baseline {baseline[-1]:.0f} ms",
                    flush=True,
                )
        for chunk in range(0, n, 100):
            await asyncio.gather(*(h.terminate() for h in handles[chunk : chunk + 100]))
        await hub.terminate()
    return Figures(n, gate, acks, answered, baseline, setup)


def report(figures: list[Figures], started: datetime, out: Path) -> str:
    lines = [
        machine_line(started),
        "Embedded stack as `asts up` runs it: tuned Temporal dev server with SQLite persistence, one",
        "worker process (strategies on the main task queue, NeuroHub on its own), the API over HTTP,",
        "SQLite store, paper venue. N strategies are running (a cycle an hour: registered, reporting,",
        'idle between cycles). Each repetition runs `POST /halt` with `wait="all"`, then `POST /resume`.',
        "*Gate closed* is the time from the request until the global gate's transaction committed:",
        "from then on no order can be placed by any strategy. *Last ack* is until the last strategy",
        "acknowledged (it starts no more cycles; NeuroHub cancels open orders meanwhile); *answered*",
        "is when the caller got the answer.",
        "The baseline halts the same strategies one by one through the API",
        f"(`POST /strategies/{{id}}/halt`, {BASELINE_CONCURRENCY} requests at a time), as a system without",
        "a global gate must; its figure is when the last strategy's gate closed. Ratio < 1 is better.",
        "",
        "| strategies | runs | gate closed p50 ms | p95 ms | last ack p50 ms | p95 ms | answered p50 ms "
        "| baseline p50 ms | p95 ms | gate vs baseline |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(f.row() for f in figures),
    ]
    return write_section(out, TITLE, "\n".join(lines))


async def main(counts: list[int], repeat: int, out: Path) -> None:
    started = datetime.now(UTC)
    figures = []
    async with embedded_stack(DEV_SERVER_DYNAMIC_CONFIG) as stack:
        for n in counts:
            figures.append(await measure(stack, n, repeat))
            print(f"x{n}: set up in {figures[-1].setup_s:.0f}s; {figures[-1].row()}", flush=True)
    print(report(figures, started, out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", default="10,100,1000", help="comma-separated strategy counts")
    parser.add_argument("--repeat", type=int, default=5, help="halts per count")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    asyncio.run(main([int(x) for x in args.counts.split(",")], args.repeat, args.out))
