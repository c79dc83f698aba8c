"""The scan step (ScanPulse): read recent candles of the strategy's symbols and rank them."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.contracts import CycleInput, ScanResult
from activities.deps import Deps, translate_errors
from activities.scan import scan_strategy_universe, snapshot_of
from activities.strategy_code import strategy_type
from trading import scanner

MIN_BARS = 60


class MarketActivities:
    """Market-data activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="scan")
    @translate_errors
    async def scan(self, inp: CycleInput) -> ScanResult:
        """Fetch candles for every symbol (never past the venue's present) and rank them; the
        analysis reads the strategy's signal off these bars."""
        cfg = inp.config
        kind = await strategy_type(self.deps, cfg.type, cfg.code_version)
        # The warm-up's bars, one that may still be forming, and one to spare.
        bars = max(MIN_BARS, kind.cls.warmup_of(kind.parse_params(cfg.params)) + 2)
        if cfg.universe is not None:  # ScanPulse: the universe's top N and the symbols held
            return await scan_strategy_universe(self.deps, inp, bars=bars, with_bars=True)
        ex = self.deps.exchange(cfg.exchange)
        with self.deps.venue_call(cfg.strategy_id):  # at once: a remote venue bounds its own concurrency
            found = await asyncio.gather(*(ex.ohlcv(sym, limit=bars) for sym in cfg.symbols))
        universe = dict(zip(cfg.symbols, found, strict=True))
        ranked = scanner.rank(universe)
        by_symbol = {s.symbol: s for s in ranked}
        snapshots = [
            snapshot_of(by_symbol[sym], universe[sym], by_symbol[sym].rank, True) for sym in cfg.symbols
        ]
        return ScanResult(snapshots=snapshots)
