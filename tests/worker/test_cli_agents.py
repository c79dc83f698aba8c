"""`asts analyze` and `asts decision` as a user runs them, against the real API and worker."""

from __future__ import annotations

import json

from tests.worker.test_cli import asts


async def test_analyze_then_show_the_decision(api_url: str) -> None:
    run = await asts("analyze", "MSFT/USD", "--as-of", "2017-06-01T00:00:00Z", "--json", api=api_url)
    assert run.code == 0, run.err
    d = json.loads(run.out)
    assert d["symbol"] == "MSFT/USD" and d["mode"] == "analysts" and d["inputs"]["window"]["bars"] == 120
    shown = await asts("decision", str(d["id"]), api=api_url)
    assert shown.code == 0, shown.err
    assert f"decision {d['id']} MSFT/USD: {d['target']}" in shown.out
    assert "as of 2017-06-01" in shown.out
    plain = await asts(
        "analyze", "GOOGL/USD", "--type", "sma_cross", "-p", "fast=3", "-p", "slow=9", api=api_url
    )
    assert plain.code == 0 and "sma_cross on GOOGL/USD" in plain.out


async def test_bad_analyze_input_exits_2_with_a_reason(api_url: str) -> None:
    run = await asts("analyze", "NOPE/USD", api=api_url)
    assert run.code == 2 and "does not list" in (run.err + run.out)
    run = await asts("analyze", "MSFT/USD", "--as-of", "yesterday", api=api_url)
    assert run.code == 2 and "as_of" in (run.err + run.out)
    run = await asts("decision", "987654321", api=api_url)
    assert run.code == 2 and "no decision" in (run.err + run.out)
