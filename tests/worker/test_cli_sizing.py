"""`asts backtest` sizes as a user asks: a strategy's size parameter, or ``--sizing`` (real process,
real API and worker)."""

from __future__ import annotations

import json

from tests.worker.test_cli import asts

MSFT = ["--symbol", "MSFT/USD", "--last", "600"]
SMA = ["--strategy", "sma_cross", "-p", "fast=5", "-p", "slow=20"]


async def test_a_backtest_with_a_size_parameter_holds_that_many_units(api_url: str) -> None:
    run = await asts("backtest", *MSFT, *SMA, "-p", "size=10", "--json", api=api_url)
    assert run.code == 0, run.err
    out = json.loads(run.out)
    assert len(out["trades"]) > 0 and {t["size"] for t in out["trades"]} == {10.0}
    assert "a fixed quantity of 10" in out["conventions"]


async def test_sizing_on_the_command_line_overrides_the_strategys_size(api_url: str) -> None:
    run = await asts(
        "backtest", *MSFT, *SMA, "-p", "size=10", "--sizing", "fixed_notional:1000", "--units", "whole",
        "--json", api=api_url,
    )  # fmt: skip
    assert run.code == 0, run.err
    trades = json.loads(run.out)["trades"]
    assert trades and all(
        t["size"] == int(t["size"]) and t["size"] * t["entry_price"] <= 1000 for t in trades
    )


async def test_a_malformed_sizing_is_refused_with_the_forms_it_takes(api_url: str) -> None:
    run = await asts("backtest", *MSFT, *SMA, "--sizing", "risk_per_trade:0.01", api=api_url)
    assert run.code != 0
    assert "risk_per_trade:RISK:STOP" in run.err + run.out


async def test_strategy_start_takes_a_sizing_and_a_bad_one_is_refused_with_exit_2(api_url: str) -> None:
    start = ("strategy", "start", "--type", "sma_cross", "--symbols", "MSFT/USD", "--interval", "1h")
    run = await asts(*start, "--sizing", "fixed_notional:1000", "--units", "whole", api=api_url)
    assert run.code == 0 and run.out.startswith("started s"), run.err
    bad = await asts(*start, "--sizing", "fixed_qty:-1", api=api_url)
    assert bad.code == 2 and "sizing" in bad.err + bad.out
    lone = await asts(*start, "--units", "whole", api=api_url)
    assert lone.code == 2 and "--units goes with --sizing" in lone.err


async def test_strategy_start_takes_exits_and_a_direction_the_venue_must_allow(api_url: str) -> None:
    start = ("strategy", "start", "--type", "sma_cross", "--symbols", "MSFT/USD", "--interval", "1h")
    run = await asts(*start, "--exit", "stop_loss=0.02", "--exit", "trailing=0.03", api=api_url)
    assert run.code == 0 and run.out.startswith("started s"), run.err
    sid = run.out.split()[1]
    shown = await asts("strategy", "status", sid, api=api_url)
    assert shown.code == 0, shown.err
    bad = await asts(*start, "--exit", "stop_loss=2", api=api_url)
    assert bad.code == 2 and "stop_loss" in bad.err + bad.out
    short = await asts(*start, "--direction", "long_short", api=api_url)
    assert short.code == 2 and "cannot hold short positions" in short.err + short.out
