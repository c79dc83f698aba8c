"""ScanPulse over a venue: one batch of tickers for the whole universe, bars with bounded concurrency.

``scan_universe`` serves ``GET /scan`` and the scan step of a strategy with a ``universe``;
the ranking itself is ``trading.scanner`` (pure). A 500-symbol universe costs one ``markets``
call, one ``tickers`` call (the adapter splits it where the venue caps symbols per request:
the ccxt adapter's ``tickers_batch``) and, when refining, one ``ohlcv`` call per refined
candidate, at most ``concurrency`` at a time. Calls are counted through the Exchange interface.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from activities.contracts import Bar, CycleInput, ScanResult, SymbolSnapshot
from activities.deps import Deps
from exchanges.base import Exchange
from store import repo
from trading import scanner
from trading.errors import DomainError, InvalidInput
from trading.models import Candle, Ticker

T = TypeVar("T")

# Bars requests in flight at once per scan: enough to hide latency, few enough for rate limits.
OHLCV_CONCURRENCY = 8


def snapshot_of(
    score: scanner.ScanScore, candles: list[Candle], rank: int, with_bars: bool
) -> SymbolSnapshot:
    """What the scan hands to the analysis for one symbol (its whole bars only when asked)."""
    return SymbolSnapshot(
        symbol=score.symbol,
        ts=candles[-1].ts,
        last=score.last,
        closes=[c.close for c in candles],
        momentum=score.momentum,
        volatility=score.volatility,
        volume=score.volume,
        rank=rank,
        bars=[Bar.model_validate(c, from_attributes=True) for c in candles] if with_bars else [],
    )


@dataclass
class VenueCalls:
    """Requests a scan made to the venue, by method."""

    counts: dict[str, int] = field(default_factory=dict)

    async def call(self, method: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Count one request of ``method`` and make it."""
        self.counts[method] = self.counts.get(method, 0) + 1
        return await fn()

    @property
    def total(self) -> int:
        """Every request made."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class UniverseScan:
    """A universe's ranking, the bars fetched for it, and what it cost."""

    report: scanner.ScanReport
    universe: int  # symbols looked at (listed, of the quote currency)
    bars: dict[str, list[Candle]]
    calls: VenueCalls
    elapsed_ms: float


async def fetch_bars(
    ex: Exchange,
    symbols: Iterable[str],
    calls: VenueCalls,
    *,
    limit: int,
    timeframe: str | None = None,
    concurrency: int = OHLCV_CONCURRENCY,
) -> tuple[dict[str, list[Candle]], dict[str, str]]:
    """Bars of each symbol, ``concurrency`` requests at a time; and why a symbol has none.

    A symbol the venue refuses (a DomainError: unknown symbol, unsupported timeframe) is left
    out with the reason; a temporary failure propagates, so the caller's retry covers it.
    """
    gate = asyncio.Semaphore(concurrency)
    missing: dict[str, str] = {}

    async def one(sym: str) -> tuple[str, list[Candle]]:
        async with gate:
            try:
                return sym, await calls.call("ohlcv", lambda: ex.ohlcv(sym, limit=limit, timeframe=timeframe))
            except DomainError as e:
                missing[sym] = str(e)
                return sym, []

    got = await asyncio.gather(*(one(s) for s in symbols))
    return {sym: candles for sym, candles in got if candles}, missing


