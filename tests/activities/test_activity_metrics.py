"""The activities count what they do: a refused order by each failing rule (and the gate), and a
model's calls with their tokens and cost by provider and model (real store, venue and emulator)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from temporalio.testing import ActivityEnvironment

from activities.analysis import AnalysisActivities
from activities.contracts import AnalyseInput, Decision, RiskInput, SymbolSnapshot
from activities.deps import Deps
from activities.risk import RiskActivities
from agents.llm import Price
from tests.activities.test_analysis_activity import AS_OF, BUY, agent_snapshot, env_at
from tests.agents.support import llm_config
from tests.factories import insert_strategy, make_config
from tests.llm_emulator import LlmEmulator


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_refused_order_is_counted_once_per_failing_rule_and_for_the_gate(deps: Deps) -> None:
    capped = make_config(risk={"max_order_notional": "1"})
    halted = make_config()
    await insert_strategy(deps, capped)
    await insert_strategy(deps, halted, status="halted")
    t = await deps.exchange("paper").ticker("MSFT/USD")
    snaps = [SymbolSnapshot(symbol="MSFT/USD", ts=t.ts, last=t.last, closes=[t.last])]
    long = [Decision(symbol="MSFT/USD", target="long", confidence=0.9, rationale="test")]
    reasons = ("max_order_notional", "not_halted", "gate")
    before = {r: sample("asts_risk_rejections_total", reason=r) for r in reasons}
    for cfg in (capped, halted):
        inp = RiskInput(config=cfg, cycle=1, decisions=long, snapshots=snaps)
        out = await ActivityEnvironment().run(RiskActivities(deps).risk_approve, inp)
        assert out.approved == [] and len(out.rejected) == 1
    after = {r: sample("asts_risk_rejections_total", reason=r) for r in reasons}
    assert {r: after[r] - before[r] for r in reasons} == {"max_order_notional": 1, "not_halted": 1, "gate": 1}


async def test_a_models_calls_tokens_and_cost_are_counted_by_provider_and_model(
    deps: Deps, emu: LlmEmulator
) -> None:
    deps.llm = llm_config(emu, prices={"*": Price(input=Decimal(2), output=Decimal(4))})
    emu.answer(BUY)
    parts = urlsplit(emu.base_url)
    who = {"provider": f"{parts.hostname}:{parts.port}", "model": emu.model}
    names = [("asts_llm_calls_total", {"outcome": "ok"}), ("asts_llm_cost_total", {})]
    names += [("asts_llm_tokens_total", {"direction": d}) for d in ("input", "output")]
    before = [sample(n, **who, **extra) for n, extra in names]
    cfg = make_config(type="agent", params={})
    inp = AnalyseInput(config=cfg, cycle=1, snapshots=[agent_snapshot()], as_of=AS_OF)
    (d,) = (await env_at(1).run(AnalysisActivities(deps).analyse, inp)).decisions
    await deps.close()
    calls, cost, tokens_in, tokens_out = (
        sample(n, **who, **extra) - b for (n, extra), b in zip(names, before, strict=True)
    )
    assert d.mode == "llm" and calls == 1
    assert (tokens_in, tokens_out) == (d.tokens_in, d.tokens_out) and tokens_in > 0
    assert cost == pytest.approx(float((2 * d.tokens_in + 4 * d.tokens_out) / Decimal(1_000_000)))
