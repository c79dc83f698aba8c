"""The `asts` command line."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from exchanges.emulator.cli import app as emulator_app
from worker.cli_agents import add_agent_commands
from worker.cli_auth import authed_request, make_auth_commands, refusal, sign_in, store_tokens
from worker.cli_codec import make_codec_app
from worker.cli_common import parse_pairs
from worker.cli_data import make_data_app
from worker.cli_llm import check_llm_choice, make_llm_app
from worker.cli_news import make_news_app
from worker.cli_opticore import add_opticore_commands, sizing_of
from worker.cli_scan import add_scan_command, universe_option
from worker.cli_sdk import add_sdk_commands


class _App(typer.Typer):
    """The CLI: settings the environment gets wrong are a clear error with exit code 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as e:
            if e.title != "Settings":
                raise
            reasons = "; ".join(_setting_error(x) for x in e.errors())
            err.print(f"[red]error:[/red] bad settings: {escape(reasons)}")
            raise SystemExit(2) from None


def _setting_error(error: Any) -> str:
    name, *inner = (str(p) for p in error["loc"]) or ("",)
    where = f" ({'.'.join(inner)})" if inner else ""
    return f"ASTS_{name.upper()}{where}: {error['msg'].removeprefix('Value error, ')}"


app = _App(help="ASTS: agent-driven trading on durable Temporal workflows.", no_args_is_help=True)
strategy_app = typer.Typer(
    help="Start, list, inspect, halt, resume and upgrade strategies (through the API); write and check "
    "strategy code (locally)."
)
app.add_typer(strategy_app, name="strategy")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEMO_STRATEGY: dict[str, Any] = {
    "name": "demo sma cross",
    "type": "sma_cross",
    "exchange": "paper",
    "symbols": ["MSFT/USD", "GOOGL/USD"],
    "interval": "2s",
    "params": {"fast": 5, "slow": 20, "size": "10"},
    "risk": {"max_order_notional": "50000", "max_position_qty": "100"},
}

# The agent: technical and news analysts, and the model when one is configured (``--llm local``).
# The sample news is dated, so the demo looks back far enough to read it.
DEMO_AGENT: dict[str, Any] = {
    "name": "demo agent",
    "type": "agent",
    "exchange": "paper",
    "symbols": ["MSFT/USD"],
    "interval": "10s",
    "params": {
        "fast": 5,
        "slow": 20,
        "rsi_period": 10,
        "size": "10",
        "news_lookback_h": 87600,
        "min_confidence": 0.5,
    },
    "risk": {"max_order_notional": "50000", "max_position_qty": "100"},
    "llm_budget": {"daily_tokens": 500000, "on_exhausted": "fallback"},
}

