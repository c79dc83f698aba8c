"""`asts strategy types|check|new|upgrade`: the strategy SDK from the command line.

``check`` and ``new`` work locally (no stack needed): ``check`` loads a strategy file (or a
loaded type) and runs the look-ahead and recursion checks and a backtest on the bundled
series; ``new`` writes a documented strategy file and its test. ``types`` and ``upgrade`` go
through the API. Built by ``add_sdk_commands`` with the CLI's helpers (never imports ``worker.cli``).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from worker.cli_common import Call, Fail, parse_pairs

if TYPE_CHECKING:
    from asts.registry import StrategyType

ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or "Strategy"


def write_strategy(name: str, directory: Path) -> tuple[Path, Path]:
    """Write ``<directory>/<name>.py`` and ``<directory>/test_<name>.py`` from the templates."""
    from importlib.resources import files

    if not NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(
            f"strategy name {name!r} must be lower_snake_case: a-z, 0-9 and _, starting with a letter"
        )
    directory.mkdir(parents=True, exist_ok=True)
    target, test = directory / f"{name}.py", directory / f"test_{name}.py"
    for f in (target, test):
        if f.exists():
            raise FileExistsError(f"{f} exists already; pick another name or remove it")
    values = {
        "name": name,
        "cls": _camel(name),
        "title": name.replace("_", " ").capitalize(),
        "file": target,
        "file_name": target.name,
        "test_file": test,
        "dir": directory,
    }
    templates = files("asts") / "templates"
    target.write_text((templates / "strategy.py.txt").read_text().format(**values))
    test.write_text((templates / "test_strategy.py.txt").read_text().format(**values))
    return target, test


def _resolve(what: str, fail: Fail) -> StrategyType:
    """A strategy file's one type, or a loaded type by name."""
    from asts.registry import StrategyLoadError, current, load_file

    path = Path(what)
    try:
        if what.endswith(".py") or path.exists():
            found = load_file(path)
            if len(found) != 1:
                names = ", ".join(t.name for t in found)
                fail(f"{what} defines {len(found)} strategies ({names}); check them one by one by name")
            return found[0]
        return current().get(what)
    except StrategyLoadError as e:
        fail(f"refused: {e}")
    except Exception as e:
        fail(str(e))


def add_sdk_commands(strategy_app: typer.Typer, *, call: Call, fail: Fail, console: Console) -> None:
    """Add the SDK commands to ``asts strategy``."""

    @strategy_app.command("types")
    def types(api_url: ApiOpt = None) -> None:
        """The strategy types the API loaded: name, source, code version, parameters."""
        out = call("GET", "/strategy-types", api_url=api_url)
        table = Table("type", "source", "version", "warm-up", "parameters", "description")
        for t in out["data"]:
            params = ", ".join(f"{k}={v}" for k, v in t["defaults"].items())
            table.add_row(
                t["name"],
                t["source"],
                t["code_version"],
                str(t["warmup"]),
                escape(params),
                escape(t["description"]),
            )
        console.print(table)

    @strategy_app.command("check")
    def check(
        what: Annotated[str, typer.Argument(help="a strategy file, or a loaded type's name")],
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="parameter key=value")] = None,
    ) -> None:
        """Run the look-ahead and recursion checks and a backtest on the bundled series (refused: exit 2)."""
        from asts.checks import check_series, run_checks
        from asts.engine import backtest
        from trading.errors import TradingError

        kind = _resolve(what, fail)
        raw = parse_pairs(param or [], "parameter", fail)
        try:
            p = kind.parse_params(raw)
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"checking {kind.name}", total=None)
                found = run_checks(
                    kind.cls, p, progress=lambda done, total: bar.update(task, completed=done, total=total)
                )
            if found is not None:
                fail(f"{kind.name} refused: {found}")
            result = backtest(kind, check_series(), raw)
        except TradingError as e:
            fail(f"{kind.name}: {e}")
        m = result.metrics
        console.print(
            f"[green]{kind.name} passes[/green] the look-ahead and recursion checks "
            f"({kind.version}, {escape(kind.origin)})"
        )
        console.print(
            f"  backtest on the bundled series: {m.trades} trades, return {m.total_return:+.2%}, "
            f"max drawdown {m.max_drawdown:.2%}"
        )

    @strategy_app.command("new")
    def new(
        name: Annotated[str, typer.Argument(help="the strategy type's name, lower_snake_case")],
        directory: Annotated[Path, typer.Option("--dir", help="where to write it")] = Path("strategies"),
    ) -> None:
        """Write a documented strategy file and its test (checks and a backtest), ready to edit."""
        try:
            target, test = write_strategy(name, directory)
        except (ValueError, OSError) as e:
            fail(str(e))
        console.print(f"wrote {target} and {test}")
        console.print(f"  check it:  asts strategy check {target}")
        console.print(f"  test it:   pytest {test}")
        console.print(f"  trade it:  ASTS_STRATEGY_PATHS={directory} asts up")

    @strategy_app.command("upgrade")
    def upgrade(strategy_id: str, api_url: ApiOpt = None) -> None:
        """Move a running strategy onto its type's current code version (its owner only)."""
        out = call("POST", f"/strategies/{strategy_id}/upgrade", api_url=api_url)
        if out["changed"]:
            console.print(f"{strategy_id}: {out['from_version'] or 'unversioned'} -> {out['to_version']}")
        else:
            console.print(f"{strategy_id} already runs {out['to_version']}")
