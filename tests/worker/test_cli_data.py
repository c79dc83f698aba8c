"""`asts data` as a user runs it: real processes, a real store, the real API, Temporal server and worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.deps import Deps
from exchanges.data import DATA_DIR
from store import repo
from store.db import make_engine, make_sessionmaker, sqlite_url
from tests.api.live import api_client
from tests.conftest import running_worker
from tests.worker.test_cli_news import asts
from worker.cli import app

MSFT = DATA_DIR / "MSFT-USD-1d.csv"
SPX = DATA_DIR / "SPX-USD-1d.csv"


async def count(home: Path, exchange: str, symbol: str, timeframe: str = "1d") -> int:
    """Bars of a series in the store under ``home``."""
    engine = make_engine(sqlite_url(home / "asts.db"))
    try:
        async with make_sessionmaker(engine)() as s:
            return await repo.count_candles(s, exchange=exchange, symbol=symbol, timeframe=timeframe)
    finally:
        await engine.dispose()


def broken(tmp_path: Path) -> Path:
    """MSFT's first 60 bars with line 41 (bar 40) giving a high below its low."""
    lines = MSFT.read_text().splitlines()[:61]
    ts, o, _, lo, c, v = lines[40].split(",")
    lines[40] = ",".join([ts, o, str(float(lo) - 1), lo, c, v])
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_import_stores_a_good_file_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ("data", "import", str(MSFT), "--symbol", "MSFT/USD", "--timeframe", "1d", "--home", str(home))
    first = await asts(*args)
    assert first.code == 0, first.err
    assert "imported MSFT-USD-1d.csv: 3000 bars, new 3000, already stored 0" in first.out
    assert "csv MSFT/USD 1d: 3000 bars from 2005-12-13T00:00:00Z" in first.out
    again = await asts(*args)
    assert again.code == 0, again.err
    assert "new 0, already stored 3000" in again.out
    assert await count(home, "csv", "MSFT/USD") == 3000


async def test_a_bad_row_exits_2_naming_the_line_and_stores_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ("--symbol", "MSFT/USD", "--timeframe", "1d", "--home", str(home))
    run = await asts("data", "import", str(broken(tmp_path)), *args)
    assert run.code == 2, run
    assert "error: broken.csv line 41: high" in run.err and "is below low" in run.err
    assert await count(home, "csv", "MSFT/USD") == 0
    misaligned = await asts(
        "data", "import", str(MSFT), "--symbol", "MSFT/USD", "--timeframe", "1w", "--home", str(home)
    )
    assert (
        misaligned.code == 2
        and "MSFT-USD-1d.csv line 2: ts 2005-12-13T00:00:00Z is not the open" in misaligned.err
    )
    assert await count(home, "csv", "MSFT/USD", "1w") == 0


async def test_import_of_dates_without_a_zone_needs_tz_utc(tmp_path: Path) -> None:
    home, naive = tmp_path / "home", tmp_path / "naive.csv"
    rows = MSFT.read_text().splitlines()[1:31]
    naive.write_text("Date,Open,High,Low,Close,Volume\n" + "".join(f"{r[:10]}{r[20:]}\n" for r in rows))
    args = ("data", "import", str(naive), "--symbol", "MSFT/USD", "--timeframe", "1d", "--home", str(home))
    refused = await asts(*args)
    assert refused.code == 2 and "naive.csv line 2: ts '2005-12-13' has no zone" in refused.err
    assert "--tz UTC" in refused.err and await count(home, "csv", "MSFT/USD") == 0
    run = await asts(*args, "--tz", "UTC")
    assert run.code == 0, run.err
    assert "30 bars, new 30" in run.out and "from 2005-12-13T00:00:00Z" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "import", "does/not/exist.csv", "--symbol", "X/USD", "--timeframe", "1d"], "no such file"),
        (["data", "import", str(MSFT), "--symbol", "X/USD", "--timeframe", "1 day"], "timeframe '1 day'"),
        (["data", "backfill", "--exchange", "paper"], "give all of --exchange, --symbol and --timeframe"),
        (
            [
                "data",
                "backfill",
                "--exchange",
                "paper",
                "--symbol",
                "X/USD",
                "--timeframe",
                "1d",
                "--since",
                "soon",
            ],
            "--since 'soon' is not a date",
        ),
        (
            [
                "data",
                "download",
                "--exchange",
                "paper",
                "--symbol",
                "X/USD",
                "--timeframe",
                "1d",
                "--page",
                "0",
            ],
            "page",
        ),
        (
            ["backtest", "--strategy", "sma_cross", "--from-store", "paper:MSFT/USD"],
            "EXCHANGE:SYMBOL:TIMEFRAME",
        ),
        (
            ["backtest", "--strategy", "sma_cross", "--symbol", "MSFT/USD", "--from-store", "a:B/C:1d"],
            "exactly one",
        ),
    ],
)
def test_bad_input_exits_2_before_doing_anything(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*args, "--home", str(tmp_path)] if "import" in args else args)
    assert result.exit_code == 2 and message in result.output, result.output


