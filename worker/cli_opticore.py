"""`asts backtest` and `asts optimize`: run them through the API, follow progress, show results.

Added by ``add_opticore_commands`` with the CLI's own helpers, so this module never imports
``worker.cli`` (which runs as ``__main__``).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
POLL_S = 0.5
# The figures an optimisation keeps per evaluation (activities.opticore.KEY_METRICS), as columns.
SHOWN = ("total_return", "sharpe", "sortino", "calmar", "max_drawdown")
COUNTS = ("trades", "max_drawdown_duration")
DATA_HELP = "an OHLCV CSV file (time column ts/timestamp/date/datetime/time, open, high, low, close, volume)"
LocalOpt = Annotated[
    bool,
    typer.Option(
        "--local", help="run here, without the stack (the default when no API answers and --api is not given)"
    ),
]
TzOpt = Annotated[
    str | None,
    typer.Option("--tz", help="the zone of --data times written without one, e.g. UTC (none: refused)"),
]


def data_spec(
    data: Path | None,
    symbol: str | None,
    last: int | None,
    fail: Callable[..., NoReturn],
    from_store: str | None = None,
    tz: str | None = None,
) -> dict[str, Any]:
    """The request's data: a CSV file (its absolute path here: ``upload_data`` sends it to the API;
    ``tz``, the zone of its times written without one), a bundled symbol, or a series in the
    market-data store given as EXCHANGE:SYMBOL:TIMEFRAME."""
    if sum(x is not None for x in (data, symbol, from_store)) != 1:
        fail(
            "give exactly one of --data FILE.csv or --symbol SYMBOL (a bundled series)"
            " or --from-store EXCHANGE:SYMBOL:TIMEFRAME"
        )
    if tz is not None and data is None:
        fail("--tz applies to --data only (bundled and stored series are UTC)")
    if from_store is not None:
        exchange, _, rest = from_store.partition(":")
        pair, _, timeframe = rest.rpartition(":")
        if not (exchange and pair and timeframe):
            fail(f"--from-store {from_store!r} must look like EXCHANGE:SYMBOL:TIMEFRAME, e.g. csv:X/USD:1d")
        store = {"exchange": exchange, "symbol": pair, "timeframe": timeframe}
        return {"store": store} | ({"last": last} if last is not None else {})
    spec: dict[str, Any] = {"symbol": symbol} if symbol else {"csv_path": str(Path(str(data)).resolve())}
    if data is not None and not Path(data).is_file():
        fail(f"no such file: {data}")
    if last is not None:
        spec["last"] = last
    if tz is not None:
        spec["tz"] = tz
    return spec


def upload_data(spec: dict[str, Any], call: Callable[..., Any], api_url: str | None) -> dict[str, Any]:
    """``spec`` with its CSV file uploaded (``POST /data/files``) and named as the API keeps it: the
    API reads only files under its data directory, which need not be on this machine. With a
    ``tz`` the API reads the file at once, so a bad one is refused before any backtest starts."""
    if "csv_path" not in spec:
        return spec
    path = "/data/files" + (f"?{urlencode({'tz': spec['tz']})}" if "tz" in spec else "")
    kept = call("POST", path, api_url, csv=Path(spec["csv_path"]).read_bytes(), timeout=300)
    return spec | {"csv_path": kept["csv_path"]}


def _number(text: str) -> int | float:
    """``"5"`` as 5, ``"0.5"`` as 0.5 (ValueError for anything else)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def settings_of(**opts: Any) -> dict[str, Any]:
    """The engine settings given on the command line (unset ones keep the API's defaults)."""
    return {k: v for k, v in opts.items() if v is not None}


# ``--sizing MODE:AMOUNT[:STOP]``: the field each mode's amount goes in.
SIZING_AMOUNTS = {
    "fixed_qty": "qty",
    "fixed_notional": "notional",
    "equity_fraction": "fraction",
    "risk_per_trade": "risk",
}


