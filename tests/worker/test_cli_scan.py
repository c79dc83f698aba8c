"""`asts scan` and `asts strategy start --universe` as a user runs them: a real process, the real API."""

from __future__ import annotations

import re

import pytest

from tests.api.live import api_client
from tests.worker.test_cli import asts

PAPER = ("MSFT/USD", "GOOGL/USD", "EUR/USD", "SPX/USD")


async def test_scan_prints_the_ranking_and_what_it_cost(api_url: str) -> None:
    run = await asts("scan", "--exchange", "paper", "--top", "3", "--quote", "USD", api=api_url)
    assert run.code == 0, run.err
    for header in ("rank", "symbol", "score", "24h change", "quote volume", "spread bps"):
        assert header in run.out
    shown = [s for s in PAPER if s in run.out]
    assert len(shown) == 3
    assert "3 ranked of 4 symbols on paper; 2 venue request(s)" in run.out


async def test_scan_with_filters_lists_the_filtered_with_why(api_url: str) -> None:
    run = await asts(
        "scan", "--min-volume", "1e30", "--symbols", "MSFT/USD,NOPE/USD", "--show-filtered", api=api_url
    )
    assert run.code == 0, run.err
    assert "0 ranked of 1 symbols on paper; filtered out: 1 low_volume, 1 unlisted" in run.out
    assert re.search(r"NOPE/USD\s+.*unlisted\s+.*the venue does not list it", run.out), run.out


async def test_scan_refined_shows_the_bar_columns(api_url: str) -> None:
    run = await asts("scan", "--refine", "2", "-w", "momentum=2", "-w", "spread=0", api=api_url)
    assert run.code == 0, run.err
    assert "bar momentum" in run.out and "4 venue request(s)" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--top", "0"], "error: 422: top: Input should be greater than or equal to 1"),
        (["--exchange", "nope"], "error: 422: unknown exchange 'nope'"),
        (["--weight", "colour=1"], "error: --weight 'colour=1' must look like NAME=NUMBER"),
        (
            ["-w", "momentum=0", "-w", "volatility=0", "-w", "volume=0", "-w", "spread=0"],
            "at least one weight",
        ),
    ],
)
async def test_scan_bad_input_exits_2_with_the_reason(api_url: str, args: list[str], message: str) -> None:
    run = await asts("scan", *args, api=api_url)
    assert run.code == 2, (run.out, run.err)
    assert message in run.err and "Traceback" not in run.err


async def test_strategy_start_with_a_universe(api_url: str) -> None:
    universe = '{"quote": "USD", "top": 2}'
    run = await asts(
        "strategy", "start", "--type", "sma_cross", "--universe", universe, "-p", "fast=2", "-p", "slow=5",
        api=api_url,
    )  # fmt: skip
    assert run.code == 0, run.err
    sid = re.fullmatch(r"started (s[0-9a-f]{8}) .*\n", run.out)
    assert sid, run.out
    async with api_client(api_url, timeout=30) as http:
        row = (await http.get(f"/strategies/{sid[1]}")).json()
    assert row["status"] == "running" and row["symbols"] == []


@pytest.mark.parametrize(
    ("universe", "message"),
    [
        ("{not json", "error: --universe is not JSON"),
        ("[1, 2]", "error: --universe must be a JSON object"),
        ('{"top": 500}', "top must be at most 50 for a strategy"),
    ],
)
async def test_strategy_start_with_a_bad_universe_exits_2(api_url: str, universe: str, message: str) -> None:
    run = await asts("strategy", "start", "--type", "sma_cross", "--universe", universe, api=api_url)
    assert run.code == 2, (run.out, run.err)
    assert run.err.startswith("error: ") and message in run.err, run.err