async def test_download_from_the_paper_venue_resumes_from_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = (
        "data",
        "download",
        "--exchange",
        "paper",
        "--symbol",
        "SPX/USD",
        "--timeframe",
        "1d",
        "--since",
        "2007-01-01",
        "--page",
        "64",
        "--home",
        str(home),
    )
    first = await asts(*args)
    assert first.code == 0, first.err
    stored = await count(home, "paper", "SPX/USD")
    assert stored >= 200 and f"│ {stored}" in first.out and "2007-02-01T00:00:00Z" in first.out
    second = await asts(*args)
    assert second.code == 0, second.err
    after = await count(home, "paper", "SPX/USD")
    row = next(line for line in second.out.splitlines() if "SPX/USD" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[3:6] == [str(after - stored), "0", str(after)]  # new, duplicates, stored
    unknown = await asts(
        "data",
        "download",
        "--exchange",
        "paper",
        "--symbol",
        "NOPE/USD",
        "--timeframe",
        "1d",
        "--home",
        str(home),
    )
    assert unknown.code == 2 and "does not list 'NOPE/USD'" in unknown.err


async def test_backfill_runs_the_workflow_and_prints_each_series(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    address = dev_env.client.service_client.config.target_host
    async with running_worker(dev_env.client, deps) as tq:
        common = ("--timeframe", "1d", "--temporal", address, "--task-queue", tq)
        ok = await asts("data", "backfill", "--exchange", "paper", "--symbol", "GOOGL/USD", *common)
        assert ok.code == 0, ok.err
        async with deps.sessions() as s:
            stored = await repo.count_candles(s, exchange="paper", symbol="GOOGL/USD", timeframe="1d")
        assert stored >= 200 and f"new {stored}, series with gaps 1, failed 0" in ok.out
        bad = await asts("data", "backfill", "--exchange", "paper", "--symbol", "NOPE/USD", *common)
    assert bad.code == 1 and "FAILED" in bad.out and "UnknownSymbol" in bad.out and "failed 1" in bad.out


async def test_status_gaps_and_a_backtest_from_the_store_through_the_api(api_url: str) -> None:
    async with api_client(api_url, timeout=30) as http:
        params = {"exchange": "csv", "symbol": "CLI/USD", "timeframe": "1d"}
        r = await http.post("/data/import", params=params, content=SPX.read_bytes())
        assert r.status_code == 201, r.text
        gap_count = r.json()["gap_count"]
    status = await asts("data", "status", "--exchange", "csv", "--api", api_url)
    assert status.code == 0, status.err
    row = next(line for line in status.out.splitlines() if "CLI/USD" in line)
    assert "2007-02-01T00:00:00Z" in row and "3000" in row and f"{gap_count} (" in row
    gaps = await asts(
        "data",
        "gaps",
        "--exchange",
        "csv",
        "--symbol",
        "CLI/USD",
        "--timeframe",
        "1d",
        "--limit",
        "5",
        "--api",
        api_url,
    )
    assert gaps.code == 0 and f"{gap_count} gap(s)" in gaps.out
    assert len([line for line in gaps.out.splitlines() if line.startswith("│ 20")]) == 5

    common = (
        "backtest",
        "--strategy",
        "sma_cross",
        "-p",
        "fast=5",
        "-p",
        "slow=20",
        "--last",
        "700",
        "--json",
    )
    from_store = await asts(*common, "--from-store", "csv:CLI/USD:1d", "--api", api_url)
    from_csv = await asts(*common, "--data", str(SPX), "--api", api_url)
    assert from_store.code == 0 and from_csv.code == 0, (from_store.err, from_csv.err)
    a, b = json.loads(from_store.out), json.loads(from_csv.out)
    assert a["metrics"] == b["metrics"] and a["trades"] == b["trades"] and a["metrics"]["trades"] > 0
