"""Closed bars as a strategy reads them: read-only numpy columns of one symbol, and its peers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from trading.backtest import Bars as Columns
from trading.errors import InvalidInput
from trading.models import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Bars:
    """The closed bars of ``symbol``, oldest first, as arrays of one length.

    ``ts`` is each bar's open time in epoch nanoseconds (UTC); ``open``, ``high``, ``low``,
    ``close`` and ``volume`` are float64. Every array is read-only, and a window only ever
    holds bars that had closed when the strategy is asked: the backtest hands the whole
    series at once, the live cycle the latest window. ``peers`` are the other symbols of the
    strategy over the same times (live only; empty in a one-series backtest).
    """

    symbol: str
    columns: Columns
    peers: Mapping[str, Bars] = field(default_factory=dict)

    @classmethod
    def from_columns(cls, columns: Columns, symbol: str = "") -> Bars:
        """Bars over the backtester's validated columns."""
        return cls(symbol=symbol, columns=columns)

    @classmethod
    def from_candles(cls, candles: Sequence[Candle], symbol: str = "") -> Bars:
        """Bars from candles (validated: times increasing, prices positive and within each bar's range)."""
        return cls(symbol=symbol, columns=Columns.from_candles(candles))

    @classmethod
    def from_arrays(
        cls,
        *,
        close: npt.ArrayLike,
        open: npt.ArrayLike | None = None,
        high: npt.ArrayLike | None = None,
        low: npt.ArrayLike | None = None,
        volume: npt.ArrayLike | None = None,
        ts: npt.ArrayLike | None = None,
        symbol: str = "",
    ) -> Bars:
        """Bars from arrays; missing columns are filled from the closes (hourly times from 1970)."""
        c = np.asarray(close, dtype=np.float64)
        o = c if open is None else np.asarray(open, dtype=np.float64)
        hi = np.maximum(o, c) if high is None else np.asarray(high, dtype=np.float64)
        lo = np.minimum(o, c) if low is None else np.asarray(low, dtype=np.float64)
        v = np.zeros_like(c) if volume is None else np.asarray(volume, dtype=np.float64)
        t = np.arange(c.size, dtype=np.int64) * 3_600_000_000_000 if ts is None else np.asarray(ts)
        return cls(symbol=symbol, columns=Columns(ts=t, open=o, high=hi, low=lo, close=c, volume=v))

    def __len__(self) -> int:
        return int(self.columns.ts.size)

    @property
    def ts(self) -> IntArray:
        """Open time of every bar, epoch nanoseconds (UTC)."""
        return self.columns.ts

    @property
    def open(self) -> FloatArray:
        """Opening prices."""
        return self.columns.open

    @property
    def high(self) -> FloatArray:
        """Highest prices."""
        return self.columns.high

    @property
    def low(self) -> FloatArray:
        """Lowest prices."""
        return self.columns.low

    @property
    def close(self) -> FloatArray:
        """Closing prices."""
        return self.columns.close

    @property
    def volume(self) -> FloatArray:
        """Volumes (base units)."""
        return self.columns.volume

    def time(self, i: int) -> datetime:
        """Open time of bar ``i`` as an aware UTC datetime."""
        return datetime.fromtimestamp(int(self.ts[i]) / 1e9, UTC)

    def peer(self, symbol: str) -> Bars:
        """Another symbol of the strategy over the same window, or ``InvalidInput`` naming the known ones."""
        try:
            return self.peers[symbol]
        except KeyError:
            known = ", ".join(sorted(self.peers)) or "none"
            raise InvalidInput(f"no bars of {symbol!r} beside {self.symbol!r} (peers: {known})") from None

    def align(self, symbol: str, column: str = "close") -> FloatArray:
        """A peer's ``column`` at this series' bar times (NaN where the peer has no bar then)."""
        peer = self.peer(symbol)
        out = np.full(len(self), np.nan)
        idx = np.searchsorted(peer.ts, self.ts)
        ok = idx < len(peer)
        ok[ok] = peer.ts[idx[ok]] == self.ts[ok]
        out[ok] = getattr(peer.columns, column)[idx[ok]]
        return out

    def window(self, start: int, stop: int) -> Bars:
        """Bars ``start:stop`` (Python slice rules), the peers cut to the same times."""
        if len(self) == 0:
            raise InvalidInput("bars: an empty window has no bars to cut")
        s = slice(start, stop)
        ts = self.ts[s]
        if ts.size == 0:
            raise InvalidInput(f"bars: window {start}:{stop} of {len(self)} bars is empty")
        cols = Columns(
            ts=ts,
            open=self.open[s],
            high=self.high[s],
            low=self.low[s],
            close=self.close[s],
            volume=self.volume[s],
        )
        peers = {k: p._between(int(ts[0]), int(ts[-1])) for k, p in self.peers.items()}
        return Bars(symbol=self.symbol, columns=cols, peers={k: p for k, p in peers.items() if p is not None})

    def _between(self, first: int, last: int) -> Bars | None:
        lo, hi = np.searchsorted(self.ts, first, "left"), np.searchsorted(self.ts, last, "right")
        return self.window(int(lo), int(hi)) if hi > lo else None

    def last(self, n: int) -> Bars:
        """The latest ``n`` bars (all of them when there are fewer)."""
        if n < 1:
            raise InvalidInput(f"bars: last(n) needs n >= 1, got {n}")
        return self.window(max(0, len(self) - n), len(self))
