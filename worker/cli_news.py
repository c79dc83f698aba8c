"""`asts news`: list ingested news through the API, or run one DataSpider ingest through Temporal.

Built by ``make_news_app`` with the CLI's own helpers (API call, error exit, console),
so this module never imports ``worker.cli`` (which runs as ``__main__``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from activities.ingest_contracts import FeedSource, IngestInput, IngestResult
from worker.cli_common import Call, Fail, run_workflow_once

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]


def feed_of(text: str, fail: Fail) -> FeedSource:
    """A feed from a command-line value: an http(s) URL, or a path to an existing file."""
    if "://" in text:
        if not text.lower().startswith(("http://", "https://")):
            fail(f"feed {text!r}: only http:// and https:// URLs can be fetched")
        return FeedSource(name=text[:200], url=text)
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        fail(f"no such feed file: {path}")
    return FeedSource(name=path.name[:200], path=str(path))


async def run_ingest(
    inp: IngestInput, *, temporal: str | None, task_queue: str | None, timeout_s: float, fail: Fail
) -> IngestResult:
    """Run IngestWorkflow once and wait for its result."""
    from workflows.ingest import IngestWorkflow
    from workflows.options import ingest_workflow_id

    return await run_workflow_once(
        IngestWorkflow.run,
        inp,
        make_id=ingest_workflow_id,
        what="ingest",
        temporal=temporal,
        task_queue=task_queue,
        timeout_s=timeout_s,
        fail=fail,
    )


def make_news_app(*, call: Call, fail: Fail, console: Console) -> typer.Typer:
    """The `news` command group, using the CLI's API call, error exit and console."""
    news_app = typer.Typer(help="News ingested by DataSpider: list it, or ingest feeds now.")

    @news_app.callback(invoke_without_command=True)
    def news(
        ctx: typer.Context,
        symbol: Annotated[str | None, typer.Option(help="only items about this symbol")] = None,
        since: Annotated[str | None, typer.Option(help="published at or after (ISO 8601)")] = None,
        until: Annotated[str | None, typer.Option(help="published at or before (ISO 8601)")] = None,
        limit: Annotated[int, typer.Option(help="at most this many")] = 20,
        api_url: ApiOpt = None,
    ) -> None:
        """List news items, newest first (`asts news ingest` ingests feeds now)."""
        if ctx.invoked_subcommand is not None:
            return
        params = {"symbol": symbol, "since": since, "until": until, "limit": limit}
        query = urlencode({k: v for k, v in params.items() if v is not None})
        out = call("GET", f"/news?{query}", api_url)
        table = Table("published", "symbols", "sentiment", "source", "title")
        for n in out["data"]:
            table.add_row(
                n["published_at"],
                ",".join(n["symbols"]),
                f"{n['sentiment']:+.2f}",
                escape(n["source"]),
                escape(n["title"]),
            )
        console.print(table)
        console.print(f"{out['count']} item(s)")

    @news_app.command("ingest")
    def ingest(
        feed: Annotated[
            list[str] | None,
            typer.Option("--feed", help="a feed URL or file (repeatable; default: settings)"),
        ] = None,
        temporal: Annotated[
            str | None, typer.Option(help="Temporal address (default TEMPORAL_ADDRESS)")
        ] = None,
        task_queue: Annotated[str | None, typer.Option(help="the workers' task queue")] = None,
        timeout: Annotated[float, typer.Option(help="seconds to wait for the run")] = 120.0,
    ) -> None:
        """Ingest feeds once through Temporal (IngestWorkflow) and print what each one added."""
        from pydantic import ValidationError

        from worker.settings import Settings

        if timeout <= 0:
            fail("--timeout must be positive")
        try:
            feeds = [feed_of(f, fail) for f in feed or []] or [
                FeedSource.model_validate(f) for f in Settings().news_feeds
            ]
        except ValidationError as e:
            fail(f"bad feed: {e.errors()[0]['msg']}")
        inp = IngestInput(feeds=feeds)
        result = asyncio.run(
            run_ingest(inp, temporal=temporal, task_queue=task_queue, timeout_s=timeout, fail=fail)
        )
        table = Table("feed", "fetched", "new", "duplicates", "skipped", "notes")
        for r in result.feeds:
            notes = "; ".join(r.errors)
            table.add_row(
                escape(r.source),
                str(r.fetched),
                str(r.new),
                str(r.duplicates),
                str(r.skipped),
                f"[red]FAILED[/red] {escape(notes)}" if r.failed else escape(notes),
            )
        console.print(table)
        console.print(f"new {result.new}, duplicates {result.duplicates}, failed feeds {result.failed}")
        if result.failed:
            raise typer.Exit(1)

    return news_app