HomeOpt = Annotated[Path | None, typer.Option("--home", help="state directory (default .asts or ASTS_HOME)")]
ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error and exit (2 for bad input, 1 for an unreachable service)."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _settings(home: Path | None = None) -> Any:
    if home is not None:
        os.environ["ASTS_HOME"] = str(home)
    from worker.settings import Settings

    return Settings()


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@app.command()
def up(
    home: HomeOpt = None,
    api_port: Annotated[int, typer.Option(help="API port")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    demo: Annotated[bool, typer.Option(help="also start a demo strategy")] = False,
    bars_per_second: Annotated[float, typer.Option(help="paper exchange replay speed")] = 2.0,
    llm: Annotated[
        str, typer.Option(help="none, or local: serve SmolLM2 (llm extra) and point the agents at it")
    ] = "none",
) -> None:
    """Start the embedded stack: Temporal dev server, a worker and the API; Ctrl-C stops all."""
    from worker.launcher import Interrupted, Stack, StackError, raise_on_signals

    check_llm_choice(llm, fail)
    settings = _settings(home)
    _strategies_or_fail(settings, "stack")  # before anything starts: the worker and the API load the same
    stack = Stack(
        home=settings.home.resolve(),
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        temporal_address=settings.temporal_address,
        bars_per_second=bars_per_second,
        llm=llm,
        llm_port=settings.llm_local_port,
    )
    raise_on_signals()
    password_file = stack.home / "admin-password"
    had_password = password_file.exists()
    try:
        stack.start()
        token = _sign_in_cli(stack.api_url, password_file, settings)
        console.print(f"[green]ASTS is up[/green] (state in {stack.home})")
        console.print(f"  Console    {stack.api_url}   (sign in as admin)")
        console.print(f"  API        {stack.api_url}   (OpenAPI docs: {stack.api_url}/docs)")
        if settings.temporal_address is None:
            console.print(f"  Web UI     http://127.0.0.1:{ui_port}")
        console.print(f"  Temporal   {stack.address}")
        console.print(f"  Logs       {stack.home / 'logs'}")
        if stack.llm_env:
            console.print(
                f"  LLM        {stack.llm_env['ASTS_LLM_MODEL']} at {stack.llm_env['ASTS_LLM_BASE_URL']}"
            )
        if not had_password and password_file.exists():
            console.print(
                "  Admin      user [bold]admin[/bold], password "
                f"[bold]{escape(password_file.read_text().strip())}[/bold]\n"
                f"             (shown this once; kept in {password_file}, readable by you only)"
            )
        if token:
            console.print(f"  CLI        signed in to {stack.api_url} as admin (asts login to switch user)")
        else:
            console.print("  CLI        not signed in: run asts login (the admin password has changed?)")
        if demo:
            if not token:
                raise StackError("the demo needs the CLI signed in as admin")
            for body in (DEMO_STRATEGY, DEMO_AGENT):
                r = httpx.post(
                    f"{stack.api_url}/strategies",
                    json=body,
                    timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if r.status_code != 201:
                    raise StackError(f"demo strategy refused: {r.status_code} {r.text}")
                sid = r.json()["id"]
                console.print(f"  Demo       {body['name']} {sid} trading {', '.join(body['symbols'])}")
                console.print(
                    f"             watch: asts strategy status {sid}  |  halt: asts strategy halt {sid}"
                )
        console.print("Press Ctrl-C to stop.")
        dead = stack.watch()
        err.print(f"[red]{dead} exited; stopping the stack[/red]")
        raise typer.Exit(1)
    except Interrupted:
        console.print("stopping…")
    except StackError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None
    finally:
        stack.stop()


def _sign_in_cli(api_url: str, password_file: Path, settings: Any) -> str | None:
    """Sign the local CLI in as admin for this stack (password from ASTS_ADMIN_PASSWORD or the
    home's admin-password file); the access token, or None when that password no longer works."""
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or (password_file.read_text().strip() if password_file.exists() else None)
    if not password:
        return None
    try:
        out = sign_in(api_url, "admin", password)
    except httpx.HTTPError:
        return None
    if out["status"] != 200:
        return None
    store_tokens(api_url, out["body"], "admin")
    return str(out["body"]["access_token"])


@app.command()
def worker(
    home: HomeOpt = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="serve our Prometheus metrics on PORT (of ASTS_WORKER_METRICS_HOST, default 127.0.0.1)"
        ),
    ] = None,
    sdk_metrics_port: Annotated[
        int | None, typer.Option(help="serve the Temporal SDK's Prometheus metrics on PORT (same host)")
    ] = None,
) -> None:
    """Run one worker (connects to TEMPORAL_ADDRESS; database from ASTS_DATABASE_URL)."""
    from worker.runtime import run_worker

    _logging()
    settings = _settings(home)
    if metrics_port is not None:
        settings.worker_metrics_port = metrics_port
    if sdk_metrics_port is not None:
        settings.worker_sdk_metrics_port = sdk_metrics_port
    _strategies_or_fail(settings, "worker")
    asyncio.run(run_worker(settings))


@app.command()
def api(
    home: HomeOpt = None,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    processes: Annotated[
        int, typer.Option(min=1, max=64, help="API processes sharing the port (uvicorn workers)")
    ] = 1,
) -> None:
    """Run the REST API (uvloop and httptools; with --processes N, N processes on one port)."""
    import uvicorn

    from api.app import create_app

    _logging()
    settings = _settings(home)
    _strategies_or_fail(settings, "API")
    # Open change streams (GET /stream) never finish by themselves: a stop ends them after 5 s.
    fast: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "log_level": "warning",
        "timeout_graceful_shutdown": 5,
    }
    if processes == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **fast)
        return
    # Migrated and bootstrapped once here, so the processes do not race to do it.
    asyncio.run(_prepare_store_once(settings))
    os.environ["ASTS_HOME"] = str(settings.home)
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        **fast,
    )


async def _prepare_store_once(settings: Any) -> None:
    from api.app import prepare_store
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(settings.db_url)
    try:
        await prepare_store(settings, make_sessionmaker(engine))
    finally:
        await engine.dispose()


