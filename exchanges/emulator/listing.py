"""The markets an exchange emulator lists: replayed CSV series and seeded synthetic random walks.

A market's bars are loaded (or generated) on first use, so an emulator with hundreds of
synthetic markets starts at once. Synthetic bars are computed as floats with numpy and turned
into Decimal candles one bar at a time, when a request reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import overload

import numpy as np

from exchanges.data import SeriesSpec
from exchanges.paper_db import to_step
from trading.errors import InvalidInput
from trading.models import Candle

INTERVAL_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,  # Binance months are calendar months; 30 days is close enough for closeTime
}
SYNTHETIC_BARS = 1000
SYNTHETIC_START = datetime(2024, 1, 1, tzinfo=UTC)
_SEED = 0xA575


class Listing:
    """One market of the emulator, with its Binance symbol id and lazily loaded bars."""

    __slots__ = (
        "_bars",
        "_load",
        "base",
        "id",
        "min_notional",
        "min_qty",
        "price_step",
        "qty_step",
        "quote",
        "symbol",
        "timeframe",
    )

    def __init__(
        self,
        *,
        symbol: str,
        base: str,
        quote: str,
        min_qty: Decimal,
        qty_step: Decimal,
        price_step: Decimal,
        min_notional: Decimal,
        timeframe: str,
        load: Callable[[], Sequence[Candle]],
    ) -> None:
        for name, step in (("price step", price_step), ("quantity step", qty_step)):
            exp = step.normalize().as_tuple().exponent
            if step <= 0 or (isinstance(exp, int) and exp < -8):
                raise InvalidInput(f"{symbol}: the {name} {step} must be positive with at most 8 decimals")
        self.symbol = symbol
        self.id = base + quote
        self.base = base
        self.quote = quote
        self.min_qty = min_qty
        self.qty_step = qty_step
        self.price_step = price_step
        self.min_notional = min_notional
        self.timeframe = timeframe
        self._load = load
        self._bars: Sequence[Candle] | None = None

    @property
    def bars(self) -> Sequence[Candle]:
        """Every bar of the series, oldest first (loaded on first use)."""
        if self._bars is None:
            self._bars = self._load()
            if not self.timeframe:
                self.timeframe = infer_interval(self._bars)
        return self._bars

    def interval(self) -> str:
        """The Binance interval the series is served in ("" when its spacing matches none)."""
        return self.timeframe or infer_interval(self.bars)


def infer_interval(bars: Sequence[Candle]) -> str:
    """The Binance interval equal to the spacing of the first two bars, or ""."""
    if len(bars) < 2:
        return ""
    ms = (bars[1].ts - bars[0].ts) // timedelta(milliseconds=1)
    return next((name for name, length in INTERVAL_MS.items() if length == ms), "")


def from_series(series: Mapping[str, SeriesSpec]) -> list[Listing]:
    """Listings of replayed series (the keys are ignored: a spec names its own base and quote)."""
    return [
        Listing(
            symbol=spec.symbol,
            base=spec.base,
            quote=spec.quote,
            min_qty=spec.min_qty,
            qty_step=spec.qty_step,
            price_step=spec.price_step,
            min_notional=spec.min_notional,
            timeframe=spec.timeframe,
            load=spec.candles,
        )
        for spec in series.values()
    ]


def synthetic(count: int) -> list[Listing]:
    """``count`` synthetic USDT markets S001/USDT, S002/USDT, ... (at most 999)."""
    if not 0 <= count <= 999:
        raise InvalidInput(f"synthetic markets must number 0 to 999, got {count}")
    out = []
    for n in range(1, count + 1):
        walk = _Walk(n)
        out.append(
            Listing(
                symbol=f"S{n:03d}/USDT",
                base=f"S{n:03d}",
                quote="USDT",
                min_qty=Decimal("0.001"),
                qty_step=Decimal("0.001"),
                price_step=walk.price_step,
                min_notional=Decimal(5),
                timeframe="1h",
                load=walk.bars,
            )
        )
    return out


class _Walk:
    """The parameters of one synthetic market, drawn from a generator seeded by its number."""

    def __init__(self, n: int) -> None:
        self.n = n
        rng = np.random.default_rng([_SEED, n])
        self.p0 = float(10 ** rng.uniform(-1, 3))  # 0.1 .. 1000
        self.drift = float(rng.uniform(-5e-4, 5e-4))  # per bar, in log price
        self.vol = float(rng.uniform(0.002, 0.03))  # per bar
        self.volume = float(10 ** rng.uniform(2, 6))  # typical base volume per bar
        self.price_step = Decimal(1).scaleb(math.floor(math.log10(self.p0)) - 4)

    def bars(self) -> Sequence[Candle]:
        return SyntheticBars(self)


class SyntheticBars(Sequence[Candle]):
    """A seeded random walk of hourly bars, turned into Decimal candles bar by bar on access."""

    def __init__(self, walk: _Walk) -> None:
        rng = np.random.default_rng([_SEED, walk.n, 1])
        z = rng.standard_normal(SYNTHETIC_BARS)
        close = walk.p0 * np.exp(np.cumsum(walk.drift + walk.vol * z))
        opens = np.concatenate(([walk.p0], close[:-1]))
        wicks = np.abs(rng.standard_normal((2, SYNTHETIC_BARS))) * walk.vol * 0.5
        self._open = opens
        self._close = close
        self._high = np.maximum(opens, close) * (1 + wicks[0])
        self._low = np.minimum(opens, close) * (1 - wicks[1])
        self._volume = walk.volume * np.exp(0.4 * rng.standard_normal(SYNTHETIC_BARS))
        self._step = walk.price_step
        self._cache: dict[int, Candle] = {}

    def __len__(self) -> int:
        return SYNTHETIC_BARS

    @overload
    def __getitem__(self, i: int) -> Candle: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Candle]: ...

    def __getitem__(self, i: int | slice) -> Candle | Sequence[Candle]:
        if isinstance(i, slice):
            return [self._bar(j) for j in range(*i.indices(SYNTHETIC_BARS))]
        if i < 0:
            i += SYNTHETIC_BARS
        if not 0 <= i < SYNTHETIC_BARS:
            raise IndexError(i)
        return self._bar(i)

    def __iter__(self) -> Iterator[Candle]:
        return (self._bar(j) for j in range(SYNTHETIC_BARS))

    def _bar(self, i: int) -> Candle:
        bar = self._cache.get(i)
        if bar is None:
            step = self._step

            def price(x: float, rounding: str) -> Decimal:
                return max(step, to_step(Decimal(repr(float(x))), step, rounding))

            o, c = price(self._open[i], ROUND_HALF_EVEN), price(self._close[i], ROUND_HALF_EVEN)
            bar = Candle(
                ts=SYNTHETIC_START + timedelta(hours=i),
                open=o,
                high=max(o, c, price(self._high[i], ROUND_CEILING)),
                low=min(o, c, price(self._low[i], ROUND_FLOOR)),
                close=c,
                volume=Decimal(repr(round(float(self._volume[i]), 2))),
            )
            self._cache[i] = bar
        return bar
