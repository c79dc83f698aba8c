"""Chaos on the production topology: faults at random moments, the invariants checked after each.

Strategies trade on the paper venue and on the Binance emulator (through the real ccxt client)
while the harness, one fault at a time:

- ``kill_worker``: SIGKILLs a random worker at a random moment; the others carry its strategies
  until a replacement starts (after the strategies recovered);
- ``kill_worker_placing``: SIGKILLs the worker that runs an order's placement, mid-flight;
- ``restart_temporal``: SIGKILLs the Temporal server and starts it again on its database;
- ``restart_postgres``: stops PostgreSQL as a crash would (``immediate``) and starts it again;
- ``restart_api``: SIGKILLs the API and starts it again (the tokens it issued stay valid);
- ``drop_venue_answers``: the emulator executes order requests and drops their answers, and
  fails reads with 503, a few times each.

After each fault: every strategy that was running completes a cycle started after the fault
within ``recover_within_s`` (the time it took is the fault's recovery time); the halted strategies are
still halted and placed nothing; no order workflow runs longer than ``stuck_s``; no workflow
failed; and ``bench.invariants`` holds on both venues (no duplicate order, books = venue,
positions = balances). At the end every strategy is stopped and the invariants are checked once
more, with nothing in flight.

    python -m bench.chaos --faults 100 --out BENCHMARKS.md

The CI runs a short one (``tests/reliability/test_chaos.py``). Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.deps import Deps
from bench.invariants import VenueReader, Violation, check_venue, emulator_reader, paper_reader
from bench.report import machine_line, percentile, write_section
from bench.topology import PrivatePostgres, Topology
from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from store import repo
from store.db import make_engine, make_sessionmaker
from tests.exchanges.binance_venue import venue_env
from workflows.strategy import StrategyWorkflow

FAULT_KINDS = (
    "kill_worker",
    "kill_worker_placing",
    "restart_temporal",
    "restart_postgres",
    "restart_api",
    "drop_venue_answers",
)
VENUES = ("paper", "binance")
SYMBOLS = (("MSFT/USD", "GOOGL/USD"), ("SPX/USD", "MSFT/USD"), ("GOOGL/USD", "SPX/USD"))
ORDER = "/api/v3/order"
QUERY_TIMEOUT = timedelta(seconds=3)
# The order workflows still running (a visibility query).
ORDERS_RUNNING = 'WorkflowType = "OrderWorkflow" AND ExecutionStatus = "Running"'
PLACEMENT_HOLD_S = 3.0  # how long kill_worker_placing holds a placement at the emulator


@dataclass
class ChaosConfig:
    """A chaos run's size and its stated limits."""

    faults: int = 100
    workers: int = 3
    strategies: int = 20
    halted: int = 2  # halted at the start: they must stay halted through every fault
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    interval: str = "1s"
    bars_per_second: float = 2.0
    settle_s: float = 30.0  # how long one order may disagree between the books and a venue
    recover_within_s: float = 90.0  # every running strategy cycles again within this
    stuck_s: float = 180.0  # an order workflow running longer than this is stuck


@dataclass
class FaultOutcome:
    """One fault: what was done, how long the strategies took to cycle again, what broke."""

    kind: str
    detail: str
    recovery_s: float
    order_s: float | None = None  # kill_worker_placing: until the cut-off order was settled
    violations: list[Violation] = field(default_factory=list)


@dataclass
class ChaosReport:
    """Everything a run found."""

    outcomes: list[FaultOutcome]
    final: list[Violation]
    orders: dict[str, int]  # venue orders per venue at the end
    fills: dict[str, int]  # venue orders with a fill, per venue
    seconds: float

    @property
    def violations(self) -> list[Violation]:
        """Every violation, after the faults and at the end."""
        return [v for o in self.outcomes for v in o.violations] + self.final


