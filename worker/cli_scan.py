"""`asts scan`: rank a venue's universe now, through the API (``GET /scan``).

Added by ``add_scan_command`` with the CLI's own helpers, so this module never imports
``worker.cli`` (which runs as ``__main__``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
WEIGHTS = ("momentum", "volatility", "volume", "spread")


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:+.2f}%"


def _num(v: float | None, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def universe_option(text: str, fail: Callable[..., NoReturn]) -> Any:
    """The ``--universe`` JSON object of ``asts strategy start``; exits 2 when it is not one."""
    try:
        value = json.loads(text)
    except ValueError as e:
        fail(f"--universe is not JSON: {e}")
    if not isinstance(value, dict):
        fail('--universe must be a JSON object, e.g. \'{"quote": "USD", "top": 5}\'')
    return value


def weights_of(items: list[str], fail: Callable[..., NoReturn]) -> dict[str, str]:
    """``--weight NAME=VALUE`` options as query parameters ``w_NAME``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in WEIGHTS:
            fail(f"--weight {item!r} must look like NAME=NUMBER with NAME one of {', '.join(WEIGHTS)}")
        out[f"w_{name}"] = value
    return out


def add_scan_command(
    app: typer.Typer, *, call: Callable[..., Any], fail: Callable[..., NoReturn], console: Console
) -> None:
    """Register ``scan`` on the CLI."""

    @app.command()
    def scan(
        exchange: Annotated[str, typer.Option(help="venue")] = "paper",
        top: Annotated[int, typer.Option(help="how many to show")] = 10,
        quote: Annotated[str | None, typer.Option(help="only symbols quoted in this currency")] = None,
        symbols: Annotated[
            str | None, typer.Option(help="comma-separated universe (default: every listed symbol)")
        ] = None,
        min_volume: Annotated[
            str | None, typer.Option("--min-volume", help="minimum 24h volume in the quote currency")
        ] = None,
        max_spread_bps: Annotated[
            float | None, typer.Option("--max-spread-bps", help="maximum bid-ask spread, basis points")
        ] = None,
        refine: Annotated[int, typer.Option(help="re-rank the first K by their bars (0: off)")] = 0,
        timeframe: Annotated[str | None, typer.Option(help="bars' timeframe when refining")] = None,
        weight: Annotated[
            list[str] | None,
            typer.Option("--weight", "-w", help="metric weight NAME=NUMBER, e.g. momentum=2 (repeatable)"),
        ] = None,
        show_filtered: Annotated[
            bool, typer.Option("--show-filtered", help="list every filtered-out symbol with why")
        ] = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Rank a venue's symbols by momentum, volatility, volume and spread (ScanPulse)."""
        params: dict[str, Any] = {
            "exchange": exchange,
            "top": top,
            "quote": quote,
            "symbols": symbols,
            "min_volume": min_volume,
            "max_spread_bps": max_spread_bps,
            "refine": refine,
            "timeframe": timeframe,
        } | weights_of(weight or [], fail)
        query = urlencode({k: v for k, v in params.items() if v is not None})
        out = call("GET", f"/scan?{query}", api_url)
        refined = any(r["bar_momentum"] is not None for r in out["data"])
        columns = ["rank", "symbol", "score", "last", "24h change", "24h range", "quote volume", "spread bps"]
        table = Table(*columns, *(("bar momentum", "bar volatility") if refined else ()))
        for r in out["data"]:
            cells = [
                str(r["rank"]),
                escape(r["symbol"]),
                f"{r['score']:.4f}",
                str(r["last"]),
                _pct(r["momentum"]),
                _pct(r["volatility"]),
                f"{float(r['quote_volume']):,.0f}",
                _num(r["spread_bps"], ".2f"),
            ]
            if refined:
                cells += [_pct(r["bar_momentum"]), _num(r["bar_volatility"], ".5f")]
            table.add_row(*cells)
        console.print(table)
        filtered = out["filtered"]
        reasons: dict[str, int] = {}
        for f in filtered:
            reasons[f["reason"]] = reasons.get(f["reason"], 0) + 1
        summary = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        console.print(
            f"{out['count']} ranked of {out['universe']} symbols on {escape(out['exchange'])}"
            + (f"; filtered out: {summary}" if summary else "")
            + f"; {out['requests']} venue request(s), {out['elapsed_ms']:.0f} ms"
        )
        if show_filtered and filtered:
            ft = Table("symbol", "reason", "detail")
            for f in filtered:
                ft.add_row(escape(f["symbol"]), f["reason"], escape(f["detail"]))
            console.print(ft)