def _strategies_or_fail(settings: Any, what: str) -> None:
    """Load the strategy types, or stop with the broken one's file, line and reason (exit 2)."""
    from asts.registry import StrategyLoadError
    from worker.settings import load_strategies

    try:
        load_strategies(settings)
    except StrategyLoadError as e:
        fail(f"the {what} cannot start: {e}")


def _base(api_url: str | None) -> str:
    return api_url or _settings().base_url


def _call(
    method: str,
    path: str,
    api_url: str | None,
    body: dict[str, Any] | None = None,
    timeout: float = 60,
    csv: bytes | None = None,
) -> Any:
    base = _base(api_url)
    # A CSV file is sent as it is (text/csv); anything else as JSON.
    raw: dict[str, Any] = {"content": csv, "headers": {"Content-Type": "text/csv"}} if csv is not None else {}
    try:
        r = authed_request(method, f"{base}{path}", base, json_body=body, timeout=timeout, **raw)
    except httpx.HTTPError as e:
        fail(f"cannot reach the API at {base}: {e}", code=1)
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        told = refusal(r.status_code, str(detail), base)
        fail(told or f"{r.status_code}: {detail}", code=2 if r.status_code < 500 else 1)
    return r.json() if r.content else {}


def _pairs(items: list[str], what: str) -> dict[str, Any]:
    return parse_pairs(items, what, fail)


@strategy_app.command("start")
def strategy_start(
    type: Annotated[str, typer.Option("--type", help="a strategy type (asts strategy types lists them)")],
    symbols: Annotated[
        str, typer.Option(help="comma-separated, e.g. MSFT/USD,GOOGL/USD (or --universe)")
    ] = "",
    name: Annotated[str, typer.Option(help="display name")] = "",
    interval: Annotated[str, typer.Option(help="cycle interval, e.g. 5s, 1m")] = "10s",
    exchange: Annotated[str, typer.Option(help="venue")] = "paper",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="strategy parameter key=value")
    ] = None,
    risk: Annotated[list[str] | None, typer.Option("--risk", "-r", help="risk limit key=value")] = None,
    breaker: Annotated[
        list[str] | None,
        typer.Option("--breaker", "-b", help="circuit breaker key=value, e.g. daily_loss=5000"),
    ] = None,
    approval_notional: Annotated[
        str | None, typer.Option(help="orders above this notional wait for approval")
    ] = None,
    llm_budget: Annotated[
        list[str] | None,
        typer.Option(
            "--llm-budget", help="daily LLM allowance key=value: daily_tokens, daily_cost, on_exhausted"
        ),
    ] = None,
    params_from: Annotated[
        str | None,
        typer.Option("--params-from", help="a finished optimisation's id: use its best parameters"),
    ] = None,
    universe: Annotated[
        str | None,
        typer.Option(
            "--universe", help='trade the top N of a scan each cycle, JSON: \'{"quote": "USD", "top": 5}\''
        ),
    ] = None,
    sizing: Annotated[
        str | None,
        typer.Option(
            help="fixed_qty:QTY, fixed_notional:AMOUNT, equity_fraction:FRACTION or risk_per_trade:RISK:STOP "
            "(default: the strategy's size parameter)"
        ),
    ] = None,
    units: Annotated[str | None, typer.Option(help="with --sizing: whole or fractional units")] = None,
    exit_: Annotated[
        list[str] | None,
        typer.Option(
            "--exit", help="protective exit key=value: stop_loss, take_profit, trailing (fractions)"
        ),
    ] = None,
    direction: Annotated[
        str | None,
        typer.Option(help="long, or long_short: a FLAT signal means short (a venue that allows shorts)"),
    ] = None,
    api_url: ApiOpt = None,
) -> None:
    """Start a strategy (built-in types: sma_cross, rsi_reversion, agent; and the users' own)."""
    body: dict[str, Any] = {
        "name": name or type,
        "type": type,
        "exchange": exchange,
        "symbols": [s.strip() for s in symbols.split(",") if s.strip()],
        "interval": interval,
        "params": _pairs(param or [], "parameter"),
        "risk": _pairs(risk or [], "risk limit"),
        "breakers": _pairs(breaker or [], "breaker"),
    }
    if approval_notional is not None:
        body["approval_notional"] = approval_notional
    if llm_budget:
        body["llm_budget"] = _pairs(llm_budget, "LLM budget")
    if params_from:
        body["params_from"] = params_from
    if universe is not None:
        body["universe"] = universe_option(universe, fail)
    if units is not None and sizing is None:
        fail("--units goes with --sizing")
    if sizing is not None:
        body["sizing"] = sizing_of(sizing, units, fail)
    if exit_:
        body["exits"] = _pairs(exit_, "exit")
    if direction is not None:
        body["direction"] = direction
    out = _call("POST", "/strategies", api_url, body)
    console.print(f"started {out['id']} (workflow {out['workflow_id']})")