def sizing_of(text: str | None, units: str | None, fail: Callable[..., NoReturn]) -> dict[str, Any] | None:
    """The sizing object of ``--sizing``, e.g. ``fixed_qty:10`` or ``risk_per_trade:0.01:0.05``
    (risk 1% of equity at a stop 5% away); ``--units`` goes with it. The API checks the numbers."""
    if text is None:
        return None
    mode, _, rest = text.partition(":")
    amount, _, stop = rest.partition(":")
    if mode not in SIZING_AMOUNTS or not amount or bool(stop) != (mode == "risk_per_trade"):
        fail(
            f"--sizing {text!r} must be fixed_qty:QTY, fixed_notional:AMOUNT, equity_fraction:FRACTION "
            "or risk_per_trade:RISK:STOP"
        )
    out: dict[str, Any] = {"mode": mode, SIZING_AMOUNTS[mode]: amount}
    return out | ({"stop": stop} if stop else {}) | ({"units": units} if units else {})


def metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    """The headline metrics as a table."""
    table = Table("metric", "value", title=title)
    for k, v in metrics.items():
        text = (
            str(int(v))
            if k in COUNTS and isinstance(v, int | float)
            else f"{v:.4f}"
            if isinstance(v, float)
            else str(v)
        )
        table.add_row(k, text)
    return table


def write_trades_csv(path: Path, trades: list[dict[str, Any]]) -> None:
    """The trade list as CSV."""
    fields = (
        list(trades[0])
        if trades
        else ["entry_ts", "exit_ts", "side", "size", "entry_price", "exit_price", "pnl"]
    )
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(trades)


def plot(path: Path, bt: dict[str, Any]) -> None:
    """Equity curve and drawdown, with the trades marked, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import UTC, datetime

    import matplotlib.pyplot as plt

    eq = bt["equity"] or {"ts": [], "equity": [], "drawdown": []}
    ts = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in eq["ts"]]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6), height_ratios=[3, 1])
    top.plot(ts, eq["equity"], lw=1, color="tab:blue", label="equity")
    for t in bt["trades"] or []:
        for key, marker, colour in (("entry_ts", "^", "tab:green"), ("exit_ts", "v", "tab:red")):
            when = t.get(key)
            if when is None or not ts:
                continue
            # Trade times are epoch nanoseconds (an ISO string is accepted too).
            at = (
                datetime.fromtimestamp(when / 1e9, tz=UTC)
                if isinstance(when, int | float)
                else datetime.fromisoformat(str(when).replace("Z", "+00:00"))
            )
            # The equity point nearest the trade's time.
            i = min(range(len(ts)), key=lambda j: abs((ts[j] - at).total_seconds()))
            top.scatter([ts[i]], [eq["equity"][i]], marker=marker, color=colour, s=18, zorder=3)
    top.set_ylabel("equity")
    top.set_title(f"{bt['request']['strategy_type']} backtest {bt['id']}")
    bottom.fill_between(ts, eq["drawdown"], 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_here(local: bool, api_url: str | None, console: Console, base_url: Callable[[None], str]) -> bool:
    """Whether to run in this process: asked to, or no API answers at the configured address (an
    address given with --api is never given up on)."""
    if local:
        return True
    if api_url is not None:
        return False
    import httpx

    base = base_url(None).rstrip("/")
    try:
        httpx.get(f"{base}/health", timeout=2.0)
    except httpx.HTTPError:
        console.print(f"[dim]no API answers at {base}: running here (--local)[/dim]")
        return True
    return False


def _kind(name: str, fail: Callable[..., NoReturn]) -> Any:
    """The strategy type ``name`` of this process's registry (built-ins and ASTS_STRATEGY_PATHS)."""
    from asts.registry import current
    from trading.errors import TradingError

    try:
        return current().get(name)
    except TradingError as e:
        fail(str(e))