class ChaosRun:
    """The topology, the emulator, the strategies, and the faults and checks on them."""

    def __init__(self, config: ChaosConfig, home: Path, say: Any = print) -> None:
        self.config = config
        self.home = home
        self.say = say
        self.rng = random.Random(config.seed)  # noqa: S311  # nosec B311: chaos, not security
        self.pg = PrivatePostgres()
        self.topo: Topology
        self.emu: BinanceEmulator
        self.client: Client
        self.http: httpx.AsyncClient
        self.sessions: async_sessionmaker[AsyncSession]
        self.venues: dict[str, VenueReader] = {}
        self.start_balances: dict[str, dict[str, Decimal]] = {}
        self.running: dict[str, str] = {}  # strategy id -> workflow id
        self.halted: dict[str, str] = {}
        self.halted_orders: dict[str, int] = {}
        self.spawned = 0  # workers started so far (names stay unique)
        self.worker_pids: dict[int, str] = {}  # every worker ever started, killed ones included
        self.cut_off: str | None = None  # the order workflow whose placement a kill cut off
        self.cut_at = 0.0

    # ---- set-up ------------------------------------------------------------------------------

    @asynccontextmanager
    async def started(self) -> AsyncIterator[ChaosRun]:
        """Everything running, strategies trading; torn down on exit."""
        async with contextlib.AsyncExitStack() as stack:
            await asyncio.to_thread(self.pg.init)
            stack.callback(self.pg.destroy)
            self.emu = await stack.enter_async_context(
                serve_binance_emulator(bars_per_second=self.config.bars_per_second)
            )
            self.topo = Topology(
                self.home,
                self.pg.url,
                workers=0,
                env=venue_env(self.emu),
                bars_per_second=self.config.bars_per_second,
            )
            stack.callback(self.topo.stop)
            await asyncio.to_thread(self.topo.start)
            for _ in range(self.config.workers):
                await self._start_worker()
            self.client = await self.topo.client()
            self.http = await stack.enter_async_context(self.topo.admin())
            await self.topo.sign_in(self.http)
            engine = make_engine(self.pg.url)
            stack.push_async_callback(engine.dispose)
            self.sessions = make_sessionmaker(engine)
            deps = Deps(sessions=self.sessions, home=self.home, bars_per_second=self.config.bars_per_second)
            stack.push_async_callback(deps.close)
            self.venues = {
                "paper": paper_reader(deps.exchange("paper")),
                "binance": emulator_reader(self.emu),
            }
            for name, read in self.venues.items():
                self.start_balances[name] = (await read()).balances
            await self._create_strategies()
            yield self

    async def _start_worker(self) -> str:
        name = f"worker-{self.spawned}"
        self.spawned += 1
        await asyncio.to_thread(self.topo.start_worker, name)
        for child in self.topo.stack.children:
            if child.name == name:
                self.worker_pids[child.proc.pid] = name
        return name

    async def kill_worker(self, name: str) -> None:
        """SIGKILL the worker ``name``."""
        await asyncio.to_thread(self.topo.kill_worker, name)

    async def worker_of(self, workflow_id: str) -> str | None:
        """The worker that completed the workflow's latest workflow task (from its history)."""
        last = ""
        async for event in self.client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.HasField("workflow_task_completed_event_attributes"):
                last = event.workflow_task_completed_event_attributes.identity
        pid = last.split("@")[0]
        return self.worker_pids.get(int(pid)) if pid.isdigit() else None

    async def _create_strategies(self) -> None:
        for i in range(self.config.strategies):
            venue = VENUES[i % len(VENUES)]
            body = {
                "name": f"chaos {i}",
                "type": "sma_cross",
                "exchange": venue,
                "symbols": list(SYMBOLS[i % len(SYMBOLS)]),
                "interval": self.config.interval,
                "params": {"fast": 2, "slow": 4, "size": str(i % 5 + 1)},
            }
            r = await self._api("POST", "/strategies", json=body)
            if r.status_code != 201:
                raise RuntimeError(f"POST /strategies: {r.status_code} {r.text[:500]}")
            created = r.json()
            self.running[created["id"]] = created["workflow_id"]
        for sid in list(self.running)[: self.config.halted]:
            r = await self._api("POST", f"/strategies/{sid}/halt", json={"reason": "chaos: must stay halted"})
            if r.status_code != 200:
                raise RuntimeError(f"halt {sid}: {r.status_code} {r.text[:500]}")
            self.halted[sid] = self.running.pop(sid)
        await self.wait_cycling(datetime.now(UTC), self.config.recover_within_s)
        for sid in self.halted:
            self.halted_orders[sid] = await self._order_count(sid)

    # ---- probes ------------------------------------------------------------------------------

    async def _status(self, workflow_id: str) -> Any | None:
        try:
            handle = self.client.get_workflow_handle(workflow_id)
            return await handle.query(StrategyWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
        except (TimeoutError, RPCError, WorkflowQueryFailedError):
            return None

    async def wait_cycling(self, after: datetime, timeout: float) -> float | None:
        """Seconds until every running strategy completed a cycle that started after ``after``
        (a cycle cut off by the fault does not count: the next one must start and end); None when
        one had not within ``timeout``."""
        started = time.monotonic()
        waiting = set(self.running)
        while waiting and time.monotonic() - started < timeout:
            for sid in list(waiting):
                st = await self._status(self.running[sid])
                if st is None or st.status != "running" or st.last_cycle is None:
                    continue
                if not st.last_cycle.error and st.last_cycle.started_at > after:
                    waiting.discard(sid)
            if waiting:
                await asyncio.sleep(0.2)
        return None if waiting else time.monotonic() - started

    async def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request as the admin, signing in again once when the access token has expired."""
        r = await self.http.request(method, path, **kwargs)
        if r.status_code == 401:
            await self.topo.sign_in(self.http)
            r = await self.http.request(method, path, **kwargs)
        return r

    async def _order_count(self, strategy_id: str) -> int:
        async with self.sessions() as s:
            return len(await repo.list_orders(s, strategy_id=strategy_id, limit=100_000))

    async def _checks(self, *, final: bool = False) -> list[Violation]:
        found: list[Violation] = []
        for sid, wid in self.halted.items():
            st = None if final else await self._status(wid)  # at the end they were stopped
            if not final and (st is None or st.status != "halted"):
                found.append(Violation(f"halt of {sid}", f"status {st.status if st else 'unknown'}"))
            if (n := await self._order_count(sid)) != self.halted_orders[sid]:
                found.append(Violation(f"halt of {sid}", f"{n - self.halted_orders[sid]} orders since"))
        now = datetime.now(UTC)
        async for wf in self.client.list_workflows(ORDERS_RUNNING):
            if wf.start_time and (now - wf.start_time).total_seconds() > self.config.stuck_s:
                found.append(Violation("stuck order workflow", f"{wf.id} running since {wf.start_time}"))
        broken = (
            'ExecutionStatus = "Failed" OR ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut"'
        )
        async for wf in self.client.list_workflows(broken):
            found.append(Violation("workflow ended badly", f"{wf.workflow_type} {wf.id}: {wf.status}"))
        for name, read in self.venues.items():
            assets = {s.split("/")[0] for pair in SYMBOLS for s in pair}
            found += await check_venue(
                name, read, self.sessions, self.start_balances[name], assets, settle_s=self.config.settle_s
            )
        return found

    # ---- faults ------------------------------------------------------------------------------

    async def _placing_worker(self, hold: Any, wait_s: float = 30.0) -> tuple[str, str] | None:
        """The worker whose placement the emulator is holding (``hold``, a delay rule) and the
        order workflow placing, if one is
        taken within ``wait_s``. Placement runs as a local activity (not listed among a workflow's
        pending activities) inside a workflow task: the worker is the one that started the order
        workflow's open workflow task, named in its history."""
        alive = set(self.topo.worker_names())
        pids = {pid: name for pid, name in self.worker_pids.items() if name in alive}
        deadline = time.monotonic() + wait_s
        while hold.remaining:  # not taken yet
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.02)
        held_until = time.monotonic() + PLACEMENT_HOLD_S * 0.8
        while time.monotonic() < held_until:
            at_venue = {str(o["clientOrderId"]) for o in self.emu.orders()}
            async for wf in self.client.list_workflows(ORDERS_RUNNING, limit=50):
                if wf.id.removeprefix("order-") in at_venue:
                    continue  # placed already: not the held one
                with contextlib.suppress(RPCError):
                    identity = await self._open_task_identity(wf.id)
                    pid = identity.split("@")[0]
                    if pid.isdigit() and int(pid) in pids:
                        return pids[int(pid)], wf.id
            await asyncio.sleep(0.05)
        return None

    async def _open_task_identity(self, workflow_id: str) -> str:
        """The identity of the worker that started the workflow's open workflow task ("" if none)."""
        identity = ""
        async for event in self.client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.HasField("workflow_task_started_event_attributes"):
                identity = event.workflow_task_started_event_attributes.identity
            elif event.HasField("workflow_task_completed_event_attributes") or event.HasField(
                "workflow_task_failed_event_attributes"
            ):
                identity = ""
        return identity

    async def _inflict(self, kind: str) -> tuple[str, Any]:
        """Do the fault; return what was done and what to do once the strategies recovered."""
        if kind == "kill_worker_placing":
            # The next placement at the Binance emulator hangs for a while before it is executed,
            # so it is in flight when its worker dies: the venue takes the order, no answer returns.
            hold = self.emu.faults.add("delay_before", method="POST", path=ORDER, seconds=PLACEMENT_HOLD_S)
            found = await self._placing_worker(hold)
            if found is not None:
                name, self.cut_off = found
                self.cut_at = time.monotonic()
                await self.kill_worker(name)
                return f"{name}, mid-placement", self._start_worker
            hold.remaining = 0
        if kind in ("kill_worker", "kill_worker_placing"):
            await asyncio.sleep(self.rng.uniform(0, 2))
            name = self.rng.choice(self.topo.worker_names())
            await self.kill_worker(name)
            return name if kind == "kill_worker" else f"{name} (no placement seen)", self._start_worker
        if kind == "restart_temporal":
            await asyncio.to_thread(self.topo.restart_temporal)
            return "SIGKILL, restarted", None
        if kind == "restart_postgres":
            await asyncio.to_thread(self.pg.restart, "immediate")
            return "immediate stop, restarted", None
        if kind == "restart_api":
            # A token issued just before (an access token lives 15 minutes: the run's first one
            # expires by age) must still be good after the restart.
            await self.topo.sign_in(self.http)
            await asyncio.to_thread(self.topo.restart_api)
            return "SIGKILL, restarted", None
        if kind == "drop_venue_answers":
            rules = [
                self.emu.faults.add("drop_after_accept", method="POST", path=ORDER, times=2),
                self.emu.faults.add("http_error", method="GET", path=ORDER, times=3),
            ]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not any(r.remaining for r in rules):
                    break
                await asyncio.sleep(0.1)
            used = sum((r.times or 0) - (r.remaining or 0) for r in rules)
            self.emu.faults.clear()
            return f"{used} requests faulted", None
        raise ValueError(f"unknown fault kind {kind!r}")

    async def fault(self, kind: str) -> FaultOutcome:
        """One fault, then the recovery and the checks."""
        detail, after = await self._inflict(kind)
        took = await self.wait_cycling(datetime.now(UTC), self.config.recover_within_s)
        outcome = FaultOutcome(kind, detail, took if took is not None else float("inf"))
        if took is None:
            outcome.violations.append(
                Violation("recovery", f"not every strategy cycled within {self.config.recover_within_s:.0f}s")
            )
        if self.cut_off is not None:
            outcome.order_s = await self._settled(self.cut_off)
            if outcome.order_s is None:
                outcome.violations.append(Violation("cut-off order", f"{self.cut_off} not settled"))
            self.cut_off = None
        if after is not None:
            await after()
        if kind == "restart_api":
            r = await self.http.get("/strategies")  # the token issued before the restart
            if r.status_code != 200:
                outcome.violations.append(Violation("API restart", f"GET /strategies {r.status_code}"))
        outcome.violations += await self._checks()
        return outcome

    async def _settled(self, workflow_id: str) -> float | None:
        """Seconds from the kill until the order workflow ``workflow_id`` completed (None: it had
        not within ``stuck_s``)."""
        with contextlib.suppress(TimeoutError, WorkflowFailureError):
            async with asyncio.timeout(self.config.stuck_s):
                await self.client.get_workflow_handle(workflow_id).result()
                return time.monotonic() - self.cut_at
        return None

    async def finish(self) -> tuple[list[Violation], dict[str, int], dict[str, int]]:
        """Stop every strategy; check once nothing is in flight; count the venues' orders."""
        found: list[Violation] = []
        for sid in [*self.running, *self.halted]:
            r = await self._api("POST", f"/strategies/{sid}/stop", json={"reason": "chaos: end of run"})
            if r.status_code != 200:
                found.append(Violation(f"stop of {sid}", f"{r.status_code} {r.text[:200]}"))
        self.running.clear()
        deadline = time.monotonic() + self.config.stuck_s
        while time.monotonic() < deadline:
            if not [wf async for wf in self.client.list_workflows(ORDERS_RUNNING, limit=1)]:
                break
            await asyncio.sleep(0.5)
        found += await self._checks(final=True)
        orders: dict[str, int] = {}
        fills: dict[str, int] = {}
        for name, read in self.venues.items():
            view = await read()
            orders[name] = len(view.orders)
            fills[name] = sum(1 for o in view.orders.values() if o.filled > 0)
        return found, orders, fills

    async def run(self) -> ChaosReport:
        """``faults`` faults of the configured kinds, every kind in turn, each at a random moment."""
        started = time.monotonic()
        outcomes: list[FaultOutcome] = []
        kinds = list(self.config.kinds)
        for i in range(self.config.faults):
            if i % len(kinds) == 0:
                self.rng.shuffle(kinds)
            await asyncio.sleep(self.rng.uniform(0, 3))
            outcome = await self.fault(kinds[i % len(kinds)])
            outcomes.append(outcome)
            broke = "; ".join(map(str, outcome.violations)) or "nothing lost"
            self.say(
                f"fault {i + 1}/{self.config.faults} {outcome.kind} ({outcome.detail}): "
                f"recovered in {outcome.recovery_s:.1f}s; {broke}"
            )
        final, orders, fills = await self.finish()
        return ChaosReport(outcomes, final, orders, fills, time.monotonic() - started)


