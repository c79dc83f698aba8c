"""The analyse step (TACoreService): run the analysis graph per symbol and record each decision."""

from __future__ import annotations

from temporalio import activity

from activities.contracts import AnalyseInput, AnalyseResult, Decision
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import DECISIONS
from agents.analysis import analyse_symbol
from store import repo


class AnalysisActivities:
    """Agent activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="analyse")
    @translate_errors
    async def analyse(self, inp: AnalyseInput) -> AnalyseResult:
        """One decision per symbol, recorded once (a retry returns the recorded one)."""
        cfg = inp.config
        decisions: list[Decision] = []
        for snap in inp.snapshots:
            out = await analyse_symbol(
                symbol=snap.symbol, strategy_type=cfg.type, params=cfg.params, closes=snap.closes
            )
            decisions.append(
                Decision(
                    symbol=snap.symbol,
                    target=out["target"],  # type: ignore[arg-type]
                    confidence=out["confidence"],
                    rationale=out["rationale"],
                    indicators=out.get("indicators", {}),
                )
            )
        recorded: list[Decision] = []
        async with self.deps.transaction() as s:
            for d in decisions:
                row = await repo.record_decision(
                    s,
                    strategy_id=cfg.strategy_id,
                    cycle=inp.cycle,
                    symbol=d.symbol,
                    target=d.target,
                    confidence=d.confidence,
                    rationale=d.rationale,
                    signal={"indicators": d.indicators},
                    now=utcnow(),
                )
                # A re-run (after a crash) saw newer prices; what was recorded first stands.
                recorded.append(
                    Decision(
                        symbol=row.symbol,
                        target=row.target,  # type: ignore[arg-type]
                        confidence=row.confidence,
                        rationale=row.rationale,
                        indicators=(row.signal or {}).get("indicators", {}),
                    )
                )
        for d in recorded:
            DECISIONS.labels(d.target).inc()
        return AnalyseResult(decisions=recorded)
