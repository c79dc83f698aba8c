"""The production topology: several worker processes on one task queue and PostgreSQL. When a
worker dies, its strategies move to the others; when the last but one dies, the last carries all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.chaos import ChaosConfig, ChaosRun
from tests.reliability.chaos_fixtures import needs_postgres_tools


@needs_postgres_tools
async def test_strategies_move_to_the_other_workers_when_one_dies(tmp_path: Path) -> None:
    config = ChaosConfig(workers=3, strategies=4, halted=0, kinds=("kill_worker",), recover_within_s=90)
    run = ChaosRun(config, tmp_path / "home", say=lambda _line: None)
    async with run.started():
        assert len(run.topo.worker_names()) == 3
        moved = 0
        for _ in range(2):  # three workers, then two, then one
            by_worker = {sid: await run.worker_of(wid) for sid, wid in run.running.items()}
            victim = next(w for w in by_worker.values() if w is not None)
            await run.kill_worker(victim)
            took = await run.wait_cycling(datetime.now(UTC), config.recover_within_s)
            assert took is not None, f"the strategies did not cycle again after {victim} died"
            for sid, was in by_worker.items():
                now = await run.worker_of(run.running[sid])
                assert now in run.topo.worker_names(), f"{sid} last ran on {now}, which is dead"
                moved += was == victim
        assert len(run.topo.worker_names()) == 1
        assert moved >= 2  # each killed worker was running at least one strategy, which moved
        violations, orders, fills = await run.finish()
    assert not violations, "\n".join(map(str, violations))
    assert orders["paper"] > 0 and fills["paper"] > 0
    assert orders["binance"] > 0 and fills["binance"] > 0
