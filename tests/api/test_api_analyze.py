"""POST /analyze and GET /decisions/{id} over real HTTP, with a real worker (no LLM configured)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

AS_OF = "2017-06-01T00:00:00Z"


async def test_analyze_as_of_a_past_time_records_a_replayable_decision(http: httpx.AsyncClient) -> None:
    r = await http.post("/analyze", json={"symbol": "MSFT/USD", "as_of": AS_OF})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["strategy_id"] is None and d["cycle"] is None and d["analysis_id"].startswith("a")
    assert d["mode"] == "analysts" and d["target"] in ("long", "flat", "hold")
    assert 0.0 <= d["confidence"] <= 1.0 and d["rationale"]
    window = d["inputs"]["window"]
    # Daily bars: the last one seen opened a day before the as-of time, so it had closed.
    assert window["bars"] == 120 and window["last"] < AS_OF
    assert datetime.fromisoformat(window["last"]) + timedelta(days=1) <= datetime.fromisoformat(AS_OF)
    full = (await http.get(f"/decisions/{d['id']}")).json()
    assert full["id"] == d["id"] and full["inputs"] == d["inputs"] and full["output"]["mode"] == "analysts"
    listed = (await http.get("/decisions", params={"limit": 5})).json()["data"]
    assert d["id"] in [x["id"] for x in listed]
    again = (await http.post("/analyze", json={"symbol": "MSFT/USD", "as_of": AS_OF})).json()
    assert again["id"] != d["id"] and again["target"] == d["target"] and again["inputs"] == d["inputs"]


async def test_analyze_now_reads_the_venues_present(http: httpx.AsyncClient) -> None:
    r = await http.post("/analyze", json={"symbol": "GOOGL/USD", "strategy_type": "sma_cross"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["rationale"].startswith("sma_cross on GOOGL/USD") and d["signal"]["indicators"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"symbol": "NOPE/USD"}, "does not list"),
        ({"symbol": "MSFT/USD", "as_of": "2017-06-01T00:00:00"}, "timezone"),
        ({"symbol": "MSFT/USD", "as_of": "2999-01-01T00:00:00Z"}, "future"),
        ({"symbol": "MSFT/USD", "params": {"fast": 30, "slow": 10}}, "slow"),
        ({"symbol": "MSFT/USD", "strategy_type": "astrology"}, "unknown strategy type"),
        ({"symbol": "MSFT/USD", "colour": "red"}, "Extra inputs"),
        ({"symbol": "MSFT/USD", "as_of": "1990-01-01T00:00:00Z"}, "no MSFT/USD history"),
    ],
)
async def test_bad_analyze_requests_get_a_reason(
    http: httpx.AsyncClient, body: dict[str, Any], reason: str
) -> None:
    r = await http.post("/analyze", json=body)
    assert r.status_code == 422, r.text
    assert reason in str(r.json()["detail"])


async def test_unknown_decision_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/decisions/987654321")).status_code == 404
    assert (await http.get("/decisions/not-a-number")).status_code == 422