@strategy_app.command("list")
def strategy_list(api_url: ApiOpt = None) -> None:
    """List strategies."""
    out = _call("GET", "/strategies", api_url)
    table = Table("id", "name", "type", "symbols", "interval", "status")
    for s in out["data"]:
        table.add_row(
            s["id"], escape(s["name"]), s["type"], ",".join(s["symbols"]), f"{s['interval_s']}s", s["status"]
        )
    console.print(table)


@strategy_app.command("status")
def strategy_status(strategy_id: str, api_url: ApiOpt = None) -> None:
    """Live status of a strategy, with its latest PnL."""
    s = _call("GET", f"/strategies/{strategy_id}", api_url)
    live = s.get("live") or {}
    name, reason = escape(s["name"]), escape(s["status_reason"])
    console.print(f"[bold]{s['id']}[/bold] {name} ({s['type']}) — {s['status']} {reason}")
    console.print(f"cycles done {live.get('cycles_done', '?')}, failed {live.get('cycles_failed', '?')}")
    llm = live.get("llm")
    if llm:
        spent = " — budget spent" if llm["exhausted"] else ""
        console.print(
            f"LLM today ({llm['day']}): {llm['calls']} calls, {llm['tokens']} tokens, "
            f"cost {llm['cost']}{spent}"
        )
    last = live.get("last_cycle") or {}
    if last.get("pnl"):
        p = last["pnl"]
        console.print(
            f"cycle {last['cycle']}: realised {p['realised']} unrealised {p['unrealised']} "
            f"fees {p['fees']} equity {p['equity']}"
        )
    for d in last.get("decisions", []):
        mode = f" [{d['mode']}]" if d.get("mode", "analysts") != "analysts" else ""
        console.print(
            f"  {d['symbol']}: {d['target']} ({d['confidence']:.2f}){mode} {escape(d['rationale'])}"
            + (f" (decision {d['id']})" if d.get("id") else "")
        )
    for o in last.get("orders", []):
        console.print(f"  order {o['client_order_id']}: {o['status']} {o['filled_qty']} @ {o['avg_price']}")


@strategy_app.command("halt")
def strategy_halt(
    strategy_id: str,
    reason: Annotated[str, typer.Option(help="why")] = "manual halt from CLI",
    api_url: ApiOpt = None,
) -> None:
    """Halt a strategy; returns once no order of it can be placed."""
    out = _call("POST", f"/strategies/{strategy_id}/halt", api_url, {"reason": reason})
    console.print(f"{strategy_id} halted at {out['at']}")


@strategy_app.command("resume")
def strategy_resume(
    strategy_id: str,
    reason: Annotated[str, typer.Option(help="why")] = "resumed from CLI",
    api_url: ApiOpt = None,
) -> None:
    """Resume a halted strategy."""
    out = _call("POST", f"/strategies/{strategy_id}/resume", api_url, {"reason": reason})
    console.print(f"{strategy_id} running again since {out['at']}")


def _print_acks(out: dict[str, Any]) -> None:
    table = Table("strategy", "acknowledged", "at", "cancelled", "flattened", "detail")
    for a in out["strategies"]:
        table.add_row(
            a["strategy_id"],
            a["state"],
            a["at"] or "",
            str(a["cancelled"]),
            escape(", ".join(a["flattened"])),
            escape(a["detail"]),
        )
    console.print(table)
    missing = out.get("unacknowledged_strategies") or []
    if missing and out.get("answered_at"):
        console.print(f"[yellow]not acknowledged:[/yellow] {', '.join(missing)}")


WaitOpt = Annotated[
    str, typer.Option("--wait", help="gate: answer once no order can pass; all: once acknowledged")
]
TimeoutOpt = Annotated[str, typer.Option("--timeout", help="how long --wait all waits for acknowledgements")]


def _check_target(all_: bool, strategy_id: str | None, wait: str) -> None:
    if all_ == (strategy_id is not None):
        fail("name one strategy, or --all for every strategy")
    if wait not in ("gate", "all"):
        fail(f"--wait must be 'gate' or 'all', not {wait!r}")


