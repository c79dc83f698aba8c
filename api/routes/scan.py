"""ScanPulse on demand: rank a venue's universe now (``GET /scan``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BeforeValidator, Field, ValidationError

from activities.scan import scan_universe
from api.auth.deps import VIEWER
from api.deps import SettingsDep, VenuesDep
from api.exchanges import check_venue
from api.schemas import ScanFilteredPublic, ScanPublic, ScanRowPublic
from trading.scanner import ScanCriteria
from trading.timeframes import PATTERN as TIMEFRAME_PATTERN

router = APIRouter(tags=["scan"], dependencies=[VIEWER])


def _blank_is_none(v: Any) -> Any:
    """``?min_volume=`` means "not given", as an empty form field does."""
    return None if isinstance(v, str) and not v.strip() else v


Blank = BeforeValidator(_blank_is_none)
OptDecimal = Annotated[Decimal | None, Blank]
OptFloat = Annotated[float | None, Blank]
OptInt = Annotated[int | None, Blank]
OptStr = Annotated[str | None, Blank]
# Comma-separated symbols (a bound inside the optional type: a blank value is None, which no bound
# applies to; a constraint on the whole would fail on it).
OptSymbols = Annotated[Annotated[str, Field(max_length=16_384)] | None, Blank]


def _stated(**schema: Any) -> dict[str, Any]:
    """ScanCriteria's bounds, for the schema to state: ScanCriteria checks them, naming the parameter."""
    return schema


WEIGHT = _stated(minimum=-100, maximum=100)


# Criteria fields by the query parameter that sets them, for error messages.
_PARAM_OF = {"min_quote_volume": "min_volume"} | {
    f"weights.{w}": f"w_{w}" for w in ("momentum", "volatility", "volume", "spread")
}


def _reasons(e: ValidationError) -> str:
    out = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        loc = _PARAM_OF.get(loc, loc)
        out.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(out)


@router.get("/scan", response_model=ScanPublic)
async def scan(
    venues: VenuesDep,
    settings: SettingsDep,
    exchange: Annotated[str, Query(max_length=32, description="paper or a configured venue")] = "paper",
    top: Annotated[
        OptInt,
        Query(
            description="how many to rank (default 10)", json_schema_extra=_stated(minimum=1, maximum=1000)
        ),
    ] = None,
    quote: Annotated[
        OptStr,
        Query(
            description="only symbols quoted in this currency",
            json_schema_extra=_stated(maxLength=20, pattern=r"^[A-Za-z0-9]{1,20}$"),
        ),
    ] = None,
    symbols: Annotated[
        OptSymbols,
        Query(
            description="comma-separated (each at most 64 characters); default every listed symbol",
            json_schema_extra=_stated(pattern=r"^[^,]{0,64}(,[^,]{0,64})*$"),
        ),
    ] = None,
    min_volume: Annotated[
        OptDecimal,
        Query(description="minimum 24h volume in the quote currency", json_schema_extra=_stated(minimum=0)),
    ] = None,
    max_spread_bps: Annotated[
        OptFloat,
        Query(description="maximum bid-ask spread in basis points", json_schema_extra=_stated(minimum=0)),
    ] = None,
    refine: Annotated[
        OptInt,
        Query(
            description="re-rank the first K by their bars (0: off; at most ASTS_SCAN_MAX_REFINE)",
            json_schema_extra=_stated(minimum=0, maximum=200),
        ),
    ] = None,
    lookback: Annotated[
        OptInt,
        Query(
            description="bars of momentum and volatility when refining",
            json_schema_extra=_stated(minimum=2, maximum=1000),
        ),
    ] = None,
    timeframe: Annotated[
        str | None,
        Query(
            max_length=8,
            description="bars' timeframe when refining",
            json_schema_extra={"pattern": TIMEFRAME_PATTERN},
        ),
    ] = None,
    w_momentum: Annotated[OptFloat, Query(description="weight of momentum", json_schema_extra=WEIGHT)] = None,
    w_volatility: Annotated[
        OptFloat, Query(description="weight of volatility", json_schema_extra=WEIGHT)
    ] = None,
    w_volume: Annotated[
        OptFloat, Query(description="weight of quote volume", json_schema_extra=WEIGHT)
    ] = None,
    w_spread: Annotated[
        OptFloat, Query(description="weight of a tight spread", json_schema_extra=WEIGHT)
    ] = None,
) -> ScanPublic:
    """Rank the venue's symbols by momentum, volatility, volume and spread, after the filters.

    The score is a weighted sum of each metric's percentile rank among the symbols that pass.
    One batched tickers request covers the universe; ``refine`` adds one bars request per
    refined candidate, a few at a time. ``requests`` says how many venue requests it took.
    """
    given = {
        "top": top,
        "quote": quote,
        "symbols": [s for s in symbols.split(",") if s.strip()] if symbols is not None else None,
        "min_quote_volume": min_volume,
        "max_spread_bps": max_spread_bps,
        "refine": refine,
        "lookback": lookback,
        "timeframe": timeframe,
    }
    weights = {"momentum": w_momentum, "volatility": w_volatility, "volume": w_volume, "spread": w_spread}
    raw: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if any(v is not None for v in weights.values()):
        raw["weights"] = {k: v for k, v in weights.items() if v is not None}
    check_venue(exchange, settings)
    try:
        criteria = ScanCriteria.model_validate(raw)
    except ValidationError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=_reasons(e)) from None
    if criteria.refine > settings.scan_max_refine:  # each refined symbol is one more venue request
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"refine: at most {settings.scan_max_refine} on demand (ASTS_SCAN_MAX_REFINE), "
            f"got {criteria.refine}",
        )
    # An unknown venue is a 422 and one that is down a 503: the app's TradingError handler decides.
    found = await scan_universe(venues.exchange(exchange), criteria)
    rows = [
        ScanRowPublic(
            rank=r.rank,
            symbol=r.symbol,
            score=r.score,
            momentum=r.momentum,
            volatility=r.volatility,
            quote_volume=r.quote_volume,
            spread_bps=r.spread_bps,
            last=r.last,
            bar_momentum=r.bar_momentum,
            bar_volatility=r.bar_volatility,
        )
        for r in found.report.top(criteria.top)
    ]
    return ScanPublic(
        exchange=exchange,
        criteria=criteria,
        universe=found.universe,
        data=rows,
        count=len(rows),
        filtered=[
            ScanFilteredPublic(symbol=f.symbol, reason=f.reason, detail=f.detail)
            for f in found.report.filtered
        ],
        requests=found.calls.total,
        requests_by_method=dict(found.calls.counts),
        elapsed_ms=round(found.elapsed_ms, 3),
    )
