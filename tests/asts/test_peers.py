"""A strategy may read the other symbols of its cycle (``bars.peer``) beside its own bars."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from agents.analysis import AnalysisState, run_analysis
from agents.context import AgentContext, AsOfData
from asts import registry
from tests.agents.support import HOUR, T0
from trading.models import Candle

FOLLOWER = '''
from asts import Bars, Params, Signal, Strategy, indicators


class FollowsTheLeader(Strategy):
    """Long while the leader (BTC/USD) is above its 3-bar mean; holds without the leader's bars."""

    name = "follows_leader"

    def warmup(self, p: Params) -> int:
        return 3

    def signal(self, bars: Bars, p: Params) -> Signal:
        if "BTC/USD" not in bars.peers or len(bars.peer("BTC/USD")) != len(bars):
            return Signal.hold(len(bars))
        lead = bars.peer("BTC/USD").close
        mean = indicators.sma(lead, 3)
        return Signal.where(long=lead > mean, flat=lead < mean)
'''


def hourly(*closes: float, end: int = 10) -> list[Candle]:
    n = len(closes)
    return [
        Candle(T0 + (end - n + i) * HOUR, Decimal(c), Decimal(c), Decimal(c), Decimal(c), Decimal(1))
        for i, c in enumerate(closes)
    ]


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[None]:
    (tmp_path / "follower.py").write_text(textwrap.dedent(FOLLOWER))
    before = registry._current
    registry.install(registry.load([tmp_path], entry_points=False, cache_dir=tmp_path / "cache"))
    try:
        yield
    finally:
        registry._current = before


async def decide(peers: dict[str, list[Candle]], own: list[Candle] | None = None) -> str:
    as_of = T0 + 11 * HOUR
    state: AnalysisState = {
        "symbol": "ETH/USD",
        "strategy_type": "follows_leader",
        "params": {},
        "as_of": as_of,
    }
    data = AsOfData(candles=own if own is not None else hourly(5, 5, 5, 5, 5, end=11))
    out, _ = await run_analysis(state, AgentContext(data=data, peers=peers))
    return str(out["result"]["target"])


async def test_the_leader_s_rise_makes_the_follower_long(follower: None) -> None:
    assert await decide({"BTC/USD": hourly(10, 10, 10, 10, 13, end=11)}) == "long"
    assert await decide({"BTC/USD": hourly(10, 10, 10, 10, 7, end=11)}) == "flat"


async def test_without_the_leader_s_bars_it_holds(follower: None) -> None:
    assert await decide({}) == "hold"


async def test_a_bar_still_forming_at_the_decision_time_is_seen_by_no_one(follower: None) -> None:
    # Both series have a bar opening at the decision time (11h): it has not closed, so the leader's
    # 99 is never read; the window is 8h..10h, where the leader fell to 7.
    own = hourly(5, 5, 5, 5, 5, 5, end=12)
    assert await decide({"BTC/USD": hourly(10, 10, 10, 10, 7, 99, end=12)}, own) == "flat"
