"""A long/short strategy through the API on the paper venue as a margin account: it goes short,
the books show the negative position, its PnL and exposure, and the venue's balance agrees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from exchanges.paper import PaperExchange
from exchanges.paper_margin import PaperMargin
from tests.api.live import api_client, poll, serve_api, start_strategy

D = Decimal


@pytest_asyncio.fixture(loop_scope="session")
async def margin_api(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    async with serve_api(dev_env, tmp_path, paper_margin=PaperMargin(borrow_rate=D(0))) as url:
        yield url, tmp_path


async def _rows(http: httpx.AsyncClient, book: str, **params: Any) -> list[dict[str, Any]]:
    r = await http.get(f"/{book}", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_a_long_short_strategy_goes_short_and_the_books_show_it(margin_api: tuple[str, Path]) -> None:
    url, home = margin_api
    async with api_client(url, timeout=30) as http:
        sid = await start_strategy(http, direction="long_short", params={"fast": 2, "slow": 5, "size": "5"})

        async def short() -> dict[str, Any] | None:
            rows = await _rows(http, "positions", strategy_id=sid)
            return next((p for p in rows if D(p["qty"]) < 0), None)

        position = await poll(short, "a short position")
        assert D(position["qty"]) == D(-5) and D(position["avg_price"]) > 0
        sells = [o for o in await _rows(http, "orders", strategy_id=sid) if o["side"] == "sell"]
        assert any(o["status"] == "filled" for o in sells)

        async def snapshot_while_short() -> dict[str, Any] | None:
            rows = await _rows(http, "pnl", strategy_id=sid)
            return next((r for r in rows if D(r["exposure"]) > 0), None)

        pnl = await poll(snapshot_while_short, "a PnL snapshot with exposure")
        assert D(pnl["exposure"]) > 0  # gross: the short's absolute value
        halted = await http.post(f"/strategies/{sid}/halt", json={"reason": "check the books"})
        assert halted.status_code == 200, halted.text
        rows = await _rows(http, "positions", strategy_id=sid)
    venue = PaperExchange(home / "paper-exchange.db", margin=PaperMargin(borrow_rate=D(0)))
    try:  # what the books hold is what the venue holds: the short is a negative balance
        held = sum((D(p["qty"]) for p in rows), D(0))
        assert (await venue.balance()).get("MSFT", D(0)) == held
    finally:
        await venue.close()