async def scan_universe(
    ex: Exchange,
    criteria: scanner.ScanCriteria,
    *,
    bars: int = 0,
    concurrency: int = OHLCV_CONCURRENCY,
) -> UniverseScan:
    """Rank the universe ``criteria`` describe on venue ``ex``.

    One ``markets`` and one batched ``tickers`` request rank every symbol; with ``refine`` the
    first K are re-ranked from ``max(lookback + 1, bars)`` bars each, fetched ``concurrency`` at
    a time (the bars are returned, so a caller that needs them asks no second time).
    """
    started = time.perf_counter()
    calls = VenueCalls()
    markets = await calls.call("markets", ex.markets)
    symbols, unlisted = scanner.universe_of(markets, criteria)
    wanted = set(symbols)
    tickers: dict[str, Ticker] = {}
    if symbols:  # every listed symbol in one call (then kept by quote), or just the ones asked for
        every = criteria.symbols is None
        tickers = await calls.call("tickers", lambda: ex.tickers(None if every else symbols))
    in_universe = {s: t for s, t in tickers.items() if s in wanted}
    report = scanner.rank_tickers(in_universe, criteria)
    silent = [
        scanner.Filtered(s, "no_price", "the venue returned no ticker") for s in symbols if s not in tickers
    ]
    report = scanner.ScanReport(report.ranked, unlisted + report.filtered + silent)
    fetched: dict[str, list[Candle]] = {}
    if criteria.refine:
        head = [r.symbol for r in report.top(criteria.refine)]
        limit = max(criteria.lookback + 1, bars)
        fetched, why = await fetch_bars(
            ex, head, calls, limit=limit, timeframe=criteria.timeframe, concurrency=concurrency
        )
        report = scanner.refine(report, fetched, criteria, why)
    elapsed = (time.perf_counter() - started) * 1000
    return UniverseScan(report, len(symbols), fetched, calls, elapsed)


async def check_universe(ex: Exchange, criteria: scanner.ScanCriteria) -> int:
    """The number of symbols the universe covers on ``ex``; InvalidInput when some are unlisted or none is."""
    symbols, unlisted = scanner.universe_of(await ex.markets(), criteria)
    if unlisted:
        raise InvalidInput("universe: " + "; ".join(f"{f.symbol}: {f.detail}" for f in unlisted[:10]))
    if not symbols:
        where = f" quoted in {criteria.quote}" if criteria.quote else ""
        raise InvalidInput(f"universe: the {ex.name} exchange lists no symbol{where}")
    return len(symbols)


async def held_symbols(deps: Deps, strategy_id: str) -> list[str]:
    """Symbols the strategy holds a position in (they stay in every cycle, so exits still happen)."""
    async with deps.sessions() as s:
        return sorted(p.symbol for p in await repo.get_positions(s, strategy_id=strategy_id) if p.qty != 0)


async def scan_strategy_universe(deps: Deps, inp: CycleInput, *, bars: int, with_bars: bool) -> ScanResult:
    """The scan step of a strategy with a universe: its top N, plus every symbol it holds.

    Each snapshot's rank is its place in the universe's ranking (0 for a held symbol that did
    not make it), its momentum and volatility come from its bars like a fixed symbol's.
    """
    cfg = inp.config
    criteria = cfg.universe
    if criteria is None:
        raise InvalidInput(f"strategy {cfg.strategy_id} scans no universe: it trades fixed symbols")
    ex = deps.exchange(cfg.exchange)
    held = await held_symbols(deps, cfg.strategy_id)
    with deps.venue_call(cfg.strategy_id):
        found = await scan_universe(ex, criteria, bars=bars)
        chosen = scanner.pick(found.report, criteria.top, held)
        # Bars fetched by the refinement are reused when they are of the venue's default timeframe.
        have = {s: c[-bars:] for s, c in found.bars.items()} if criteria.timeframe is None else {}
        more, _ = await fetch_bars(ex, [s for s in chosen if s not in have], found.calls, limit=bars)
    universe = have | more
    ranks = {r.symbol: r.rank for r in found.report.ranked}
    snapshots = []
    for sym in chosen:
        candles = universe.get(sym)
        if not candles:  # unlisted now, or no bars: nothing to decide on (a held one is marked by reconcile)
            continue
        snapshots.append(snapshot_of(scanner.score(sym, candles), candles, ranks.get(sym, 0), with_bars))
    return ScanResult(
        snapshots=snapshots,
        scanned=found.universe,
        eligible=len(found.report.ranked),
        requests=found.calls.total,
    )
