"""`asts data`: market data in the store.

``status`` and ``gaps`` read through the API; ``backfill`` runs MarketDataWorkflow through Temporal
and waits (as ``asts news ingest`` does); ``import`` and ``download`` write to the database
directly (``--home`` / ``ASTS_DATABASE_URL``), so they work without a running stack: ``download``
reads the venue itself (any ccxt exchange id, or "paper"), for when a network is at hand.

Built by ``make_data_app`` with the CLI's own helpers, so this module never imports ``worker.cli``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.cli_common import Call, Fail, run_workflow_once

if TYPE_CHECKING:
    from activities.deps import Deps
    from activities.marketdata_contracts import (
        BackfillResult,
        MarketDataInput,
        MarketDataResult,
        SeriesStatus,
    )

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="state directory (default .asts or ASTS_HOME)")]
ExchangeOpt = Annotated[str, typer.Option(help="the venue: paper, or a ccxt exchange id")]
SymbolOpt = Annotated[str, typer.Option(help="e.g. MSFT/USD or BTC/USDT")]
TimeframeOpt = Annotated[str, typer.Option(help="1m, 5m, 15m, 1h, 4h, 1d, 1w, ...")]


def parse_when(text: str | None, what: str, fail: Fail) -> datetime | None:
    """A date or time from the command line (ISO 8601; without a zone it is UTC)."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{what} {text!r} is not a date or time (ISO 8601, e.g. 2024-01-31 or 2024-01-31T12:00Z)")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.isoformat().replace("+00:00", "Z")


def _gaps_text(r: SeriesStatus | dict[str, Any]) -> str:
    d = r if isinstance(r, dict) else r.model_dump()
    return f"{d['gap_count']} ({d['missing']} bars missing)" if d["gap_count"] else "none"


def result_table(results: list[BackfillResult]) -> Table:
    """One row per backfilled series."""
    table = Table("exchange", "symbol", "tf", "new", "duplicates", "stored", "first", "last", "gaps", "notes")
    for r in results:
        notes = "; ".join(r.errors or r.notes)
        table.add_row(
            escape(r.exchange),
            escape(r.symbol),
            r.timeframe,
            str(r.new),
            str(r.duplicates),
            str(r.count),
            _iso(r.first),
            _iso(r.last),
            _gaps_text(r),
            f"[red]FAILED[/red] {escape(notes)}" if r.failed else escape(notes),
        )
    return table


@asynccontextmanager
async def store_deps(home: Path | None, fail: Fail) -> AsyncIterator[Deps]:
    """The store of the settings (migrated) and venue access, as the worker has them."""
    from store.db import display_url, make_engine, migrate, scrub
    from worker.runtime import settings_deps
    from worker.settings import Settings

    settings = Settings(home=home) if home is not None else Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        await migrate(settings.db_url)
    except Exception as e:  # any failure here means the database cannot be used
        url = settings.db_url  # a secret: shown with its password masked, also inside the error
        fail(f"cannot open the database {display_url(url)}: {scrub(str(e), url)}", code=1)
    engine = make_engine(settings.db_url)
    deps = settings_deps(settings, engine)
    try:
        yield deps
    finally:
        await deps.close()
        await engine.dispose()


async def run_marketdata(
    inp: MarketDataInput, *, temporal: str | None, task_queue: str | None, timeout_s: float, fail: Fail
) -> MarketDataResult:
    """Run MarketDataWorkflow once and wait for its result."""
    from workflows.marketdata import MarketDataWorkflow
    from workflows.options import marketdata_workflow_id

    return await run_workflow_once(
        MarketDataWorkflow.run,
        inp,
        make_id=marketdata_workflow_id,
        what="market-data",
        temporal=temporal,
        task_queue=task_queue,
        timeout_s=timeout_s,
        fail=fail,
    )


