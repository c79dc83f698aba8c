"""Sizing over real HTTP: a strategy that could never trade is refused at start with the reason, a
given sizing is validated and traded with, and a backtest holds the size its strategy names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.live import poll, strategy_body
from tests.api.test_api_opticore import MSFT, finished


async def _count(http: httpx.AsyncClient) -> int:
    r = await http.get("/strategies")
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


async def test_a_strategy_whose_size_never_trades_on_its_symbol_is_refused_at_start(
    http: httpx.AsyncClient,
) -> None:
    before = await _count(http)
    r = await http.post("/strategies", json=strategy_body(symbols=["EUR/USD"], params={"fast": 2, "slow": 5}))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("EUR/USD: a fixed quantity of 1 cannot be traded at ")
    assert detail.endswith("with a capital of 100000: under the venue minimum 1000 (sized 1)")
    assert await _count(http) == before  # nothing recorded, no workflow started

    ok = await http.post(
        "/strategies", json=strategy_body(symbols=["EUR/USD"], params={"fast": 2, "slow": 5, "size": "1000"})
    )
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("sizing", "reason"),
    [
        (
            {"mode": "equity_fraction", "fraction": "1.5"},
            "sizing.equity_fraction.fraction: Input should be less",
        ),
        ({"mode": "risk_per_trade", "risk": "0.01"}, "sizing.risk_per_trade.stop: Field required"),
        ({"mode": "fixed_qty", "qty": "-1"}, "sizing.fixed_qty.qty: Input should be greater than 0"),
        ({"mode": "all_in"}, "sizing: Input tag 'all_in' found using 'mode' does not match"),
        ({"mode": "fixed_notional", "notional": "5"}, "MSFT/USD: a fixed notional of 5 cannot be traded"),
    ],
)
async def test_a_bad_sizing_is_refused_naming_the_field(
    http: httpx.AsyncClient, sizing: dict[str, Any], reason: str
) -> None:
    r = await http.post("/strategies", json=strategy_body(sizing=sizing))
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]


async def test_a_given_sizing_sizes_the_strategys_orders(http: httpx.AsyncClient) -> None:
    body = strategy_body(sizing={"mode": "fixed_notional", "notional": "1000"}, capital="10000")
    r = await http.post("/strategies", json=body)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    async def a_buy() -> dict[str, Any] | None:
        orders = (await http.get("/orders", params={"strategy_id": sid})).json()["data"]
        return next((o for o in orders if o["side"] == "buy" and o["avg_price"]), None)

    buy = await poll(a_buy, "a first buy", timeout=60)
    assert buy is not None
    qty, price = Decimal(buy["qty"]), Decimal(buy["avg_price"])
    assert qty == int(qty) and 500 < qty * price < 1500  # ~1000 worth, not params.size's 5 shares


async def test_a_backtest_of_a_strategy_with_a_size_holds_that_many_units(http: httpx.AsyncClient) -> None:
    body = {"data": MSFT, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20, "size": 10}}
    r = await http.post("/backtests", json=body)
    assert r.status_code == 202, r.text
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "done", bt["error"]
    assert len(bt["trades"]) > 0 and {float(t["size"]) for t in bt["trades"]} == {10.0}
    assert bt["request"]["settings"]["sizing"] == {"mode": "fixed_qty", "qty": "10", "units": "fractional"}
    assert "Size: a fixed quantity of 10 at the entry fill price" in bt["conventions"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"fraction": 0.5, "units": "whole"},
            {"mode": "equity_fraction", "fraction": "0.5", "units": "whole"},
        ),
        (
            {"sizing": {"mode": "risk_per_trade", "risk": "0.01", "stop": "0.05"}},
            {"mode": "risk_per_trade", "risk": "0.01", "stop": "0.05", "units": "fractional"},
        ),
    ],
)
async def test_a_backtest_request_that_says_how_to_size_overrides_the_strategys_size(
    http: httpx.AsyncClient, settings: dict[str, Any], expected: dict[str, Any]
) -> None:
    body = {"data": MSFT, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20, "size": 10}}
    r = await http.post("/backtests", json=body | {"settings": settings})
    assert r.status_code == 202, r.text
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "done", bt["error"]
    assert bt["request"]["settings"]["sizing"] == expected
    assert {float(t["size"]) for t in bt["trades"]} != {10.0}


async def test_a_backtest_without_a_size_spends_no_more_than_its_cash(http: httpx.AsyncClient) -> None:
    body = {
        "data": MSFT,
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 20},
        "settings": {"cash": 10000, "commission": 0.01},
    }
    r = await http.post("/backtests", json=body)
    assert r.status_code == 202, r.text
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "done", bt["error"]
    first = bt["trades"][0]
    spent = first["size"] * first["entry_price"] * 1.01  # with its commission
    assert spent == pytest.approx(10000, rel=1e-9)


async def test_a_backtest_can_fill_as_the_paper_venue_does(http: httpx.AsyncClient) -> None:
    params = {"fast": 5, "slow": 20, "size": 10}
    settings = {"fill": "close", "price_step": 0.01, "slippage_bps": 5}
    r = await http.post(
        "/backtests", json={"data": MSFT, "strategy": "sma_cross", "params": params, "settings": settings}
    )
    assert r.status_code == 202, r.text
    bt = await finished(http, f"/backtests/{r.json()['id']}")
    assert bt["status"] == "done", bt["error"]
    assert bt["conventions"].startswith("The paper venue's fill model: a target computed on bar t's close")
    assert all(round(float(t["entry_price"]) * 100, 6) % 1 == 0 for t in bt["trades"])  # on the cent
    bad = await http.post(
        "/backtests", json={"data": MSFT, "strategy": "sma_cross", "settings": {"fill": "mid"}}
    )
    assert bad.status_code == 422 and "fill" in bad.text
