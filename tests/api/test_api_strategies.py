"""POST/GET /strategies, halt and resume, and refusals, over real HTTP against a real worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.api.live import live_cycles, poll, start_strategy, strategy_body


async def _count(http: httpx.AsyncClient) -> int:
    r = await http.get("/strategies")
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


async def test_post_records_and_starts_the_workflow(http: httpx.AsyncClient) -> None:
    before = await _count(http)
    r = await http.post("/strategies", json=strategy_body(name="msft sma", risk={"max_position_qty": "50"}))
    assert r.status_code == 201, r.text
    created = r.json()
    sid = created["id"]
    assert created == {"id": sid, "workflow_id": f"strategy-{sid}", "status": "running"}

    listed = (await http.get("/strategies")).json()
    assert listed["count"] == before + 1 == len(listed["data"])
    row = next(s for s in listed["data"] if s["id"] == sid)
    assert row["name"] == "msft sma" and row["type"] == "sma_cross" and row["exchange"] == "paper"
    assert row["symbols"] == ["MSFT/USD"]
    assert row["interval_s"] == pytest.approx(0.3)
    assert row["params"] == {"fast": 2, "slow": 5, "size": "5"}  # validated, normalised
    assert row["risk"]["max_position_qty"] == "50" and row["risk"]["max_order_notional"] is None
    assert row["status"] == "running" and row["workflow_id"] == f"strategy-{sid}"
    assert row["live"] is None  # the list reads the store only

    first = await poll(lambda: _cycles_at_least(http, sid, 1), "a first cycle")
    await poll(lambda: _cycles_at_least(http, sid, first + 2), "cycles to keep coming")
    got = (await http.get(f"/strategies/{sid}")).json()
    live = got["live"]
    assert live["strategy_id"] == sid and live["status"] == "running"
    assert live["params"] == {"fast": 2, "slow": 5, "size": "5"}
    assert live["last_cycle"]["cycle"] >= first


async def _cycles_at_least(http: httpx.AsyncClient, sid: str, n: int) -> int:
    done = await live_cycles(http, sid)
    return done if done >= n else 0


async def test_halt_closes_the_gate_and_resume_reopens_it(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)
    await poll(lambda: _cycles_at_least(http, sid, 1), "a first cycle")

    asked = datetime.now(UTC)
    r = await http.post(f"/strategies/{sid}/halt", json={"reason": "risk desk says stop"})
    assert r.status_code == 200, r.text
    halted = r.json()
    assert halted["strategy_id"] == sid and halted["status"] == "halted"
    halted_at = datetime.fromisoformat(halted["at"])
    assert asked <= halted_at <= datetime.now(UTC)

    got = (await http.get(f"/strategies/{sid}")).json()
    assert got["status"] == "halted" and got["status_reason"] == "risk desk says stop"
    assert got["live"]["status"] == "halted"
    assert datetime.fromisoformat(got["live"]["halted_at"]) == halted_at
    events = (await http.get("/events", params={"strategy_id": sid, "kind": "halt"})).json()
    assert [(e["kind"], e["reason"], e["data"]) for e in events["data"]] == [
        ("halt", "risk desk says stop", {"actor": "admin", "flatten": False, "reduce_only": None})
    ]

    cycles_at_halt = got["live"]["cycles_done"]
    await asyncio.sleep(1.2)  # four intervals: a running strategy would cycle meanwhile
    assert await live_cycles(http, sid) <= cycles_at_halt + 1  # at most the cycle in flight ends

    r = await http.post(f"/strategies/{sid}/resume", json={"reason": "all clear"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "running"
    assert datetime.fromisoformat(r.json()["at"]) > halted_at
    got = (await http.get(f"/strategies/{sid}")).json()
    assert got["status"] == "running" and got["status_reason"] == "all clear"
    await poll(lambda: _cycles_at_least(http, sid, cycles_at_halt + 2), "cycles after resume")
    resumed = (await http.get("/events", params={"strategy_id": sid, "kind": "resume"})).json()
    assert [e["reason"] for e in resumed["data"]] == ["all clear"]


async def test_halt_without_a_body_uses_the_default_reason(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)
    r = await http.post(f"/strategies/{sid}/halt")
    assert r.status_code == 200, r.text
    assert (await http.get(f"/strategies/{sid}")).json()["status_reason"] == "manual"


@pytest.mark.parametrize("method,path", [("GET", ""), ("POST", "/halt"), ("POST", "/resume")])
async def test_unknown_strategy_is_404(http: httpx.AsyncClient, method: str, path: str) -> None:
    r = await http.request(method, f"/strategies/s00000000{path}")
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == "no strategy 's00000000'"


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "unknown type": ({"type": "nope"}, "unknown strategy type 'nope'"),
    "negative size": ({"params": {"fast": 2, "slow": 5, "size": "-1"}}, "size: must be greater than 0"),
    "slow not above fast": ({"params": {"fast": 5, "slow": 5}}, "slow (5) must be greater than fast (5)"),
    "unknown param": ({"params": {"fast": 2, "slow": 5, "bogus": 1}}, "unknown parameter 'bogus'"),
    "unknown symbol": ({"symbols": ["NOPE/USD"]}, "does not list 'NOPE/USD'"),
    "empty symbols": ({"symbols": []}, "symbols: List should have at least 1 item"),
    "repeated symbols": ({"symbols": ["MSFT/USD", "MSFT/USD"]}, "symbols must not repeat"),
    "extra field": ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    "word interval": ({"interval": "fast"}, "interval 'fast' is not a duration"),
    "negative interval": ({"interval": "-1s"}, "interval '-1s' is not a duration"),
    "zero interval": ({"interval": 0}, "interval must be between 50ms and 7 days"),
    "unknown risk key": ({"risk": {"max_loss": "2"}}, "unknown risk limit(s): max_loss"),
    "negative risk limit": ({"risk": {"max_order_notional": "-5"}}, "max_order_notional must be a positive"),
    "unknown exchange": ({"exchange": "nope"}, "unknown exchange 'nope'"),
    "params not an object": ({"params": [1]}, "params: Input should be a valid dictionary"),
    "shorts on a spot account": (
        {"direction": "long_short"},
        "direction long_short: paper cannot hold short positions (a spot account; ASTS_PAPER_MARGIN",
    ),
    "unknown direction": ({"direction": "short"}, "direction: Input should be 'long' or 'long_short'"),
}


@pytest.mark.parametrize("overrides,reason", BAD.values(), ids=BAD.keys())
async def test_bad_input_is_refused_with_the_reason_and_records_nothing(
    http: httpx.AsyncClient, overrides: dict[str, Any], reason: str
) -> None:
    before = await _count(http)
    r = await http.post("/strategies", json=strategy_body(**overrides))
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]
    assert await _count(http) == before  # no half-written strategy


async def test_malformed_json_is_refused(http: httpx.AsyncClient) -> None:
    before = await _count(http)
    r = await http.post("/strategies", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "malformed JSON at character 1: Expecting property name" in r.json()["detail"]
    assert await _count(http) == before


async def test_bad_halt_body_is_refused(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)
    r = await http.post(f"/strategies/{sid}/halt", json={"reason": "x", "force": True})
    assert r.status_code == 422, r.text
    assert "force: Extra inputs are not permitted" in r.json()["detail"]
    assert (await http.get(f"/strategies/{sid}")).json()["status"] == "running"


async def test_params_update_is_validated_then_reaches_the_workflow(http: httpx.AsyncClient) -> None:
    sid = await start_strategy(http)
    bad = await http.patch(f"/strategies/{sid}/params", json={"params": {"fast": 9, "slow": 3}})
    assert bad.status_code == 422 and "slow" in bad.json()["detail"], bad.text
    ok = await http.patch(f"/strategies/{sid}/params", json={"params": {"fast": 3, "slow": 8, "size": "2"}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["params"] == {"fast": 3, "slow": 8, "size": "2"}

    async def applied() -> bool:
        live = (await http.get(f"/strategies/{sid}")).json()["live"]
        return live is not None and live["params"]["size"] == "2"

    await poll(applied, "the new parameters in the workflow")
    missing = await http.patch("/strategies/nope/params", json={"params": {}})
    assert missing.status_code == 404
