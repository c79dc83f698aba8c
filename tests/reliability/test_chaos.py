"""A short chaos run on the production topology (two workers): every kind of fault once at a random
moment, the invariants checked after each and at the end. ``bench/chaos.py`` runs 100 and more."""

from __future__ import annotations

from pathlib import Path

from bench.chaos import FAULT_KINDS, ChaosConfig, ChaosRun
from tests.reliability.chaos_fixtures import needs_postgres_tools


@needs_postgres_tools
async def test_a_short_chaos_run_loses_nothing_and_recovers_from_every_kind_of_fault(tmp_path: Path) -> None:
    config = ChaosConfig(faults=len(FAULT_KINDS), workers=2, strategies=6, halted=1, seed=7)
    lines: list[str] = []
    run = ChaosRun(config, tmp_path / "home", say=lines.append)
    async with run.started():
        report = await run.run()
    assert not report.violations, "\n".join([*map(str, report.violations), *lines])
    assert sorted(o.kind for o in report.outcomes) == sorted(FAULT_KINDS)
    assert all(o.recovery_s <= config.recover_within_s for o in report.outcomes), lines
    (placing,) = [o for o in report.outcomes if o.kind == "kill_worker_placing"]
    assert placing.order_s is not None, lines  # a placement was cut off, and its order settled
    assert report.orders["paper"] > 0 and report.fills["paper"] > 0
    assert report.orders["binance"] > 0 and report.fills["binance"] > 0
