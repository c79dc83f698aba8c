"""The kill switch over real HTTP: POST /halt, POST /resume, GET /neurohub, the audit trail."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from store.db import make_engine, make_sessionmaker, sqlite_url
from store.models import HubGateRow
from tests.api.live import api_client, live_cycles, poll, serve_api, start_strategy


@pytest.fixture
async def http(api_url: str) -> httpx.AsyncClient:
    async with api_client(api_url, timeout=60) as client:
        yield client  # type: ignore[misc]


@pytest.fixture
async def risk(api_url: str) -> httpx.AsyncClient:
    async with api_client(api_url, "risk", timeout=60) as client:
        yield client  # type: ignore[misc]


async def test_kill_switch_halts_every_strategy_acknowledged_and_audited(
    http: httpx.AsyncClient, risk: httpx.AsyncClient
) -> None:
    ids = [await start_strategy(http) for _ in range(3)]

    async def registered() -> bool:
        hub = (await http.get("/neurohub")).json()
        cycles = [await live_cycles(http, sid) for sid in ids]
        return {e["strategy_id"] for e in hub["strategies"]} >= set(ids) and min(cycles) >= 1

    await poll(registered, "strategies registered with NeuroHub and cycling")
    asked = datetime.now().astimezone()
    r = await risk.post("/halt", json={"reason": "desk kill", "wait": "all", "ack_timeout": "20s"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "halted" and out["unacknowledged_strategies"] == []
    assert (
        asked <= datetime.fromisoformat(out["gate_changed_at"]) <= datetime.fromisoformat(out["answered_at"])
    )
    acks = {a["strategy_id"]: a for a in out["strategies"]}
    assert set(ids) <= set(acks) and all(acks[s]["state"] == "acked" for s in ids)
    assert 0 <= out["gate_latency_ms"] < 5000

    hub = (await http.get("/neurohub")).json()
    assert (hub["state"], hub["reason"], hub["actor"]) == ("halted", "desk kill", "risk1")
    events = (await http.get("/events", params={"kind": "kill_switch"})).json()["data"]
    assert [(e["reason"], e["data"]["actor"]) for e in events] == [("desk kill", "risk1")]
    for sid in ids:
        assert (await http.get(f"/strategies/{sid}")).json()["live"]["hub_state"] == "halted"

    orders_at_halt = len((await http.get("/orders")).json()["data"])
    r = await risk.post("/resume", json={"reason": "all clear", "wait": "all"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"
    assert (await http.get("/neurohub")).json()["state"] == "active"
    cycles = {sid: await live_cycles(http, sid) for sid in ids}

    async def cycling() -> bool:
        now = {sid: await live_cycles(http, sid) for sid in ids}
        return all(now[sid] > cycles[sid] for sid in ids)

    await poll(cycling, "cycles after the resume")
    assert len((await http.get("/orders")).json()["data"]) >= orders_at_halt


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x", "wait": "forever"}, "wait"),
        ({"reason": "x", "ack_timeout": "soon"}, "ack_timeout"),
        ({"reason": "x", "surprise": 1}, "surprise"),
        ({"reason": "x", "actor": "breaker:daily_loss"}, "the actor of every action is the signed-in user"),
    ],
)
async def test_bad_halt_requests_get_a_clear_422(
    http: httpx.AsyncClient, body: dict[str, object], needle: str
) -> None:
    r = await http.post("/halt", json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]
    assert (await http.get("/neurohub")).json()["state"] in ("active", "halted")


async def test_strategy_halt_with_wait_all_reports_its_acknowledgement(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)
    await poll(lambda: _cycled(http, sid), "a first cycle")
    r = await http.post(f"/strategies/{sid}/halt", json={"reason": "one off", "wait": "all", "flatten": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "halted" and out["ack"]["state"] == "acked"
    positions = (await http.get("/positions", params={"strategy_id": sid})).json()["data"]
    assert all(float(p["qty"]) == 0 for p in positions)


async def _cycled(http: httpx.AsyncClient, sid: str) -> bool:
    return await live_cycles(http, sid) >= 1


async def test_a_halt_nobody_runs_closes_the_gate_in_the_store_directly(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """No worker runs NeuroHub: the kill switch still closes the gate every placement checks."""
    async with serve_api(dev_env, tmp_path, worker=False) as url:
        async with api_client(url, "risk", timeout=60) as http:
            r = await http.post("/halt", json={"reason": "workers down"})
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["state"] == "halted" and "NeuroHub did not take the command" in out["note"]
            events = (await http.get("/events", params={"kind": "kill_switch"})).json()["data"]
            assert [(e["reason"], e["data"]["actor"]) for e in events] == [("workers down", "risk1")]
            r = await http.post("/resume", json={"reason": "x"})
            assert r.status_code == 504 and "worker" in r.json()["detail"]
    engine = make_engine(sqlite_url(tmp_path / "asts.db"))
    try:
        async with make_sessionmaker(engine)() as s:
            gates = (await s.execute(select(HubGateRow))).scalars().all()
        assert [(g.state, g.reason, g.actor) for g in gates] == [("halted", "workers down", "risk1")]
    finally:
        await engine.dispose()
