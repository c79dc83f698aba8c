"""Market data over HTTP: what is stored, its bars and gaps; start a backfill; import a CSV; upload
a CSV file for backtests."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.data_files import store_upload
from activities.marketdata import data_status, import_csv
from activities.marketdata_contracts import (
    CalendarName,
    DataStatusInput,
    GapInfo,
    ImportResult,
    MarketDataInput,
    MarketDataResult,
    SeriesStatus,
)
from api.auth.deps import TRADER, VIEWER
from api.deps import ClientDep, Offset, SessionDep, SettingsDep, VenuesDep, page_limit, query_utc
from api.exchanges import check_venue
from api.limits import read_capped
from api.schemas import DataFilePublic
from store import repo
from trading.errors import InvalidInput
from trading.ohlcv_csv import TZ_PATTERN, BarsCsvError, parse_ohlcv
from trading.timeframes import PATTERN as TIMEFRAME_PATTERN
from trading.timeframes import parse_timeframe
from workflows.marketdata import MarketDataWorkflow
from workflows.options import MARKETDATA_RUN_TIMEOUT, MARKETDATA_SCHEDULE_ID, marketdata_workflow_id

router = APIRouter(tags=["market data"])
RPC_TIMEOUT = timedelta(seconds=10)
Exchange = Query(min_length=1, max_length=64, description="paper, csv or a configured venue")
Symbol = Query(min_length=1, max_length=64, description="e.g. MSFT/USD")
TimeframeQ = Query(
    min_length=2,
    max_length=8,
    description="e.g. 1m, 1h, 1d",
    json_schema_extra={"pattern": TIMEFRAME_PATTERN},
)
Limit = page_limit(1000, 100_000)
WorkflowId = Annotated[str, Path(min_length=1, max_length=200)]
Tz = Query(
    default=None,
    max_length=64,
    pattern=TZ_PATTERN,
    description='the zone of times written without one, an IANA name such as "UTC" (none: refused)',
)
# The CSV bodies of /data/import and /data/files, as the OpenAPI schema states them.
CSV_EXAMPLE = "ts,open,high,low,close,volume\n2024-01-01T00:00:00Z,100,101,99,100.5,1000\n"
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "minLength": 1}, "example": CSV_EXAMPLE}},
    }
}


class SeriesPage(BaseModel):
    """``GET /data``: every stored series."""

    data: list[SeriesStatus]
    count: int


class CandlePublic(BaseModel):
    """One stored bar (prices as exact decimal strings)."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class CandlePage(BaseModel):
    """``GET /data/candles``."""

    data: list[CandlePublic]
    count: int


class GapPage(BaseModel):
    """``GET /data/gaps``: gaps oldest first (``count`` and ``missing`` cover all of them)."""

    data: list[GapInfo]
    count: int
    missing: int


class BackfillStarted(BaseModel):
    """``POST /data/backfill``: the run's workflow (follow it with ``GET /data/backfill/{id}``)."""

    workflow_id: str
    series: int


class BackfillRun(BaseModel):
    """A market-data run: its workflow status, and its result once completed."""

    workflow_id: str
    status: str
    result: MarketDataResult | None = None


async def _csv_body(request: Request, cap: int, what: str) -> tuple[bytes, str]:
    """The CSV a request carries as its body, read in chunks up to ``cap`` bytes (413 beyond), and
    its text (422 naming ``what`` when it is not UTF-8)."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="send the CSV itself as the request body (Content-Type: text/csv), not as a form",
        )
    body = await read_capped(request, cap)
    try:
        return body, body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{what} is not UTF-8 text"
        ) from None


def _refused(e: BarsCsvError) -> JSONResponse:
    """422 for a CSV that cannot be read, naming the line at fault."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": str(e), "type": e.kind, "line": e.line},
    )


def _timeframe(text: str) -> str:
    try:
        return parse_timeframe(text).text
    except InvalidInput as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None


@router.get("/data", response_model=SeriesPage, dependencies=[VIEWER])
async def stored_series(
    session: SessionDep,
    exchange: str | None = Query(default=None, max_length=64),
    symbol: str | None = Query(default=None, max_length=64),
    timeframe: str | None = Query(
        default=None, max_length=8, json_schema_extra={"pattern": f"^$|{TIMEFRAME_PATTERN}"}
    ),
    limit: int = Limit,
    offset: int = Offset,
) -> SeriesPage:
    """Every stored series: first and last bar, count, gaps (the first few listed)."""
    inp = DataStatusInput(
        exchange=exchange, symbol=symbol, timeframe=_timeframe(timeframe) if timeframe else None
    )
    found = (await data_status(session, inp)).series[offset : offset + limit]
    return SeriesPage(data=found, count=len(found))


@router.get("/data/candles", response_model=CandlePage, dependencies=[VIEWER])
async def candles(
    session: SessionDep,
    settings: SettingsDep,
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = TimeframeQ,
    since: datetime | None = Query(default=None, description="opening at or after (ISO 8601, UTC)"),
    until: datetime | None = Query(default=None, description="opening at or before (ISO 8601, UTC)"),
    limit: int = Query(default=500, ge=1, le=10_000, description="at most this many (a page)"),
) -> CandlePage:
    """Stored bars oldest first: the first ``limit`` from ``since``, or else the last ``limit``
    (the next page starts after the last ``ts`` given: ``since``)."""
    check_venue(exchange, settings, stored=True)
    since, until = query_utc(since), query_utc(until)
    if since is not None and until is not None and since > until:
        detail = f"since ({since.isoformat()}) is after until ({until.isoformat()})"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)
    rows = await repo.list_candles(
        session,
        exchange=exchange,
        symbol=symbol,
        timeframe=_timeframe(timeframe),
        since=since,
        until=until,
        limit=limit,
    )
    data = [
        CandlePublic(ts=c.ts, open=c.open, high=c.high, low=c.low, close=c.close, volume=c.volume)
        for c in rows
    ]
    return CandlePage(data=data, count=len(data))