@app.command()
def halt(
    strategy_id: Annotated[str | None, typer.Argument(help="one strategy (or --all)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every strategy: the kill switch")] = False,
    reason: Annotated[str, typer.Option(help="why (recorded with who and when)")] = "",
    flatten: Annotated[bool, typer.Option(help="close every position with market orders")] = False,
    cancel: Annotated[bool, typer.Option(help="cancel open orders")] = True,
    reduce_only: Annotated[bool, typer.Option(help="--all only: allow orders that reduce positions")] = False,
    wait: WaitOpt = "gate",
    timeout: TimeoutOpt = "10s",
    api_url: ApiOpt = None,
) -> None:
    """Halt every strategy (--all) or one; returns once no order can be placed."""
    _check_target(all_, strategy_id, wait)
    if not reason.strip():
        fail("--reason is required: a halt is recorded with who, when and why")
    common = {
        "reason": reason,
        "cancel_open_orders": cancel,
        "flatten": flatten,
        "wait": wait,
    }
    if strategy_id is not None:
        out = _call("POST", f"/strategies/{strategy_id}/halt", api_url, common)
        ack = out.get("ack") or {}
        console.print(f"{strategy_id} halted at {out['at']} (acknowledgement: {ack.get('state', '?')})")
        return
    out = _call("POST", "/halt", api_url, common | {"ack_timeout": timeout, "reduce_only": reduce_only})
    console.print(
        f"[bold]{out['state']}[/bold] at {out['gate_changed_at']} "
        f"(gate closed {out['gate_latency_ms']:.0f} ms after the request)"
    )
    _print_acks(out)