def make_data_app(*, call: Call, fail: Fail, console: Console) -> typer.Typer:
    """The `data` command group, using the CLI's API call, error exit and console."""
    data_app = typer.Typer(help="Market data in the store: status, gaps, backfill, import, download.")

    def backfill_input(**fields: Any) -> Any:
        from pydantic import ValidationError

        from activities.marketdata_contracts import BackfillInput

        try:
            return BackfillInput(**{k: v for k, v in fields.items() if v is not None})
        except ValidationError as e:
            err = e.errors()[0]
            fail(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}".removeprefix(": "))

    @data_app.command("status")
    def status(
        exchange: Annotated[str | None, typer.Option(help="only this venue")] = None,
        symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
        api_url: ApiOpt = None,
    ) -> None:
        """Every stored series: first and last bar, bars stored, gaps."""
        query = urlencode({k: v for k, v in {"exchange": exchange, "symbol": symbol}.items() if v})
        out = call("GET", f"/data?{query}", api_url)
        table = Table("exchange", "symbol", "tf", "first", "last", "bars", "gaps")
        for s in out["data"]:
            first, last = s["first"] or "", s["last"] or ""
            table.add_row(
                escape(s["exchange"]),
                escape(s["symbol"]),
                s["timeframe"],
                first,
                last,
                str(s["count"]),
                _gaps_text(s),
            )
        console.print(table)
        console.print(f"{out['count']} series")

    @data_app.command("gaps")
    def gaps(
        exchange: ExchangeOpt,
        symbol: SymbolOpt,
        timeframe: TimeframeOpt,
        calendar: Annotated[str, typer.Option(help="auto, continuous or weekdays")] = "auto",
        limit: Annotated[int, typer.Option(help="list at most this many")] = 50,
        api_url: ApiOpt = None,
    ) -> None:
        """Bars missing between the first and last stored bar of a series."""
        query = urlencode(
            {
                "exchange": exchange,
                "symbol": symbol,
                "timeframe": timeframe,
                "calendar": calendar,
                "limit": limit,
            }
        )
        out = call("GET", f"/data/gaps?{query}", api_url)
        table = Table("after", "before", "missing bars")
        for g in out["data"]:
            table.add_row(g["after"], g["before"], str(g["missing"]))
        console.print(table)
        console.print(f"{out['count']} gap(s), {out['missing']} bar(s) missing")

    @data_app.command("backfill")
    def backfill(
        exchange: Annotated[
            str | None, typer.Option(help="the venue (default: the settings' series)")
        ] = None,
        symbol: Annotated[str | None, typer.Option(help="e.g. MSFT/USD")] = None,
        timeframe: Annotated[str | None, typer.Option(help="1m, 1h, 1d, ...")] = None,
        since: Annotated[str | None, typer.Option(help="first bar wanted when nothing is stored")] = None,
        until: Annotated[
            str | None, typer.Option(help="last bar wanted (default: the newest closed)")
        ] = None,
        temporal: Annotated[
            str | None, typer.Option(help="Temporal address (default TEMPORAL_ADDRESS)")
        ] = None,
        task_queue: Annotated[str | None, typer.Option(help="the workers' task queue")] = None,
        timeout: Annotated[float, typer.Option(help="seconds to wait for the run")] = 3600.0,
    ) -> None:
        """Bring series up to date through Temporal and wait (default: the ASTS_MARKET_DATA series)."""
        from pydantic import ValidationError

        from activities.marketdata_contracts import BackfillInput, MarketDataInput
        from worker.settings import Settings

        if timeout <= 0:
            fail("--timeout must be positive")
        given = [v is not None for v in (exchange, symbol, timeframe)]
        if any(given) and not all(given):
            fail("give all of --exchange, --symbol and --timeframe, or none (the configured series)")
        if all(given):
            series = [
                backfill_input(
                    exchange=exchange,
                    symbol=symbol,
                    timeframe=timeframe,
                    since=parse_when(since, "--since", fail),
                    until=parse_when(until, "--until", fail),
                )
            ]
        else:
            try:
                series = [BackfillInput.model_validate(s) for s in Settings().market_data]
            except ValidationError as e:
                fail(f"bad ASTS_MARKET_DATA: {e.errors()[0]['msg']}")
            if not series:
                fail("no series: give --exchange, --symbol and --timeframe, or set ASTS_MARKET_DATA")
        inp = MarketDataInput(series=series)
        result = asyncio.run(
            run_marketdata(inp, temporal=temporal, task_queue=task_queue, timeout_s=timeout, fail=fail)
        )
        console.print(result_table(result.series))
        console.print(
            f"new {result.new}, series with gaps {sum(1 for r in result.series if r.gap_count)}, "
            f"failed {result.failed}"
        )
        if result.failed:
            raise typer.Exit(1)

    @data_app.command("import")
    def import_(
        file: Annotated[
            Path, typer.Argument(help="an OHLCV CSV file (a ts/timestamp/date column, open ... volume)")
        ],
        symbol: SymbolOpt,
        timeframe: TimeframeOpt,
        exchange: Annotated[
            str,
            typer.Option(
                help='stored under this venue ("paper": replayed by the paper exchange after a restart)'
            ),
        ] = "csv",
        replace: Annotated[bool, typer.Option(help="overwrite stored bars whose values differ")] = False,
        tz: Annotated[
            str | None,
            typer.Option("--tz", help="the zone of times written without one, e.g. UTC (none: refused)"),
        ] = None,
        home: HomeOpt = None,
    ) -> None:
        """Validate a whole CSV, then store its bars (nothing is stored if any row is bad)."""
        from activities.marketdata import import_csv
        from trading.errors import InvalidInput

        if not file.is_file():
            fail(f"no such file: {file}")
        tf = backfill_input(exchange=exchange, symbol=symbol, timeframe=timeframe).timeframe

        async def run() -> Any:
            async with store_deps(home, fail) as deps:
                return await import_csv(
                    deps, path=file, exchange=exchange, symbol=symbol, timeframe=tf, replace=replace, tz=tz
                )

        try:
            r = asyncio.run(run())
        except InvalidInput as e:
            fail(str(e))
        replaced = f", replaced {r.replaced}" if replace else ""
        name, series = escape(file.name), f"{escape(exchange)} {escape(symbol)} {tf}"
        console.print(f"imported {name}: {r.bars} bars, new {r.new}, already stored {r.duplicates}{replaced}")
        console.print(
            f"{series}: {r.count} bars from {_iso(r.first)} to {_iso(r.last)}; gaps {_gaps_text(r)}"
        )

    @data_app.command("download")
    def download(
        exchange: ExchangeOpt,
        symbol: SymbolOpt,
        timeframe: TimeframeOpt,
        since: Annotated[str | None, typer.Option(help="first bar wanted (ISO 8601, UTC)")] = None,
        until: Annotated[
            str | None, typer.Option(help="last bar wanted (default: the newest closed)")
        ] = None,
        page: Annotated[int, typer.Option(help="bars asked per request")] = 500,
        home: HomeOpt = None,
    ) -> None:
        """Download closed bars from a venue straight into the store (no Temporal; needs the venue)."""
        from activities.marketdata import backfill as run_backfill
        from trading.errors import TradingError

        inp = backfill_input(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            since=parse_when(since, "--since", fail),
            until=parse_when(until, "--until", fail),
            page=page,
        )

        async def run() -> BackfillResult:
            async with store_deps(home, fail) as deps:

                def show(r: BackfillResult) -> None:
                    console.print(
                        f"page {r.pages}: new {r.new}, already stored {r.duplicates}", highlight=False
                    )

                return await run_backfill(deps, inp, progress=show if console.is_terminal else None)

        try:
            result = asyncio.run(run())
        except TradingError as e:
            fail(str(e), code=1 if e.retryable else 2)
        console.print(result_table([result]))

    return data_app
