"""`asts news` as a user runs it: a real process, the real API, the real Temporal server and worker."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.deps import Deps
from store import repo
from tests.api.live import TOKENS, token_for
from tests.api.test_api_news import SAMPLE_ITEMS, serve_news_api
from tests.conftest import running_worker
from tests.encryption import TEST_CODEC_ENV
from tests.worker.test_cli import Run
from worker.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_XML = ROOT / "data" / "news" / "sample.xml"


async def asts(*args: str) -> Run:
    """Run ``python -m worker.cli ARGS`` without blocking the loop that serves the API and the worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASTS_", "FORCE_COLOR", "TEMPORAL_"))}
    env.update(NO_COLOR="1", COLUMNS="250", **TEST_CODEC_ENV)  # the payload keys of the tests' workers
    if "--api" in args and (api := args[args.index("--api") + 1].rstrip("/")) in TOKENS:
        env["ASTS_API_TOKEN"] = token_for(api)  # signed in as the served API's admin
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def news_api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with serve_news_api(dev_env, tmp_path_factory.mktemp("news-cli")) as url:
        yield url


async def test_news_lists_items_about_a_symbol(news_api: str) -> None:
    run = await asts("news", "--symbol", "GOOGL/USD", "--limit", "50", "--api", news_api)
    assert run.code == 0, run.err
    assert "Alphabet faces new lawsuit over advertising practices" in run.out
    assert "Euro climbs" not in run.out and "Microsoft shares tumble" not in run.out
    assert "7 item(s)" in run.out
    everything = await asts("news", "--limit", "100", "--api", news_api)
    assert f"{SAMPLE_ITEMS} item(s)" in everything.out


async def test_news_with_a_bad_parameter_exits_2_with_the_reason(news_api: str) -> None:
    run = await asts("news", "--limit", "0", "--api", news_api)
    assert run.code == 2 and "422" in run.err and "limit" in run.err


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ("does/not/exist.xml", "no such feed file"),
        ("ftp://example.com/feed.xml", "only http:// and https://"),
    ],
)
async def test_ingest_refuses_a_bad_feed_before_reaching_temporal(feed: str, message: str) -> None:
    run = await asts("news", "ingest", "--feed", feed, "--temporal", "127.0.0.1:1")
    assert run.code == 2 and message in run.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed", "does/not/exist.xml"], "no such feed file"),
        (["--feed", "ftp://example.com/f"], "only http:// and https://"),
        (["--feed", str(SAMPLE_XML), "--timeout", "0"], "--timeout must be positive"),
    ],
)
def test_ingest_input_is_checked_in_process(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["news", "ingest", *args, "--temporal", "127.0.0.1:1"])
    assert result.exit_code == 2 and message in result.output


async def test_ingest_runs_the_workflow_and_prints_the_counts(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    address = dev_env.client.service_client.config.target_host
    async with running_worker(dev_env.client, deps) as tq:
        args = ("news", "ingest", "--feed", str(SAMPLE_XML), "--temporal", address, "--task-queue", tq)
        first = await asts(*args)
        assert first.code == 0, first.err
        assert "new 15, duplicates 0, failed feeds 0" in first.out
        second = await asts(*args, "--feed", str(ROOT / "data" / "news" / "sample.json"))
        assert second.code == 0, second.err
        assert "new 9, duplicates 16, failed feeds 0" in second.out
    async with deps.sessions() as s:
        assert len(await repo.list_news(s, limit=1000)) == SAMPLE_ITEMS


async def test_ingest_exits_1_when_a_feed_fails(
    dev_env: WorkflowEnvironment, deps: Deps, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_text("not a feed at all")
    address = dev_env.client.service_client.config.target_host
    async with running_worker(dev_env.client, deps) as tq:
        run = await asts("news", "ingest", "--feed", str(junk), "--temporal", address, "--task-queue", tq)
    assert run.code == 1, run
    assert "FAILED" in run.out and "not valid RSS or Atom" in run.out and "failed feeds 1" in run.out


async def test_ingest_without_a_worker_gives_up_with_exit_1(dev_env: WorkflowEnvironment) -> None:
    address = dev_env.client.service_client.config.target_host
    args = ("--temporal", address, "--task-queue", "nobody-polls", "--timeout", "2")
    run = await asts("news", "ingest", "--feed", str(SAMPLE_XML), *args)
    assert run.code == 1, run
    assert "ingest run failed" in run.err and "nobody-polls" in run.err