def local_backtest(body: dict[str, Any], fail: Callable[..., NoReturn], console: Console) -> dict[str, Any]:
    """Run a backtest request body here, answering as ``GET /backtests/{id}`` does."""
    from pydantic import ValidationError

    from activities.opticore_contracts import BacktestRequest
    from activities.opticore_local import run_backtest_locally
    from trading.errors import TradingError

    kind = _kind(body["strategy"], fail)
    missing = [sym for sym in kind.cls.peers if sym not in body.get("peers", {})]
    if missing:
        fail(f"{kind.name} reads {', '.join(missing)} beside its own bars: give it with --peer")
    try:
        req = BacktestRequest(
            backtest_id="local",
            data=body["data"],
            strategy_type=kind.name,
            params=kind.parse_params(body["params"]).model_dump(mode="json"),
            settings=body["settings"],
            peers=body.get("peers", {}),
        )
        named = kind.size_of(body["params"], named_only=True)
        if named is not None and req.settings.sizing is None and req.settings.fraction is None:
            from trading.sizing import choose_sizing

            sized = choose_sizing(named, units=req.settings.units)
            req = req.model_copy(update={"settings": req.settings.model_copy(update={"sizing": sized})})
        with console.status(f"backtesting {kind.name}", spinner="dots"):
            return run_backtest_locally(req)
    except ValidationError as e:
        fail(f"invalid backtest: {_first_error(e)}")
    except TradingError as e:
        fail(str(e))


def local_optimization(
    body: dict[str, Any], fail: Callable[..., NoReturn], console: Console
) -> dict[str, Any]:
    """Run an optimisation request body here, answering as ``GET /optimizations/{id}`` does."""
    from pydantic import ValidationError

    from activities.opticore_contracts import OptimizeRequest
    from activities.opticore_local import run_optimization_locally
    from trading.errors import TradingError

    kind = _kind(body["strategy"], fail)
    unknown = set(body["space"]) - set(kind.cls.params_model.model_fields)
    if unknown:
        fail(f"unknown {kind.name} parameters: {sorted(unknown)}")
    try:
        req = OptimizeRequest(
            optimization_id="local",
            strategy_type=kind.name,
            **{k: v for k, v in body.items() if k != "strategy"},
        )
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        ) as bar:  # fmt: skip
            task = bar.add_task(f"optimising {kind.name}", total=None)
            return run_optimization_locally(
                req, lambda done, total: bar.update(task, completed=done, total=total)
            )
    except ValidationError as e:
        fail(f"invalid optimisation: {_first_error(e)}")
    except (TradingError, ValueError) as e:
        fail(str(e))


def _first_error(e: Any) -> str:
    err = e.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


