"""The scan step (ScanPulse): read recent candles of the strategy's symbols and rank them."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.contracts import CycleInput, ScanResult
from activities.deps import Deps, translate_errors
from activities.scan import scan_strategy_universe, snapshot_of
from trading import scanner
from trading.strategies import get_strategy

MIN_BARS = 60


class MarketActivities:
    """Market-data activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="scan")
    @translate_errors
    async def scan(self, inp: CycleInput) -> ScanResult:
        """Fetch candles for every symbol (never past the venue's present) and rank them."""
        cfg = inp.config
        spec = get_strategy(cfg.type)
        params = spec.parse_params(cfg.params)
        bars = max(MIN_BARS, spec.warmup(params) + 2, 4 * getattr(params, "slow", 0))
        if cfg.universe is not None:  # ScanPulse: the universe's top N and the symbols held
            return await scan_strategy_universe(self.deps, inp, bars=bars, with_bars=spec.needs_candles)
        ex = self.deps.exchange(cfg.exchange)
        with self.deps.venue_call(cfg.strategy_id):  # at once: a remote venue bounds its own concurrency
            found = await asyncio.gather(*(ex.ohlcv(sym, limit=bars) for sym in cfg.symbols))
        universe = dict(zip(cfg.symbols, found, strict=True))
        ranked = scanner.rank(universe)
        by_symbol = {s.symbol: s for s in ranked}
        snapshots = [
            snapshot_of(by_symbol[sym], universe[sym], by_symbol[sym].rank, spec.needs_candles)
            for sym in cfg.symbols
        ]
        return ScanResult(snapshots=snapshots)