async def chaos(config: ChaosConfig, say: Any = print) -> ChaosReport:
    """A whole run under a temporary home."""
    with tempfile.TemporaryDirectory(prefix="asts-chaos-") as tmp:
        run = ChaosRun(config, Path(tmp), say)
        async with run.started():
            return await run.run()


def report_table(config: ChaosConfig, report: ChaosReport, started: datetime) -> str:
    """The BENCHMARKS.md section."""
    by_kind: dict[str, list[float]] = {}
    for o in report.outcomes:
        by_kind.setdefault(o.kind, []).append(o.recovery_s)
    broken = Counter(o.kind for o in report.outcomes if o.violations)
    rows = [
        "| fault | count | survived | recovery p50 s | p95 s | max s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    every: list[float] = []
    for kind in FAULT_KINDS:
        times = by_kind.get(kind)
        if not times:
            continue
        every += times
        rows.append(
            f"| {kind} | {len(times)} | {len(times) - broken[kind]} | {statistics.median(times):.1f} | "
            f"{percentile(times, 0.95):.1f} | {max(times):.1f} |"
        )
    rows.append(
        f"| **all** | {len(every)} | {len(every) - sum(broken.values())} | {statistics.median(every):.1f} | "
        f"{percentile(every, 0.95):.1f} | {max(every):.1f} |"
    )
    lost = len(report.violations)
    cut = [o.order_s for o in report.outcomes if o.order_s is not None]
    cut_line = (
        f"Placements cut off by a worker's death: {len(cut)}, each order settled (booked as the "
        f"venue has it) {statistics.median(cut):.1f} s after the kill at the median, "
        f"{max(cut):.1f} s at most."
        if cut
        else "No placement was caught in flight."
    )
    return "\n".join(
        [
            machine_line(started),
            "",
            f"`python -m bench.chaos --faults {config.faults} --workers {config.workers} "
            f"--strategies {config.strategies} --seed {config.seed}`: {config.strategies} sma_cross "
            f"strategies ({config.halted} halted first) cycling every {config.interval} on the paper "
            f"venue and the Binance emulator (through ccxt), {config.workers} workers and the API as "
            f"processes, the Temporal dev server, a PostgreSQL of the run's own; "
            f"{report.seconds / 60:.0f} minutes. Recovery: from the fault's end until every running "
            f"strategy completed a cycle that started after it "
            f"(stated limit {config.recover_within_s:.0f} s).",
            "",
            *rows,
            "",
            f"Orders at the venues: paper {report.orders.get('paper', 0)} "
            f"({report.fills.get('paper', 0)} filled), Binance emulator {report.orders.get('binance', 0)} "
            f"({report.fills.get('binance', 0)} filled). Invariant violations (duplicates, books ≠ venue, "
            f"positions ≠ balances, a halt lost, a stuck or failed workflow): **{lost}**.",
            "",
            cut_line,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chaos bench and write its section of BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--strategies", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if args.faults < 1 or args.workers < 2 or args.strategies < 3:
        parser.error("at least 1 fault, 2 workers and 3 strategies")
    config = ChaosConfig(faults=args.faults, workers=args.workers, strategies=args.strategies, seed=args.seed)
    started = datetime.now(UTC)
    report = asyncio.run(chaos(config))
    section = write_section(
        args.out, "Chaos: faults on the production topology", report_table(config, report, started)
    )
    print(section)
    for v in report.violations:
        print(f"VIOLATION {v}", file=sys.stderr)
    return 1 if report.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