@app.command()
def resume(
    strategy_id: Annotated[str | None, typer.Argument(help="one strategy (or --all)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="reopen the global gate")] = False,
    reason: Annotated[str, typer.Option(help="why")] = "resumed from CLI",
    wait: WaitOpt = "gate",
    timeout: TimeoutOpt = "10s",
    api_url: ApiOpt = None,
) -> None:
    """Resume every strategy (--all) or one."""
    _check_target(all_, strategy_id, wait)
    if strategy_id is not None:
        out = _call("POST", f"/strategies/{strategy_id}/resume", api_url, {"reason": reason})
        console.print(f"{strategy_id} running again since {out['at']}")
        return
    body = {"reason": reason, "wait": wait, "ack_timeout": timeout}
    out = _call("POST", "/resume", api_url, body)
    console.print(f"[bold]{out['state']}[/bold] since {out['gate_changed_at']}")
    _print_acks(out)


@app.command()
def status(api_url: ApiOpt = None) -> None:
    """NeuroHub: global state, each strategy's exposure and PnL, breakers and their headroom."""
    hub = _call("GET", "/neurohub", api_url)
    colour = {"active": "green", "reducing": "yellow", "halted": "red"}[hub["state"]]
    reason = f" — {escape(hub['reason'])} ({escape(hub['actor'])})" if hub["reason"] else ""
    console.print(f"NeuroHub [{colour}]{hub['state']}[/{colour}]{reason}")
    console.print(f"equity {hub['equity']}  exposure {hub['exposure']}  today {hub['daily_pnl']}")
    table = Table(
        "strategy", "name", "status", "equity", "exposure", "realised", "unrealised", "LLM today", "breakers"
    )
    for e in hub["strategies"]:
        r = e.get("last_report") or {}
        status_text = e["status"] + (" (reduce-only)" if e["reduce_only"] else "")
        breakers = "; ".join(
            f"{b['name']} {'TRIPPED' if b['tripped'] else 'headroom ' + str(b['headroom'])}"
            for b in e["readings"]
        )
        table.add_row(
            e["strategy_id"],
            escape(e["name"]),
            status_text,
            str(r.get("equity", "")),
            str(r.get("exposure", "")),
            str(r.get("realised", "")),
            str(r.get("unrealised", "")),
            f"{r['llm_tokens']} tok, {r['llm_cost']}" if r.get("llm_tokens") else "",
            escape(breakers),
        )
    console.print(table)
    for b in hub["breakers"]:
        console.print(f"global {escape(b['detail'])} (headroom {b['headroom']})")


@app.command()
def approvals(
    all_: Annotated[bool, typer.Option("--all", help="decided ones too")] = False,
    api_url: ApiOpt = None,
) -> None:
    """Orders waiting for a human decision (approve or reject them with `asts approve|reject ID`)."""
    rows = []
    for st in ("pending", "approved", "rejected", "expired") if all_ else ("pending",):
        rows += _call("GET", f"/approvals?status={st}", api_url)["data"]
    table = Table("id", "strategy", "order", "notional", "status", "expires", "decided by", "reason")
    for a in rows:
        order = f"{a['side']} {a['qty']} {a['symbol']} @ {a['price']}"
        table.add_row(
            a["id"],
            a["strategy_id"],
            order,
            str(a["notional"]),
            a["status"],
            a["expires_at"],
            escape(a["decided_by"]),
            escape(a["reason"]),
        )
    console.print(table)


def _decide(approval_id: str, decision: str, reason: str, api_url: str | None) -> None:
    body = {"decision": decision, "reason": reason}
    out = _call("POST", f"/approvals/{approval_id}", api_url, body)
    console.print(f"{approval_id} {out['status']} by {escape(out['decided_by'])}")


@app.command()
def approve(
    approval_id: str, reason: Annotated[str, typer.Option(help="why")] = "", api_url: ApiOpt = None
) -> None:
    """Approve a waiting order: it is placed at once."""
    _decide(approval_id, "approve", reason, api_url)


@app.command()
def reject(
    approval_id: str, reason: Annotated[str, typer.Option(help="why")] = "", api_url: ApiOpt = None
) -> None:
    """Reject a waiting order: it is never placed."""
    _decide(approval_id, "reject", reason, api_url)


@app.command()
def reconcile(
    exchange: Annotated[str, typer.Option(help="venue name, as strategies use it")],
    api_url: ApiOpt = None,
) -> None:
    """Rebuild a venue's orders from the venue now (workers do it as they start); show differences."""
    out = _call("POST", "/reconcile", api_url, {"exchange": exchange}, timeout=330)
    console.print(
        f"{escape(out['exchange'])}: {out['orders_checked']} unfinished orders checked, "
        f"{out['orders_updated']} updated, {out['fills_added']} fills recorded, "
        f"{out['venue_open_orders']} open at the venue"
    )
    for text in out["mismatches"]:
        console.print(f"[yellow]mismatch:[/yellow] {escape(text)}")


PassphraseOpt = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="a file holding the passphrase (default: ASTS_BACKUP_PASSPHRASE)"),
]


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="a new (or empty) directory for the backup")],
    home: HomeOpt = None,
    passphrase_file: PassphraseOpt = None,
) -> None:
    """Back up the database (one snapshot, while the system runs), the paper venue, Temporal's
    dev-server state and the secrets (encrypted with a passphrase) into DIRECTORY."""
    from worker.backup import BackupError, create_backup, read_passphrase

    settings = _settings(home)
    try:
        report = create_backup(settings, directory, read_passphrase(passphrase_file, os.environ))
    except BackupError as e:
        fail(str(e), code=e.code)
    for line in report.lines():
        console.print(escape(line))


@app.command()
def restore(
    directory: Annotated[Path, typer.Argument(help="a backup made by asts backup")],
    home: HomeOpt = None,
    passphrase_file: PassphraseOpt = None,
    force: Annotated[
        bool, typer.Option(help="empty a database that holds data, replace existing files")
    ] = False,
) -> None:
    """Restore a backup into the database of the settings and the home (stop the stack first)."""
    from worker.backup import BackupError, read_passphrase, restore_backup

    settings = _settings(home)
    try:
        report = restore_backup(
            settings, directory, read_passphrase(passphrase_file, os.environ), force=force
        )
    except BackupError as e:
        fail(str(e), code=e.code)
    for line in report.lines():
        console.print(escape(line))


add_sdk_commands(strategy_app, call=_call, fail=fail, console=console)
app.add_typer(make_news_app(call=_call, fail=fail, console=console), name="news")
app.add_typer(make_data_app(call=_call, fail=fail, console=console), name="data")
app.add_typer(make_llm_app(fail=fail, console=console), name="llm")
app.add_typer(make_codec_app(fail=fail, console=console), name="codec")
add_agent_commands(app, call=_call, pairs=_pairs, console=console)
add_opticore_commands(app, call=_call, pairs=_pairs, fail=fail, console=console, base_url=_base)
add_scan_command(app, call=_call, fail=fail, console=console)
app.add_typer(emulator_app, name="emulator")
make_auth_commands(app, call=_call, fail=fail, console=console, base_url=_base)


if __name__ == "__main__":
    app()
