"""Price series for the paper exchange: CSV loading, the bundled registry and user files."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from trading.errors import InvalidInput
from trading.models import Candle, Market
from trading.ohlcv_csv import BarsCsvError, load_ohlcv

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_SYMBOL_RE = re.compile(r"^([A-Z0-9]{1,20})/([A-Z0-9]{1,20})$")


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """A price series the paper exchange replays, with the size rules of its market.

    The bars come from the CSV file at ``path``, or are given in memory as ``bars`` (series read
    from the market-data store; ``path`` is then None).
    """

    symbol: str
    path: Path | None
    base: str
    quote: str
    min_qty: Decimal
    qty_step: Decimal
    price_step: Decimal
    min_notional: Decimal = Decimal(0)
    timeframe: str = ""
    bars: tuple[Candle, ...] | None = None

    def market(self) -> Market:
        """The market this series is traded as."""
        return Market(
            symbol=self.symbol,
            base=self.base,
            quote=self.quote,
            min_qty=self.min_qty,
            qty_step=self.qty_step,
            price_step=self.price_step,
            min_notional=self.min_notional,
        )

    def candles(self) -> list[Candle]:
        """The series' bars: the in-memory ones, or the file's (cached per file version)."""
        if self.bars is not None:
            return list(self.bars)
        if self.path is None:
            raise InvalidInput(f"series {self.symbol} has neither a file nor bars")
        return load_candles(self.path)


def load_candles(path: Path, *, tz: str | None = None) -> list[Candle]:
    """Load and validate an OHLCV CSV (``trading.ohlcv_csv``, the one reader; ``tz`` is the zone of
    times written without one); raises BarsCsvError (an InvalidInput) on a bad file."""
    try:
        st = Path(path).stat()
    except OSError as e:
        raise BarsCsvError(str(path), None, f"cannot be read: {e.strerror or e}") from e
    return list(_load_cached(str(path), st.st_mtime_ns, st.st_size, tz))


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int, size: int, tz: str | None) -> tuple[Candle, ...]:
    """Parse a price file; keyed by path, modification time and size so edits are seen."""
    del mtime_ns, size  # part of the cache key only
    return tuple(load_ohlcv(Path(path), tz=tz).candles())


def split_symbol(symbol: str) -> tuple[str, str]:
    """Split "BASE/QUOTE" into its parts; raises InvalidInput on any other form."""
    m = _SYMBOL_RE.match(symbol)
    if not m:
        raise InvalidInput(f"symbol {symbol!r} is not of the form BASE/QUOTE, e.g. MSFT/USD")
    return m.group(1), m.group(2)


def _bundled(symbol: str, file: str, min_qty: str, price_step: str, timeframe: str) -> SeriesSpec:
    """A bundled series under DATA_DIR."""
    base, quote = split_symbol(symbol)
    return SeriesSpec(
        symbol=symbol,
        path=DATA_DIR / file,
        base=base,
        quote=quote,
        min_qty=Decimal(min_qty),
        qty_step=Decimal(1),
        price_step=Decimal(price_step),
        min_notional=Decimal(10),
        timeframe=timeframe,
    )


BUNDLED: dict[str, SeriesSpec] = {
    s.symbol: s
    for s in (
        _bundled("MSFT/USD", "MSFT-USD-1d.csv", "1", "0.01", "1d"),
        _bundled("GOOGL/USD", "GOOGL-USD-1d.csv", "1", "0.01", "1d"),
        _bundled("EUR/USD", "EUR-USD-1h.csv", "1000", "0.00001", "1h"),
        _bundled("SPX/USD", "SPX-USD-1d.csv", "1", "0.01", "1d"),
    )
}


def bundled_series() -> dict[str, SeriesSpec]:
    """The series shipped in ``data/`` by symbol (a fresh dict each call)."""
    return dict(BUNDLED)


def parse_series_arg(
    arg: str,
    *,
    min_qty: Decimal = Decimal("0.0001"),
    qty_step: Decimal = Decimal("0.0001"),
    price_step: Decimal | None = None,
    min_notional: Decimal = Decimal(0),
) -> SeriesSpec:
    """A user series from ``"BASE/QUOTE=path/to/file.csv"``; the file is loaded and validated now.

    When ``price_step`` is not given it is the finest decimal step used by the file's prices
    (``0.01`` for cent prices), so every bar price is a valid limit price.
    """
    symbol, sep, path_text = arg.partition("=")
    if not sep or not path_text.strip():
        raise InvalidInput(f"price series {arg!r} must be given as SYMBOL=path, e.g. BTC/USD=btc.csv")
    symbol = symbol.strip().upper()
    base, quote = split_symbol(symbol)
    path = Path(path_text.strip()).expanduser()
    candles = load_candles(path)
    step = price_step if price_step is not None else infer_price_step(candles)
    return SeriesSpec(
        symbol=symbol,
        path=path,
        base=base,
        quote=quote,
        min_qty=min_qty,
        qty_step=qty_step,
        price_step=step,
        min_notional=min_notional,
    )


def infer_price_step(candles: Iterable[Candle]) -> Decimal:
    """The finest decimal step among the OHLC prices, at most 8 decimals."""
    exp = 0
    for c in candles:
        for p in (c.open, c.high, c.low, c.close):
            e = p.normalize().as_tuple().exponent
            if isinstance(e, int):
                exp = min(exp, e)
    return Decimal(1).scaleb(max(exp, -8))


def resolve_series(extra: Iterable[str] = (), *, include_bundled: bool = True) -> dict[str, SeriesSpec]:
    """The bundled series plus user ``SYMBOL=path`` series (a user file overrides a bundled symbol)."""
    out = bundled_series() if include_bundled else {}
    for arg in extra:
        spec = parse_series_arg(arg)
        out[spec.symbol] = spec
    return out
