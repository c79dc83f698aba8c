"""`asts analyze` and `asts decision`: one analysis outside any strategy, and a decision in full.

Added by ``add_agent_commands`` with the CLI's own helpers, so this module never imports
``worker.cli`` (which runs as ``__main__``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
# The API waits up to ASTS_ANALYZE_TIMEOUT_S (300 s by default); the CLI a little longer.
ANALYZE_HTTP_TIMEOUT = 330.0


def show_decision(d: dict[str, Any], console: Console) -> None:
    """Print a decision record: signal, why, what it saw, what it cost."""
    colour = {"long": "green", "flat": "red"}.get(d["target"], "yellow")
    console.print(
        f"[bold]decision {d['id']}[/bold] {d['symbol']}: [{colour}]{d['target']}[/{colour}] "
        f"confidence {d['confidence']:.2f} ({d['mode']})"
    )
    console.print(escape(d["rationale"]))
    inputs = d.get("inputs") or {}
    window = inputs.get("window") or {}
    console.print(
        f"as of {d.get('as_of')}; bars {window.get('bars', window.get('closes', '?'))} "
        f"({window.get('first')} → {window.get('last')}); news {inputs.get('news_ids', [])}"
    )
    if d.get("model"):
        console.print(
            f"model {escape(d['model'])}, prompt {d.get('prompt_hash', '')[:12]}, tokens "
            f"{d['tokens_in']}+{d['tokens_out']}, cost {d['cost']}, {d['latency_ms']:.0f} ms"
        )
    if d.get("error"):
        console.print(f"[red]model error:[/red] {escape(d['error'])}")


def add_agent_commands(
    app: typer.Typer,
    *,
    call: Callable[..., Any],
    pairs: Callable[[list[str], str], dict[str, Any]],
    console: Console,
) -> None:
    """Register ``analyze`` and ``decision`` on the CLI."""

    @app.command()
    def analyze(
        symbol: Annotated[str, typer.Argument(help="e.g. MSFT/USD")],
        exchange: Annotated[str, typer.Option(help="venue")] = "paper",
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="analyse as of this time, e.g. 2017-06-01T00:00:00Z")
        ] = None,
        strategy_type: Annotated[
            str, typer.Option("--type", help="agent, sma_cross or rsi_reversion")
        ] = "agent",
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="parameter key=value")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the decision record as JSON")] = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Run the analysis graph once for SYMBOL and show the recorded decision."""
        body: dict[str, Any] = {
            "symbol": symbol,
            "exchange": exchange,
            "strategy_type": strategy_type,
            "params": pairs(param or [], "parameter"),
        }
        if as_of is not None:
            body["as_of"] = as_of
        out = call("POST", "/analyze", api_url, body, timeout=ANALYZE_HTTP_TIMEOUT)
        if as_json:
            console.print_json(json.dumps(out))
            return
        show_decision(out, console)

    @app.command()
    def decision(
        decision_id: Annotated[int, typer.Argument(help="the decision's id")],
        as_json: Annotated[bool, typer.Option("--json", help="print the record as JSON")] = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Show one decision in full (GET /decisions/{id})."""
        out = call("GET", f"/decisions/{decision_id}", api_url)
        if as_json:
            console.print_json(json.dumps(out))
            return
        show_decision(out, console)
