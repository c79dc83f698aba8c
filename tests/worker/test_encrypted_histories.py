"""What the Temporal server stores: with the codec, no strategy parameter, decision rationale, PnL
figure or failure message in clear; without it, all of them (so the check can fail).

Each run is a real dev server with its SQLite file in a fresh directory, the project's
worker, and the project's backtest and analysis workflows; the file's raw bytes are
searched once the server has stopped.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.contracts import AnalyzeRequest
from activities.deps import Deps
from activities.opticore_contracts import BacktestRequest, DataSpec
from tests.conftest import running_worker
from tests.encryption import TEST_CONVERTER
from worker.launcher import dev_server_args
from workflows.analyze import AnalyzeWorkflow
from workflows.backtest import BacktestWorkflow

BIN = Path(sys.executable).parent
SIZE = "7.3141592653"  # a strategy parameter nobody else would write


async def _run(converter: DataConverter, directory: Path, deps: Deps) -> tuple[bytes, list[str]]:
    """Run a backtest, an analysis and a failing backtest; the server's files' bytes and the markers."""
    directory.mkdir()
    db = directory / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_database_filename=str(db),
        dev_server_extra_args=dev_server_args(),
        dev_server_log_level="error",
        data_converter=converter,
        ui=False,
    )
    tag = uuid.uuid4().hex[:8]
    unknown = f"CODEC{tag.upper()}/USD"
    try:
        async with running_worker(env.client, deps) as tq:
            summary = await env.client.execute_workflow(
                BacktestWorkflow.run,
                BacktestRequest(
                    backtest_id=f"bt-{tag}",
                    data=DataSpec(symbol="MSFT/USD"),
                    strategy_type="sma_cross",
                    params={"fast": 3, "slow": 11, "size": SIZE},
                ),
                id=f"enc-bt-{tag}",
                task_queue=tq,
            )
            decision = await env.client.execute_workflow(
                AnalyzeWorkflow.run,
                AnalyzeRequest(
                    analysis_id=f"an-{tag}", symbol="MSFT/USD", as_of=datetime(2017, 6, 1, tzinfo=UTC)
                ),
                id=f"enc-an-{tag}",
                task_queue=tq,
            )
            with pytest.raises(WorkflowFailureError) as failed:
                await env.client.execute_workflow(
                    BacktestWorkflow.run,
                    BacktestRequest(
                        backtest_id=f"bad-{tag}", data=DataSpec(symbol=unknown), strategy_type="sma_cross"
                    ),
                    id=f"enc-bad-{tag}",
                    task_queue=tq,
                )
    finally:
        await env.shutdown()
    # What the client read back is whole: the codec is transparent to the code.
    assert summary.metrics["final_equity"] > 0 and decision.rationale
    reason = str(failed.value.cause)
    assert unknown in reason
    markers = [
        f'"size":"{SIZE}"',  # the strategy parameter, as the input holds it
        json.dumps(decision.rationale, ensure_ascii=False)[
            1:-1
        ],  # the decision's rationale, as JSON holds it
        repr(summary.metrics["final_equity"]),  # the backtest's PnL figure
        reason,  # the failure's message (the input holds the symbol alone)
    ]
    raw = b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(db.name))
    return raw, markers


async def test_the_server_s_database_holds_no_payload_or_failure_message_in_clear(
    deps: Deps, tmp_path: Path
) -> None:
    encrypted, markers = await _run(TEST_CONVERTER, tmp_path / "encrypted", deps)
    assert b"binary/encrypted" in encrypted
    assert [m for m in markers if m.encode() in encrypted] == []
    plain, markers = await _run(pydantic_data_converter, tmp_path / "plain", deps)
    assert [m for m in markers if m.encode() not in plain] == []
