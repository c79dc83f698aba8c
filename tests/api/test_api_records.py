"""The books (orders, positions, decisions, PnL, events), markets and the ops endpoints over real HTTP."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.api.live import api_client, poll, start_strategy

BOOKS = ("orders", "positions", "decisions", "pnl")


async def _rows(http: httpx.AsyncClient, book: str, **params: Any) -> list[dict[str, Any]]:
    r = await http.get(f"/{book}", params=params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["count"] == len(page["data"])
    return list(page["data"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_trading(api_url: str) -> tuple[str, str]:
    """Two strategies on different symbols, each with rows in every book."""
    async with api_client(api_url, timeout=30) as http:
        msft = await start_strategy(http, name="msft", symbols=["MSFT/USD"])
        googl = await start_strategy(http, name="googl", symbols=["GOOGL/USD"])

        async def filled(sid: str) -> bool:
            orders = await _rows(http, "orders", strategy_id=sid)
            return any(o["status"] == "filled" for o in orders) and bool(
                await _rows(http, "positions", strategy_id=sid)
            )

        for sid in (msft, googl):
            await poll(partial(filled, sid), f"a filled order and a position of {sid}")
    return msft, googl


@pytest.mark.parametrize("book", BOOKS)
async def test_books_filter_by_strategy(
    http: httpx.AsyncClient, two_trading: tuple[str, str], book: str
) -> None:
    msft, googl = two_trading
    mine = await _rows(http, book, strategy_id=msft)
    theirs = await _rows(http, book, strategy_id=googl)
    assert mine and theirs
    assert {r["strategy_id"] for r in mine} == {msft}
    assert {r["strategy_id"] for r in theirs} == {googl}
    if book != "pnl":  # every book but PnL names a symbol
        assert {r["symbol"] for r in mine} == {"MSFT/USD"}
        assert {r["symbol"] for r in theirs} == {"GOOGL/USD"}
    everything = {r["strategy_id"] for r in await _rows(http, book)}
    assert {msft, googl} <= everything
    assert await _rows(http, book, strategy_id="s-nobody") == []


async def test_orders_are_the_strategy_size_and_newest_first(
    http: httpx.AsyncClient, two_trading: tuple[str, str]
) -> None:
    orders = await _rows(http, "orders", strategy_id=two_trading[0])
    assert all(Decimal(o["qty"]) == 5 and o["side"] in ("buy", "sell") for o in orders)
    filled = [o for o in orders if o["status"] == "filled"]
    assert filled and all(Decimal(o["filled_qty"]) == 5 and Decimal(o["avg_price"]) > 0 for o in filled)
    assert all(o["venue_order_id"] and o["client_order_id"] for o in filled)
    stamps = [o["created_at"] for o in orders]
    assert stamps == sorted(stamps, reverse=True)
    assert len(await _rows(http, "orders", strategy_id=two_trading[0], limit=1)) == 1


async def test_positions_decisions_and_pnl_add_up(
    http: httpx.AsyncClient, two_trading: tuple[str, str]
) -> None:
    sid = two_trading[0]
    positions = await _rows(http, "positions", strategy_id=sid)
    assert len(positions) == 1 and Decimal(positions[0]["qty"]) in (0, 5)  # one symbol: long 5 or flat
    decisions = await _rows(http, "decisions", strategy_id=sid)
    assert all(d["target"] in ("long", "flat", "hold") for d in decisions)
    assert all(0 <= d["confidence"] <= 1 and d["rationale"] for d in decisions)
    pnl = await _rows(http, "pnl", strategy_id=sid)
    for p in pnl:
        realised, unrealised, fees = (Decimal(p[k]) for k in ("realised", "unrealised", "fees"))
        assert Decimal(p["equity"]) == Decimal(100000) + realised + unrealised - fees
    cycles = [p["cycle"] for p in pnl]
    assert cycles == sorted(cycles, reverse=True)


async def test_events_filter_by_kind_and_strategy(
    http: httpx.AsyncClient, two_trading: tuple[str, str]
) -> None:
    msft, googl = two_trading
    r = await http.post(f"/strategies/{msft}/halt", json={"reason": "records test"})
    assert r.status_code == 200, r.text
    halts = await _rows(http, "events", kind="halt")
    assert {e["kind"] for e in halts} == {"halt"}
    assert [e["reason"] for e in halts if e["strategy_id"] == msft] == ["records test"]
    assert await _rows(http, "events", kind="halt", strategy_id=googl) == []
    assert await _rows(http, "events", kind="no-such-kind") == []


@pytest.mark.parametrize("query", ["limit=0", "limit=5001", "limit=many", "strategy_id=" + "x" * 65])
async def test_bad_book_queries_are_422(http: httpx.AsyncClient, query: str) -> None:
    r = await http.get(f"/orders?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"query.{query.split('=')[0]}: ")


async def test_markets_lists_the_paper_symbols(http: httpx.AsyncClient) -> None:
    r = await http.get("/markets", params={"exchange": "paper"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["exchange"] == "paper" and body["count"] == len(body["data"])
    markets = {m["symbol"]: m for m in body["data"]}
    assert {"MSFT/USD", "GOOGL/USD", "EUR/USD", "SPX/USD"} <= set(markets)
    msft = markets["MSFT/USD"]
    assert (msft["base"], msft["quote"]) == ("MSFT", "USD")
    assert Decimal(msft["min_qty"]) == 1 and Decimal(msft["qty_step"]) == 1
    assert Decimal(msft["price_step"]) == Decimal("0.01")
    assert Decimal(markets["EUR/USD"]["min_qty"]) == 1000
    assert (await http.get("/markets")).json() == body  # paper is the default


async def test_markets_of_an_unknown_exchange_is_422(http: httpx.AsyncClient) -> None:
    r = await http.get("/markets", params={"exchange": "nasdaq"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("unknown exchange 'nasdaq'; configured: paper")


async def test_health_answers_anonymously_with_no_detail(http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=http.base_url, timeout=30) as anonymous:
        r = await anonymous.get("/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}


async def test_metrics_are_prometheus_text(http: httpx.AsyncClient) -> None:
    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    families = list(text_string_to_metric_families(r.text))
    assert families and any(f.samples for f in families)


async def test_docs_and_openapi(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text  # started by /docs/assets/swagger-init.js
    spec = (await http.get("/openapi.json")).json()
    assert spec["info"]["title"] == "ASTS"
    for path in ("/strategies", "/strategies/{strategy_id}", "/strategies/{strategy_id}/halt", "/markets"):
        assert path in spec["paths"], path
    assert "/metrics" not in spec["paths"]
    assert "StrategyCreate" in spec["components"]["schemas"]


async def test_the_exits_that_protect_a_position_are_listed_with_who_holds_them(
    http: httpx.AsyncClient,
) -> None:
    # wide levels: the set rests while the position stands
    sid = await start_strategy(http, name="guarded", exits={"stop_loss": "0.5", "take_profit": "5"})

    async def protected() -> list[dict[str, Any]] | None:
        held = sum(Decimal(p["qty"]) for p in await _rows(http, "positions", strategy_id=sid))
        exits = await _rows(http, "exits", strategy_id=sid)
        whole = held > 0 and all(Decimal(e["qty"]) == held for e in exits)
        # the set's orders are placed one after the other: wait for both
        return exits if whole and {e["kind"] for e in exits} == {"stop_loss", "take_profit"} else None

    exits = await poll(protected, f"{sid}'s position protected")
    assert exits is not None
    assert sorted((e["kind"], e["held_by"], e["type"]) for e in exits) == [
        ("stop_loss", "venue", "stop"),  # the paper venue holds every kind itself
        ("take_profit", "venue", "limit"),
    ]
    assert len({e["oco_group"] for e in exits}) == 1 and all(e["side"] == "sell" for e in exits)
    assert await _rows(http, "exits", strategy_id="s-nobody") == []
    r = await http.get("/exits", params={"limit": 0})
    assert r.status_code == 422