@router.get("/data/gaps", response_model=GapPage, dependencies=[VIEWER])
async def gaps(
    session: SessionDep,
    settings: SettingsDep,
    exchange: str = Exchange,
    symbol: str = Symbol,
    timeframe: str = TimeframeQ,
    calendar: CalendarName = Query(default="auto", description="auto, continuous or weekdays"),
    limit: int = Limit,
    offset: int = Offset,
) -> GapPage:
    """Bars missing between the first and last stored bar of a series."""
    check_venue(exchange, settings, stored=True)
    found = await repo.candle_gaps(
        session, exchange=exchange, symbol=symbol, timeframe=_timeframe(timeframe), calendar=calendar
    )
    page = found[offset : offset + limit]
    data = [GapInfo(after=g.after, before=g.before, missing=g.missing) for g in page]
    return GapPage(data=data, count=len(found), missing=sum(g.missing for g in found))


@router.post(
    "/data/backfill",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackfillStarted,
    dependencies=[TRADER],
)
async def start_backfill(
    body: MarketDataInput, client: ClientDep, venues: VenuesDep, settings: SettingsDep
) -> BackfillStarted:
    """Start MarketDataWorkflow on these series; each venue must list its symbol (422 otherwise)."""
    if not body.series:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="series: give at least one")
    for i, s in enumerate(body.series):
        check_venue(s.exchange, settings, field=f"series.{i}.exchange")
        await venues.exchange(s.exchange).market(s.symbol)  # unknown symbol: 422
    wid = marketdata_workflow_id(secrets.token_hex(6))
    try:
        await client.start_workflow(
            MarketDataWorkflow.run,
            body,
            id=wid,
            task_queue=settings.task_queue,
            execution_timeout=MARKETDATA_RUN_TIMEOUT,
            rpc_timeout=RPC_TIMEOUT,
        )
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return BackfillStarted(workflow_id=wid, series=len(body.series))


@router.get("/data/backfill/{workflow_id}", response_model=BackfillRun, dependencies=[VIEWER])
async def backfill_run(workflow_id: WorkflowId, client: ClientDep) -> BackfillRun:
    """A market-data run (manual or scheduled): its status, and its result once completed."""
    if not workflow_id.startswith(MARKETDATA_SCHEDULE_ID):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no market-data run {workflow_id}")
    handle = client.get_workflow_handle_for(MarketDataWorkflow.run, workflow_id)
    try:
        desc = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        run_status = desc.status or WorkflowExecutionStatus.RUNNING
        result = None
        if run_status == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result(rpc_timeout=RPC_TIMEOUT)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"no market-data run {workflow_id}"
            ) from None
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return BackfillRun(workflow_id=workflow_id, status=run_status.name.lower(), result=result)


@router.post(
    "/data/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    dependencies=[TRADER],
    openapi_extra=CSV_BODY,
)
async def import_bars(
    request: Request,
    venues: VenuesDep,
    settings: SettingsDep,
    symbol: str = Symbol,
    timeframe: str = TimeframeQ,
    exchange: str = Query(default="csv", min_length=1, max_length=64, description="csv, paper or a venue"),
    name: str = Query(default="upload.csv", min_length=1, max_length=190, description="recorded as csv:NAME"),
    replace: bool = Query(default=False, description="overwrite stored bars whose values differ"),
    tz: str | None = Tz,
) -> ImportResult | JSONResponse:
    """Import an OHLCV CSV sent as the request body (``text/csv``): a time column (``ts``,
    ``timestamp``, ``date``, ``datetime`` or ``time``) and ``open,high,low,close,volume``.

    The whole file is validated first: one bad row and nothing is stored (422 naming the line).
    Importing the same bars again stores nothing twice. Bars imported under exchange "paper" are
    replayed by the paper venue once the worker and the API restart.
    """
    check_venue(exchange, settings, stored=True)
    _, text = await _csv_body(request, settings.max_import_bytes, name)
    try:
        return await import_csv(
            venues,
            text=text,
            name=name,
            exchange=exchange,
            symbol=symbol,
            timeframe=_timeframe(timeframe),
            replace=replace,
            tz=tz,
        )
    except BarsCsvError as e:
        return _refused(e)


@router.post(
    "/data/files",
    status_code=status.HTTP_201_CREATED,
    response_model=DataFilePublic,
    dependencies=[TRADER],
    openapi_extra=CSV_BODY,
)
async def upload_file(
    request: Request, settings: SettingsDep, tz: str | None = Tz
) -> DataFilePublic | JSONResponse:
    """Keep an OHLCV CSV (the request body, ``text/csv``) under the data directory, for backtests
    to name as ``csv_path``; the same bytes are kept once.

    Unlike ``POST /data/import`` nothing is stored in the market-data store. Without ``tz`` the
    rows are not checked here: the backtest reads the file, and fails naming the line of a bad row.
    With ``tz`` (the zone the backtest will be given as ``data.tz``) the file is read now as the
    backtest will read it, and a bad one is refused (422 naming the line).
    """
    body, text = await _csv_body(request, settings.max_import_bytes, "the file")
    if not body.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the file is empty")
    if tz is not None:
        try:
            await asyncio.to_thread(parse_ohlcv, text, name="the file", tz=tz)
        except BarsCsvError as e:
            return _refused(e)
    csv_path = await asyncio.to_thread(store_upload, settings.data_path, body)
    return DataFilePublic(csv_path=csv_path, bytes=len(body))
