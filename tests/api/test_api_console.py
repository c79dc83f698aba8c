"""What the console reads and does through the API: the change stream, /info, fills, stopping a
strategy, the lists of backtests and optimisations, progress and cancelling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.opticore_contracts import BacktestProgress
from tests.api.live import api_client, bearer, poll, serve_api, sign_in, start_strategy
from workflows.backtest import BacktestWorkflow

MSFT = {"symbol": "MSFT/USD", "last": 300}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A served API whose streams re-check their token every half second."""
    home = tmp_path_factory.mktemp("console-api")
    async with serve_api(dev_env, home, stream_recheck_s=0.5, stream_interval_s=0.2, max_streams=3) as url:
        yield url


class Events:
    """The frames of one ``GET /stream``, read as they come (a background task)."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
        self.http = http
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.frames: list[dict[str, Any]] = []
        self.comments = 0
        self.status = 0
        self.ended = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            async with self.http.stream("GET", "/stream", headers=self.headers, timeout=None) as r:
                self.status = r.status_code
                frame: dict[str, Any] = {}
                async for line in r.aiter_lines():
                    if line.startswith(":"):
                        self.comments += 1
                    elif not line:
                        if "event" in frame:
                            self.frames.append(frame)
                        frame = {}
                    else:
                        name, _, value = line.partition(": ")
                        frame[name] = json.loads(value) if name == "data" else value
        finally:
            self.ended.set()

    async def __aenter__(self) -> Events:
        self.task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def changes(self, topic: str, strategy_id: str | None = None) -> list[dict[str, Any]]:
        """The change frames of ``topic`` (of one strategy)."""
        return [
            f
            for f in self.frames
            if f["event"] == "change"
            and f["data"]["topic"] == topic
            and (strategy_id is None or f["data"]["strategy_id"] == strategy_id)
        ]

    async def wait_for(self, topic: str, strategy_id: str | None = None, timeout: float = 30) -> list[Any]:
        async def seen() -> list[dict[str, Any]]:
            return self.changes(topic, strategy_id)

        return await poll(seen, f"a {topic} change on the stream", timeout)


async def test_the_stream_tells_what_changed_and_resumes_after_the_last_event(
    http: httpx.AsyncClient, api_url: str
) -> None:
    viewer = api_client(api_url, "viewer")
    async with viewer, Events(viewer) as events:
        await poll(lambda: _ready(events), "the stream to open")
        assert events.status == 200
        sid = await start_strategy(http)
        orders = await events.wait_for("orders", sid)
        await events.wait_for("fills", sid)
        await events.wait_for("decisions", sid)
        await events.wait_for("pnl", sid)
        await events.wait_for("strategies", sid)
        assert orders[0]["data"]["ref"].startswith(sid)  # the client order id, to read again
        ids = [f["id"] for f in events.frames]
        epoch = ids[0].split(".")[0]
        numbers = [int(i.split(".")[1]) for i in ids]
        assert all(i.split(".")[0] == epoch for i in ids) and numbers == sorted(numbers)
        # What the API answers for the change named is there to read.
        r = await viewer.get("/orders", params={"strategy_id": sid})
        assert orders[0]["data"]["ref"] in {o["client_order_id"] for o in r.json()["data"]}
        # The strategy's events keep coming; a second listener resumes after the first's third.
        await poll(lambda: _at_least(events, 6), "six events")
        first_six = [f["id"] for f in events.frames[:6]]
        async with Events(viewer, {"Last-Event-ID": first_six[2]}) as again:
            await poll(lambda: _at_least(again, 3), "the missed events")
        assert [f["id"] for f in again.frames[:3]] == first_six[3:]
        assert again.frames[:3] == events.frames[3:6]
        assert (await http.post(f"/strategies/{sid}/stop", json={})).status_code == 200


async def _ready(events: Events) -> bool:
    return events.status != 0


async def _at_least(events: Events, n: int) -> bool:
    return len(events.frames) >= n


@pytest.mark.parametrize("last", ["0000.5", "garbage", "9.9.9"])
async def test_an_unknown_last_event_id_means_read_everything_again(
    http: httpx.AsyncClient, last: str
) -> None:
    async with Events(http, {"Last-Event-ID": last}) as events:
        await poll(lambda: _at_least(events, 1), "the reset")
    assert events.frames[0]["event"] == "reset"


async def test_the_stream_needs_a_token_and_ends_with_the_session(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as anon:
        r = await anon.get("/stream")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    signed = await sign_in(api_url, "viewer1")
    async with httpx.AsyncClient(base_url=api_url, headers=bearer(str(signed["access_token"]))) as mine:
        async with Events(mine) as events:
            await poll(lambda: _ready(events), "the stream to open")
            assert (await mine.post("/auth/logout", json={})).status_code == 204
            await asyncio.wait_for(events.ended.wait(), 10)  # the next re-check ends it
        assert events.status == 200


async def test_streams_per_process_are_bounded(http: httpx.AsyncClient, api_url: str) -> None:
    clients = [api_client(api_url, "viewer") for _ in range(3)]
    listeners = [Events(c) for c in clients]
    try:
        for e in listeners:
            await e.__aenter__()
        await poll(lambda: _all_ready(listeners), "three streams")
        r = await http.get("/stream")
        assert r.status_code == 503 and "3 streams at most" in r.json()["detail"]
        assert r.headers["retry-after"] == "10"
    finally:
        for e in listeners:
            await e.__aexit__()
        for c in clients:
            await c.aclose()


async def _all_ready(listeners: list[Events]) -> bool:
    return all(e.status == 200 for e in listeners)


async def test_info_names_the_web_ui_and_the_rules(http: httpx.AsyncClient, api_url: str) -> None:
    async with api_client(api_url, "viewer") as viewer:
        info = (await viewer.get("/info")).json()
    assert info["temporal_ui"].startswith("http://127.0.0.1:") and info["namespace"] == "default"
    assert info["four_eyes"] is True and info["version"]


async def test_fills_are_listed_newest_first(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)

    async def two_fills() -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = (await http.get("/fills", params={"strategy_id": sid})).json()["data"]
        return data if len(data) >= 2 else []

    fills = await poll(two_fills, "two fills")
    assert [f["ts"] for f in fills] == sorted((f["ts"] for f in fills), reverse=True)
    assert all(f["strategy_id"] == sid and f["client_order_id"].startswith(sid) for f in fills)
    assert isinstance(fills[0]["price"], str)  # money as decimal strings
    one = (await http.get("/fills", params={"strategy_id": sid, "limit": 1, "offset": 1})).json()["data"]
    assert one == [fills[1]]
    await http.post(f"/strategies/{sid}/stop", json={})


async def test_a_stopped_strategy_ends_and_cannot_be_resumed(http: httpx.AsyncClient, api_url: str) -> None:
    sid = await start_strategy(http)
    async with api_client(api_url, "trader") as trader:
        r = await trader.post(f"/strategies/{sid}/stop", json={})
        assert r.status_code == 403 and "started by admin" in r.json()["detail"]
    async with api_client(api_url, "viewer") as viewer:
        assert (await viewer.post(f"/strategies/{sid}/stop", json={})).status_code == 403
    r = await http.post(f"/strategies/{sid}/stop", json={"reason": "retired"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stopped"

    async def stored_stopped() -> bool:
        row = (await http.get(f"/strategies/{sid}")).json()
        return bool(row["status"] == "stopped")

    await poll(stored_stopped, "the stored status to say stopped")
    again = await http.post(f"/strategies/{sid}/resume", json={})
    assert again.status_code == 409, again.text


async def test_backtests_and_optimisations_are_listed_with_progress(
    http: httpx.AsyncClient, api_url: str, dev_env: WorkflowEnvironment
) -> None:
    bt = (await http.post("/backtests", json={"data": MSFT, "strategy": "sma_cross"})).json()["id"]
    async with api_client(api_url, "trader") as trader:
        mine = await trader.post("/backtests", json={"data": MSFT, "strategy": "sma_cross"})
        assert mine.status_code == 202, mine.text
    op_body = {"data": MSFT, "strategy": "sma_cross", "space": {"fast": [2, 6], "slow": [10, 14]}}
    op = (await http.post("/optimizations", json=op_body)).json()["id"]

    async def finished(path: str) -> dict[str, Any] | None:
        out: dict[str, Any] = (await http.get(path)).json()
        return out if out["status"] != "running" else None

    done = await poll(lambda: finished(f"/backtests/{bt}"), "the backtest")
    assert done["progress"] == {"done": 1, "total": 1}
    handle = dev_env.client.get_workflow_handle(done["workflow_id"])
    assert await handle.query(BacktestWorkflow.progress) == BacktestProgress(done=1, total=1)
    opt = await poll(lambda: finished(f"/optimizations/{op}"), "the search", timeout=60)
    assert opt["progress"]["done"] == opt["progress"]["total"] == opt["total"] > 0
    listed = (await http.get("/backtests", params={"limit": 2})).json()["data"]
    assert [b["id"] for b in listed][1] == bt and len(listed) == 2  # newest first
    assert "trades" not in listed[1] and "equity" not in listed[1] and listed[1]["metrics"]
    assert listed[0]["created_by"] == "trader1"
    only = (await http.get("/backtests", params={"created_by": "trader1"})).json()["data"]
    assert {b["created_by"] for b in only} == {"trader1"}
    ops = (await http.get("/optimizations")).json()["data"]
    assert ops[0]["id"] == op and "top" not in ops[0] and ops[0]["progress"] == opt["progress"]
    # Cancelling what has finished leaves it as it is.
    c = await http.delete(f"/backtests/{bt}")
    assert c.status_code == 202 and c.json()["status"] == "finished"
    assert (await http.get(f"/backtests/{bt}")).json()["status"] == "done"
    assert (await http.delete("/backtests/nope")).status_code == 404
    async with api_client(api_url, "viewer") as viewer:
        assert (await viewer.delete(f"/backtests/{bt}")).status_code == 403


async def test_a_running_backtest_is_cancelled(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    # No worker: the backtest waits for one, so it is still running when cancelled; a worker
    # that comes later finds the cancel first and records it.
    async with serve_api(dev_env, tmp_path / "a", worker=False) as url, api_client(url) as http:
        bt = (await http.post("/backtests", json={"data": MSFT, "strategy": "sma_cross"})).json()
        started = asyncio.get_running_loop().time()
        waiting = (await http.get(f"/backtests/{bt['id']}")).json()  # no worker answers the query
        assert waiting["status"] == "running" and waiting["progress"] == {"done": 0, "total": 1}
        assert asyncio.get_running_loop().time() - started < 5  # the stored progress, soon
        c = await http.delete(f"/backtests/{bt['id']}")
        assert c.status_code == 202 and c.json()["status"] == "cancelling"
        handle = dev_env.client.get_workflow_handle(bt["workflow_id"])
        history = await handle.fetch_history()
        assert any(e.HasField("workflow_execution_cancel_requested_event_attributes") for e in history.events)


async def test_a_caller_reads_its_own_writes_through_the_kept_answers(http: httpx.AsyncClient) -> None:
    before = (await http.get("/strategies")).json()["data"]
    again = (await http.get("/strategies")).json()["data"]  # the same answer, kept
    assert again == before
    sid = await start_strategy(http)  # a mutation through this process drops the kept answers
    after = (await http.get("/strategies")).json()["data"]
    assert sid in {s["id"] for s in after} and len(after) == len(before) + 1
    await http.post(f"/strategies/{sid}/stop", json={})
    stopped = (await http.get("/strategies")).json()["data"]
    assert next(s for s in stopped if s["id"] == sid)["status"] == "stopped"  # the gate changed first