def add_opticore_commands(
    app: typer.Typer,
    *,
    call: Callable[..., Any],
    pairs: Callable[[list[str], str], dict[str, Any]],
    fail: Callable[..., NoReturn],
    console: Console,
    base_url: Callable[[None], str],
) -> None:
    """Register ``backtest`` and ``optimize`` on the CLI (``base_url(None)``: the API's address)."""

    def wait(path: str, api: str | None, total_key: str | None = None) -> dict[str, Any]:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("running", total=None)
            while True:
                out: dict[str, Any] = call("GET", path, api)
                if total_key and out.get("total"):
                    bar.update(task, total=out["total"], completed=out["done"])
                if out["status"] != "running":
                    return out
                time.sleep(POLL_S)

    @app.command()
    def backtest(
        strategy: Annotated[str, typer.Option("--strategy", help="a strategy type (asts strategy types)")],
        data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
        tz: TzOpt = None,
        symbol: Annotated[str | None, typer.Option(help="a bundled series, e.g. MSFT/USD")] = None,
        from_store: Annotated[
            str | None, typer.Option("--from-store", help="a stored series, EXCHANGE:SYMBOL:TIMEFRAME")
        ] = None,
        last: Annotated[int | None, typer.Option(help="only the last N bars")] = None,
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="parameter key=value")] = None,
        cash: Annotated[float | None, typer.Option(help="starting cash")] = None,
        commission: Annotated[float | None, typer.Option(help="fraction of notional, each side")] = None,
        slippage_bps: Annotated[float | None, typer.Option(help="against the trader")] = None,
        fraction: Annotated[float | None, typer.Option(help="of equity per entry")] = None,
        sizing: Annotated[
            str | None,
            typer.Option(
                help="fixed_qty:QTY, fixed_notional:AMOUNT, equity_fraction:FRACTION or "
                "risk_per_trade:RISK:STOP (default: the strategy's size parameter if given, else "
                "all the equity less the commission)"
            ),
        ] = None,
        units: Annotated[str | None, typer.Option(help="whole or fractional")] = None,
        direction: Annotated[str | None, typer.Option(help="long or long_short")] = None,
        stop_loss: Annotated[float | None, typer.Option(help="fraction from entry")] = None,
        take_profit: Annotated[float | None, typer.Option(help="fraction from entry")] = None,
        trailing: Annotated[
            float | None, typer.Option(help="fraction from the best price since entry")
        ] = None,
        keep_open: Annotated[
            bool, typer.Option("--keep-open", help="report an open position at the end")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="metrics and trades as JSON")] = False,
        csv_path: Annotated[Path | None, typer.Option("--csv", help="write the trade list here")] = None,
        plot_path: Annotated[
            Path | None, typer.Option("--plot", help="write an equity/drawdown PNG here")
        ] = None,
        peer: Annotated[
            list[str] | None,
            typer.Option(
                "--peer",
                help="another symbol's series the strategy reads: SYMBOL (bundled) or SYMBOL=FILE.csv",
            ),
        ] = None,
        local: LocalOpt = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Backtest a strategy with the live strategy code and stated, conservative fill rules."""
        spec = data_spec(data, symbol, last, fail, from_store, tz)
        here = run_here(local, api_url, console, base_url)
        body = {
            "data": spec if here else upload_data(spec, call, api_url),
            "strategy": strategy,
            "params": pairs(param or [], "parameter"),
            "settings": settings_of(
                cash=cash,
                commission=commission,
                slippage_bps=slippage_bps,
                fraction=fraction,
                sizing=sizing_of(sizing, units, fail),
                units=units,
                direction=direction,
                stop_loss=stop_loss,
                take_profit=take_profit,
                trailing=trailing,
                close_at_end=False if keep_open else None,
            ),
        }
        peers: dict[str, Any] = {}
        for item in peer or []:
            sym, _, file = item.partition("=")
            given = data_spec(
                Path(file) if file else None, None if file else sym, None, fail, None, tz if file else None
            )
            peers[sym] = given if here else upload_data(given, call, api_url)
        if peers:
            body["peers"] = peers
        if here:
            bt = local_backtest(body, fail, console)
        else:
            started = call("POST", "/backtests", api_url, body)
            bt = wait(f"/backtests/{started['id']}", api_url)
        if bt["status"] != "done":
            fail(f"backtest {bt['id']} {bt['status']}: {bt['error']}", code=1)
        if csv_path is not None:
            write_trades_csv(csv_path, bt["trades"] or [])
        if plot_path is not None:
            plot(plot_path, bt)
        if as_json:
            print(
                json.dumps(
                    {
                        "id": bt["id"],
                        "metrics": bt["metrics"],
                        "trades": bt["trades"],
                        "conventions": bt["conventions"],
                    }
                )
            )
            return
        console.print(metrics_table(f"backtest {bt['id']}", bt["metrics"] or {}))
        console.print(f"[dim]{bt['conventions']}[/dim]")

    @app.command()
    def optimize(
        strategy: Annotated[str, typer.Option("--strategy", help="a strategy type (asts strategy types)")],
        space: Annotated[list[str], typer.Option("--space", "-s", help="searched parameter name=low:high")],
        data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
        tz: TzOpt = None,
        symbol: Annotated[str | None, typer.Option(help="a bundled series, e.g. MSFT/USD")] = None,
        from_store: Annotated[
            str | None, typer.Option("--from-store", help="a stored series, EXCHANGE:SYMBOL:TIMEFRAME")
        ] = None,
        last: Annotated[int | None, typer.Option(help="only the last N bars")] = None,
        param: Annotated[
            list[str] | None, typer.Option("--param", "-p", help="fixed parameter key=value")
        ] = None,
        constraint: Annotated[
            list[str] | None, typer.Option("--constraint", "-c", help='e.g. "fast < slow"')
        ] = None,
        method: Annotated[
            str, typer.Option(help="grid, random, differential_evolution, lbfgsb, nelder_mead")
        ] = "grid",
        objective: Annotated[
            str, typer.Option(help="sharpe, sortino, calmar, return, return_over_drawdown")
        ] = "sharpe",
        steps: Annotated[int | None, typer.Option(help="grid points per parameter")] = None,
        n: Annotated[int, typer.Option(help="evaluations (random, evolution)")] = 200,
        seed: Annotated[int, typer.Option(help="random seed")] = 0,
        commission: Annotated[float | None, typer.Option(help="fraction of notional, each side")] = None,
        units: Annotated[str | None, typer.Option(help="whole or fractional")] = None,
        walk_forward: Annotated[
            str | None,
            typer.Option("--walk-forward", help="train=BARS,test=BARS[,step=BARS][,anchored=true]"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="the record as JSON")] = False,
        local: LocalOpt = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Search a strategy's parameters, with progress: as a durable workflow through the API, or here."""
        bounds: dict[str, list[float]] = {}
        for item in space:
            name, _, rng = item.partition("=")
            low, _, high = rng.partition(":")
            try:
                # Whole numbers stay ints, so an int parameter is searched on integers.
                bounds[name] = [_number(low), _number(high)]
            except ValueError:
                fail(f"--space {item!r} must look like name=low:high")
        spec = data_spec(data, symbol, last, fail, from_store, tz)
        here = run_here(local, api_url, console, base_url)
        body: dict[str, Any] = {
            "data": spec if here else upload_data(spec, call, api_url),
            "strategy": strategy,
            "fixed": pairs(param or [], "parameter"),
            "space": bounds,
            "constraints": constraint or [],
            "method": method,
            "objective": objective,
            "n": n,
            "seed": seed,
            "settings": settings_of(commission=commission, units=units),
        }
        if steps is not None:
            body["steps"] = steps
        if walk_forward:
            body["walk_forward"] = pairs([p.strip() for p in walk_forward.split(",")], "walk-forward setting")
        if here:
            op = local_optimization(body, fail, console)
        else:
            started = call("POST", "/optimizations", api_url, body)
            op = wait(f"/optimizations/{started['id']}", api_url, total_key="total")
        if op["status"] != "done":
            fail(f"optimisation {op['id']} {op['status']}: {op['error']}", code=1)
        if as_json:
            print(json.dumps(op, default=str))
            return
        if op["best_score"] is not None:  # a walk-forward run has no overall best
            console.print(
                f"optimisation {op['id']}: best {op['best_params']} ({objective} {op['best_score']:.4f})"
            )
            table = Table("params", "score", *SHOWN, title="best results")
            for e in (op["top"] or [])[:10]:
                m = e.get("metrics", {})
                table.add_row(
                    json.dumps(e["params"]), f"{e['score']:.4f}", *(f"{m.get(k, 0):.4f}" for k in SHOWN)
                )
            console.print(table)
            if here:
                given = " ".join(
                    f"-p {k}={json.dumps(v)}" for k, v in {**body["fixed"], **op["best_params"]}.items()
                )
                console.print(f"trade it: asts strategy start --type {strategy} {given} ...")
            else:
                console.print(f"trade it: asts strategy start --type {strategy} --params-from {op['id']} ...")
        if op["walk_forward"]:
            wf = Table(
                "train",
                "test",
                "best params",
                "in-sample",
                "out-of-sample return",
                "oos sharpe",
                title="walk-forward",
            )
            for r in op["walk_forward"]:
                oos = r["out_of_sample"]
                wf.add_row(
                    str(r["train"]),
                    str(r["test"]),
                    json.dumps(r["best_params"]),
                    f"{r['in_sample_score']:.4f}",
                    f"{oos.get('total_return', 0):.4f}",
                    f"{oos.get('sharpe', 0):.4f}",
                )
            console.print(wf)
