"""GET/POST /approvals over real HTTP: a real strategy's large order waits, a POST decides it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.live import api_client, poll, start_strategy

# RSI below 99 means LONG: the first cycle buys 10 MSFT, far above a notional threshold of 1.
ALWAYS_LONG = {"period": 2, "lower": 99, "upper": 99.5, "size": "10"}  # warm-up 41 bars


async def _pending_of(http: httpx.AsyncClient, strategy_id: str) -> dict[str, Any]:
    """Wait for the strategy's first pending approval, as ``GET /approvals`` lists it."""

    async def listed() -> dict[str, Any] | None:
        r = await http.get("/approvals")
        assert r.status_code == 200, r.text
        return next((a for a in r.json()["data"] if a["strategy_id"] == strategy_id), None)

    return await poll(listed, "a pending approval")


async def _start(http: httpx.AsyncClient) -> str:
    return await start_strategy(
        http, type="rsi_reversion", params=ALWAYS_LONG, approval_notional="1", approval_timeout="5m"
    )


async def test_a_pending_approval_is_listed_and_approved_by_post(http: httpx.AsyncClient) -> None:
    sid = await _start(http)
    approval = await _pending_of(http, sid)
    aid = approval["id"]
    assert aid == f"apr-{approval['client_order_id']}"
    assert approval["status"] == "pending" and approval["workflow_id"] == f"cycle-{sid}-1"
    assert approval["symbol"] == "MSFT/USD" and approval["side"] == "buy" and Decimal(approval["qty"]) == 10
    assert Decimal(approval["notional"]) == Decimal(approval["qty"]) * Decimal(approval["price"])
    assert approval["decided_at"] is None
    explicit = (await http.get("/approvals", params={"status": "pending"})).json()
    assert aid in {a["id"] for a in explicit["data"]}
    one = await http.get(f"/approvals/{aid}")
    assert one.status_code == 200 and one.json() == approval

    # Four eyes: admin started the strategy, so admin may not decide on its orders; risk1 may.
    own = await http.post(f"/approvals/{aid}", json={"decision": "approve", "reason": "mine"})
    assert own.status_code == 403 and "four eyes: admin started" in own.json()["detail"], own.text
    async with api_client(str(http.base_url), "risk") as risk:
        r = await risk.post(f"/approvals/{aid}", json={"decision": "approve", "reason": "ok"})
        again = await risk.post(f"/approvals/{aid}", json={"decision": "reject"})
    assert r.status_code == 200, r.text
    outcome = r.json()
    assert (outcome["approval_id"], outcome["status"], outcome["decided_by"], outcome["reason"]) == (
        aid,
        "approved",
        "risk1",
        "ok",
    )
    assert outcome["decided_at"] is not None

    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    stored = (await http.get(f"/approvals/{aid}")).json()
    assert stored["status"] == "approved" and stored["decided_by"] == "risk1"
    approved = (await http.get("/approvals", params={"status": "approved"})).json()
    assert aid in {a["id"] for a in approved["data"]}
    assert aid not in {a["id"] for a in (await http.get("/approvals")).json()["data"]}

    async def filled() -> bool:
        orders = (await http.get("/orders", params={"strategy_id": sid})).json()["data"]
        return any(
            o["client_order_id"] == approval["client_order_id"] and o["status"] == "filled" for o in orders
        )

    await poll(filled, "the approved order filled")


async def test_a_rejected_approval_places_nothing_and_cannot_be_approved_later(
    http: httpx.AsyncClient,
) -> None:
    async with api_client(str(http.base_url), "trader") as trader:  # trader1 starts, admin decides
        sid = await _start(trader)
        aid = (await _pending_of(http, sid))["id"]
        mine = await trader.post(f"/approvals/{aid}", json={"decision": "approve"})
    assert mine.status_code == 403 and "needs the risk role" in mine.json()["detail"]
    r = await http.post(f"/approvals/{aid}", json={"decision": "reject", "reason": "too big"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["decided_by"] == "admin"
    late = await http.post(f"/approvals/{aid}", json={"decision": "approve"})
    assert late.status_code == 409 and "already rejected" in late.json()["detail"]

    async def rejection_event() -> bool:
        r = await http.get("/events", params={"strategy_id": sid, "kind": "approval_rejected"})
        return r.json()["count"] == 1

    await poll(rejection_event, "the approval_rejected event")
    orders = (await http.get("/orders", params={"strategy_id": sid})).json()
    assert orders["count"] == 0


async def test_unknown_approvals_are_404(http: httpx.AsyncClient) -> None:
    r = await http.get("/approvals/apr-nope")
    assert r.status_code == 404 and "apr-nope" in r.json()["detail"]
    r = await http.post("/approvals/apr-nope", json={"decision": "approve"})
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/approvals", {"params": {"status": "bogus"}}),
        ("GET", "/approvals", {"params": {"limit": 0}}),
        ("POST", "/approvals/apr-x", {"json": {"decision": "maybe"}}),
        ("POST", "/approvals/apr-x", {"json": {"decision": "approve", "extra": 1}}),
        ("POST", "/approvals/apr-x", {"json": {}}),
    ],
)
async def test_bad_approval_requests_are_422(
    http: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = await http.request(method, path, **kwargs)
    assert r.status_code == 422, r.text
