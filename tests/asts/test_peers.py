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
from tests.asts.samples import CHECK_CACHE, PAIRS
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
    registry.install(registry.load([tmp_path], entry_points=False, cache_dir=CHECK_CACHE))
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


def pairs_strategy(tmp_path: Path, text: str = PAIRS) -> registry.StrategyType:
    (tmp_path / "pairs.py").write_text(textwrap.dedent(text))
    [kind] = registry.load_file(tmp_path / "pairs.py")
    return kind


def test_a_strategy_reading_a_declared_peer_passes_the_checks_on_bundled_walks_of_both(
    tmp_path: Path,
) -> None:
    from asts.checks import run_checks

    assert run_checks(pairs_strategy(tmp_path).cls) is None


def test_reading_a_peer_s_next_bar_is_refused(tmp_path: Path) -> None:
    from asts.checks import run_checks

    peeking = PAIRS.replace(
        'lead = bars.align("GOOGL/USD")', 'lead = np.append(bars.align("GOOGL/USD")[1:], np.nan)'
    ).replace("from asts import", "import numpy as np\nfrom asts import")
    found = run_checks(pairs_strategy(tmp_path, peeking).cls)
    assert found is not None and found.check == "look-ahead"


def test_a_two_symbol_backtest_gives_the_live_decisions_bar_by_bar(tmp_path: Path) -> None:
    from asts.bars import Bars as SdkBars
    from asts.engine import targets_of
    from exchanges.data import DATA_DIR, load_candles

    kind = pairs_strategy(tmp_path)
    msft = load_candles(DATA_DIR / "MSFT-USD-1d.csv")[-300:]
    googl = load_candles(DATA_DIR / "GOOGL-USD-1d.csv")
    start, end = msft[0].ts, msft[-1].ts
    googl = [c for c in googl if start <= c.ts <= end]
    bars = SdkBars.from_candles(msft, "MSFT/USD")
    bars = SdkBars(
        symbol="MSFT/USD", columns=bars.columns, peers={"GOOGL/USD": SdkBars.from_candles(googl, "GOOGL/USD")}
    )
    whole = targets_of(kind, bars)
    p = kind.parse_params({})
    live = [int(kind.cls.targets(bars.window(0, t + 1).last(5), p).target[-1]) for t in range(len(bars))]
    assert whole.tolist() == live and {0, 1} <= set(whole.tolist())
