"""Paper-exchange series read from the market-data store: the bars stored under exchange "paper".

The paper exchange replays ``SeriesSpec``s. At start-up the worker and the API read the stored
paper series into memory (``Deps.load_store_series``), so the venue lists and replays them next
to the bundled ones. Bars stored later are seen after a restart: the replay of a series must not
change under running strategies.

One series per symbol: a symbol the venue lists already (bundled, or given explicitly) keeps its
series (so bars backfilled *from* the paper exchange never replace what it replays); among
several stored timeframes of one symbol, the one with the most bars, then the shortest, is used.
Market rules are those of user CSV series (``exchanges.data.parse_series_arg``): quantity step
and minimum 0.0001, the finest price step the bars use, no minimum order value.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchanges.data import SeriesSpec, infer_price_step, split_symbol
from store import repo
from trading.errors import InvalidInput
from trading.timeframes import parse_timeframe

log = logging.getLogger(__name__)

PAPER = "paper"
MIN_QTY = Decimal("0.0001")
QTY_STEP = Decimal("0.0001")


async def stored_paper_series(
    sessions: async_sessionmaker[AsyncSession], *, exclude: Collection[str] = ()
) -> dict[str, SeriesSpec]:
    """The stored paper series by symbol, bars in memory, leaving out the symbols in ``exclude``."""
    async with sessions() as s:
        found = await repo.list_candle_series(s, exchange=PAPER)
        best: dict[str, repo.CandleSeries] = {}
        for f in found:
            if f.symbol in exclude:
                log.info(
                    "stored paper series left out: the venue lists the symbol already",
                    extra={"symbol": f.symbol, "timeframe": f.timeframe},
                )
                continue
            held = best.get(f.symbol)
            if held is None or _rank(f) > _rank(held):
                best[f.symbol] = f
        out: dict[str, SeriesSpec] = {}
        for symbol, f in sorted(best.items()):
            try:
                base, quote = split_symbol(symbol)
            except InvalidInput as e:
                log.warning("stored paper series left out: %s", e, extra={"symbol": symbol})
                continue
            bars = await repo.list_candles(s, exchange=PAPER, symbol=symbol, timeframe=f.timeframe)
            out[symbol] = SeriesSpec(
                symbol=symbol,
                path=None,
                base=base,
                quote=quote,
                min_qty=MIN_QTY,
                qty_step=QTY_STEP,
                price_step=infer_price_step(bars),
                timeframe=f.timeframe,
                bars=tuple(bars),
            )
    return out


def _rank(series: repo.CandleSeries) -> tuple[int, float]:
    """More bars first, then the shorter timeframe."""
    return series.count, -parse_timeframe(series.timeframe).interval.total_seconds()
