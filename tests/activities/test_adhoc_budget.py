"""Ad-hoc analyses (POST /analyze) share one daily LLM allowance: once it is spent, the analysts
decide alone, and the model is not asked again that day."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.analysis import AnalysisActivities
from activities.contracts import AnalyzeRequest, LlmBudget
from activities.deps import Deps
from api.routes.analysis import adhoc_budget
from tests.activities.test_analysis_activity import BUY, env_at
from tests.agents.support import llm_config
from tests.llm_emulator import LlmEmulator
from worker.settings import Settings

AS_OF = datetime(2017, 6, 1, tzinfo=UTC)


async def test_a_spent_adhoc_allowance_leaves_the_next_analysis_to_the_analysts(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu)
    emu.answer(BUY)
    act = AnalysisActivities(deps).analyze_once
    budget = LlmBudget(daily_tokens=50)
    first = await env_at(1).run(
        act, AnalyzeRequest(analysis_id="adhoc-1", symbol="MSFT/USD", as_of=AS_OF, llm_budget=budget)
    )
    assert first.mode == "llm" and first.tokens_in + first.tokens_out > 50
    second = await env_at(1).run(
        act, AnalyzeRequest(analysis_id="adhoc-2", symbol="GOOGL/USD", as_of=AS_OF, llm_budget=budget)
    )
    assert second.mode == "budget_fallback" and "LLM budget spent" in second.rationale
    assert len(emu.requests) == 1
    unlimited = await env_at(1).run(act, AnalyzeRequest(analysis_id="adhoc-3", symbol="SPX/USD", as_of=AS_OF))
    assert unlimited.mode == "llm" and len(emu.requests) == 2
    await deps.close()


def test_the_adhoc_allowance_comes_from_the_settings() -> None:
    assert adhoc_budget(Settings(analyze_daily_tokens=1000)) == LlmBudget(daily_tokens=1000)
    assert adhoc_budget(Settings(analyze_daily_tokens=None, analyze_daily_cost=None)) is None
    assert Settings().analyze_daily_tokens == 200_000  # a default: ad-hoc analyses are never unlimited
