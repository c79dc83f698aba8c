"""ScanPulse against a venue: a 500-symbol universe in a handful of requests, bounded concurrency,
and the scan step of a strategy with a universe (its top N plus what it holds)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.testing import ActivityEnvironment

from activities.contracts import CycleInput
from activities.deps import Deps, utcnow
from activities.market import MarketActivities
from activities.scan import OHLCV_CONCURRENCY, check_universe, scan_universe
from exchanges.ccxt_exchange import CcxtExchange, VenueConfig
from exchanges.emulator.binance import serve_binance_emulator
from store import repo
from tests.factories import insert_strategy, make_config
from trading.errors import ExchangeUnavailable, InvalidInput, UnknownSymbol
from trading.models import Candle, Market, Ticker
from trading.scanner import ScanCriteria, ScanWeights

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MOMENTUM_ONLY = ScanWeights(momentum=1, volatility=0, volume=0, spread=0)


class CountingVenue:
    """A test double of a *venue* (not of our code): ``n`` symbols, each request counted and slowed.

    Symbol ``i`` is up ``i`` basis points over 24 hours, so the ranking is known. It has no
    bars for the symbols listed in ``no_bars``, and ``down`` makes every request fail as a venue
    that cannot be reached does.
    """

    name = "counting"

    def __init__(self, n: int, *, quotes: Sequence[str] = ("USDT",), latency: float = 0.005) -> None:
        self.symbols = [f"C{i:03d}/{quotes[i % len(quotes)]}" for i in range(n)]
        self.requests: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.latency = latency
        self.no_bars: set[str] = set()
        self.down = False

    async def _request(self, method: str) -> None:
        self.requests[method] += 1
        if self.down:
            raise ExchangeUnavailable(f"{self.name}: no answer")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1

    def _index(self, symbol: str) -> int:
        if symbol not in self.symbols:
            raise UnknownSymbol(f"{self.name} does not list {symbol!r}")
        return self.symbols.index(symbol)

    def _ticker(self, symbol: str) -> Ticker:
        i = self._index(symbol)
        last = Decimal(100) * (1 + Decimal(i) / 10_000)
        return Ticker(
            symbol=symbol,
            ts=T0,
            last=last,
            bid=last - Decimal("0.01"),
            ask=last + Decimal("0.01"),
            open=Decimal(100),
            high=last + 1,
            low=Decimal(99),
            base_volume=Decimal(1000),
            quote_volume=Decimal(1000) * last,
        )

    async def markets(self) -> list[Market]:
        await self._request("markets")
        return [
            Market(s, s.split("/")[0], s.split("/")[1], Decimal("0.001"), Decimal("0.001"), Decimal("0.01"))
            for s in self.symbols
        ]

    async def tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        await self._request("tickers")
        return {s: self._ticker(s) for s in (self.symbols if symbols is None else symbols)}

    async def ohlcv(
        self, symbol: str, limit: int = 100, *, timeframe: str | None = None, since: datetime | None = None
    ) -> list[Candle]:
        await self._request("ohlcv")
        i = self._index(symbol)
        if symbol in self.no_bars:
            raise InvalidInput(f"{self.name} has no bars of {symbol}")
        # Over the bars the order is the reverse of the tickers': the lower the index, the steeper.
        step = Decimal(1000 - i) / 1000
        closes = [Decimal(100) + step * k for k in range(limit)]
        return [Candle(T0 + timedelta(hours=k), c, c, c, c, Decimal(1)) for k, c in enumerate(closes)]


async def test_a_500_symbol_universe_takes_one_markets_and_one_tickers_request() -> None:
    venue = CountingVenue(500)
    found = await scan_universe(venue, ScanCriteria(quote="USDT", top=10, weights=MOMENTUM_ONLY))  # type: ignore[arg-type]
    assert dict(venue.requests) == {"markets": 1, "tickers": 1}
    assert found.calls.total == 2 and found.calls.counts == {"markets": 1, "tickers": 1}
    assert found.universe == 500 and len(found.report.ranked) == 500 and found.report.filtered == []
    assert [r.symbol for r in found.report.top(3)] == ["C499/USDT", "C498/USDT", "C497/USDT"]
    assert [r.rank for r in found.report.top(3)] == [1, 2, 3]


async def test_500_binance_symbols_through_ccxt_take_one_exchange_info_and_one_ticker_request() -> None:
    async with serve_binance_emulator(synthetic=500, series={}) as emu:
        ex = CcxtExchange("emu", VenueConfig(ccxt_id="binance", api_url=emu.url, rate_limit_ms=0))
        try:
            found = await scan_universe(ex, ScanCriteria(quote="USDT", top=10, refine=20))
            again = await scan_universe(ex, ScanCriteria(quote="USDT", top=10))
        finally:
            await ex.close()
        assert emu.requests() == {
            "GET /api/v3/exchangeInfo": 1,  # markets are loaded once per connection
            "GET /api/v3/ticker/24hr": 2,  # one per scan, for all 500 symbols
            "GET /api/v3/klines": 20,  # the refined head only
        }
    assert found.universe == 500 and len(found.report.ranked) == 500
    assert found.calls.counts == {"markets": 1, "tickers": 1, "ohlcv": 20}
    assert all(r.refined for r in found.report.top(10)) and again.calls.total == 2


async def test_refining_fetches_bars_only_for_the_head_and_at_most_8_at_a_time() -> None:
    venue = CountingVenue(500)
    venue.no_bars = {"C495/USDT"}
    criteria = ScanCriteria(top=10, refine=40, lookback=5, weights=MOMENTUM_ONLY)
    found = await scan_universe(venue, criteria)  # type: ignore[arg-type]
    assert dict(venue.requests) == {"markets": 1, "tickers": 1, "ohlcv": 40}
    assert venue.max_in_flight == OHLCV_CONCURRENCY
    # Over the bars the head's order turns round; the symbol without bars is reported, not ranked.
    head = found.report.top(39)
    assert [r.symbol for r in head[:2]] == ["C460/USDT", "C461/USDT"] and all(r.refined for r in head)
    assert found.report.ranked[39].symbol == "C459/USDT" and not found.report.ranked[39].refined
    assert [(f.symbol, f.reason) for f in found.report.filtered] == [("C495/USDT", "no_bars")]
    assert "has no bars of C495/USDT" in found.report.filtered[0].detail
    assert set(found.bars) == {r.symbol for r in head}


async def test_an_explicit_list_and_a_quote_filter_still_take_one_tickers_request() -> None:
    venue = CountingVenue(500, quotes=("USDT", "BTC"))
    asked = ["C002/USDT", "C001/BTC", "C004/USDT", "NOPE/USDT"]
    found = await scan_universe(venue, ScanCriteria(quote="USDT", symbols=asked))  # type: ignore[arg-type]
    assert dict(venue.requests) == {"markets": 1, "tickers": 1}
    assert {r.symbol for r in found.report.ranked} == {"C002/USDT", "C004/USDT"}
    assert {(f.symbol, f.reason) for f in found.report.filtered} == {
        ("C001/BTC", "other_quote"),
        ("NOPE/USDT", "unlisted"),
    }
    every_usdt = await scan_universe(venue, ScanCriteria(quote="USDT"))  # type: ignore[arg-type]
    assert every_usdt.universe == 250 and every_usdt.calls.counts["tickers"] == 1


async def test_an_unreachable_venue_raises_the_temporary_error() -> None:
    venue = CountingVenue(5)
    venue.down = True
    with pytest.raises(ExchangeUnavailable):
        await scan_universe(venue, ScanCriteria())  # type: ignore[arg-type]


async def test_check_universe_refuses_unlisted_symbols_and_an_empty_universe() -> None:
    venue = CountingVenue(5)
    assert await check_universe(venue, ScanCriteria(quote="USDT")) == 5  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="NOPE/USDT: the venue does not list it"):
        await check_universe(venue, ScanCriteria(symbols=["C001/USDT", "NOPE/USDT"]))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="lists no symbol quoted in EUR"):
        await check_universe(venue, ScanCriteria(quote="EUR"))  # type: ignore[arg-type]


async def test_the_scan_step_keeps_the_top_n_and_every_symbol_held(deps: Deps) -> None:
    # The ranking moves with the replayed prices (20 bars a second): both scans must see one bar.
    frozen = utcnow()
    deps.exchange_options["clock"] = lambda: frozen
    universe = ScanCriteria(quote="USD", top=2)
    cfg = make_config(symbols=[], universe=universe)
    await insert_strategy(deps, cfg)
    ranked = (await scan_universe(deps.exchange("paper"), universe)).report.ranked
    assert len(ranked) == 4  # the bundled paper series, all quoted in USD
    last = ranked[-1].symbol
    async with deps.transaction() as s:
        await repo.upsert_position(
            s,
            strategy_id=cfg.strategy_id,
            symbol=last,
            qty=Decimal(3),
            avg_price=Decimal(1),
            realised_pnl=Decimal(0),
            fees=Decimal(0),
            now=utcnow(),
        )
    out = await ActivityEnvironment().run(MarketActivities(deps).scan, CycleInput(config=cfg, cycle=1))
    assert [snap.symbol for snap in out.snapshots] == [ranked[0].symbol, ranked[1].symbol, last]
    assert [snap.rank for snap in out.snapshots] == [1, 2, 4]
    assert all(len(snap.closes) >= 60 for snap in out.snapshots)
    assert (out.scanned, out.eligible, out.requests) == (4, 4, 2 + 3)  # markets, tickers, 3 x ohlcv
