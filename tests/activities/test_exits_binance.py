"""Protective exits on a venue that holds only part of a set: Binance spot through the real ccxt
client and the emulator on 127.0.0.1. The venue holds the take-profit and the stop-loss as one
order list (OCO); ASTS holds the trailing stop, watching the price each cycle, and sends it as a
market order once it fires, after cancelling the venue's pair. One cancels the other across
both: a venue exit that fills ends the one ASTS holds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from activities.contracts import OrderPlan, ProtectInput, ProtectResult, StrategyConfig, WatchExitsInput
from activities.deps import Deps
from activities.exits import ExitActivities
from activities.orders import OrderActivities
from store import repo
from tests.exchanges.test_ccxt_exchange_triggers import SYMBOL, Venue, moves
from tests.factories import insert_strategy, make_config
from trading.exits import Exits
from trading.models import ClientOrderId

D = Decimal


@pytest_asyncio.fixture(loop_scope="session")
async def venue(deps: Deps, tmp_path: Path) -> AsyncIterator[Venue]:
    async with moves(tmp_path) as v:
        deps._exchanges["binance"] = v.ex  # the emulator's replay of MOVES, through ccxt
        try:
            yield v
        finally:
            deps._exchanges.pop("binance", None)


async def strategy(deps: Deps, **exits: str) -> StrategyConfig:
    cfg = make_config(
        exchange="binance", symbols=[SYMBOL], exits=Exits(**{k: D(v) for k, v in exits.items()})
    )
    await insert_strategy(deps, cfg)
    return cfg


def entry(cfg: StrategyConfig, **kw: Any) -> OrderPlan:
    fields: dict[str, Any] = {
        "strategy_id": cfg.strategy_id,
        "exchange": "binance",
        "cycle": 1,
        "leg": 0,
        "client_order_id": ClientOrderId.derive(cfg.strategy_id, 1, 0).value,
        "symbol": SYMBOL,
        "side": "buy",
        "qty": D(10),
        "ref_price": D(100),
        "hub_id": cfg.hub_id,
    }
    return OrderPlan(**(fields | kw))


async def protect(deps: Deps, cfg: StrategyConfig, cycle: int) -> ProtectResult:
    exits = ExitActivities(deps, OrderActivities(deps))
    return await ActivityEnvironment().run(exits.protect, ProtectInput(config=cfg, cycle=cycle))


async def held(deps: Deps, cfg: StrategyConfig) -> list[tuple[str, str, Decimal | None]]:
    async with deps.sessions() as s:
        rows = await repo.held_exits(s, strategy_id=cfg.strategy_id, watching=False)
    return [(h.kind, h.status, h.best_price) for h in rows]


async def test_the_venue_holds_an_oco_pair_and_asts_the_trailing_stop_until_it_fires(
    deps: Deps, venue: Venue
) -> None:
    cfg = await strategy(deps, stop_loss="0.1", take_profit="0.2", trailing="0.03")
    bought = await OrderActivities(deps).place(entry(cfg))
    assert (bought.status, bought.avg_price) == ("filled", D("100.05"))
    first = await protect(deps, cfg, 1)
    placed = sorted((o.client_order_id[-3:], o.status) for o in first.placed)
    assert placed == [("e0s", "open"), ("e0t", "open")]
    assert not first.problems and not first.fired
    listed = [o for o in venue.emu.orders() if o["orderListId"] != -1]
    assert len(listed) == 2 and len({o["orderListId"] for o in listed}) == 1  # one order list: an OCO
    assert await held(deps, cfg) == [("trailing", "watching", D("100.05"))]
    assert (await protect(deps, cfg, 1)).placed == []  # a retry: nothing placed twice

    await venue.to_bar(2)  # the rally: the best price rises
    rally = await protect(deps, cfg, 2)
    assert rally.placed == rally.fired == [] and rally.cancelled == []
    ((kind, status, best),) = await held(deps, cfg)
    assert (kind, status) == ("trailing", "watching") and best is not None and best >= 101

    await venue.to_bar(4)  # the fall: 3 % back from the best
    fall = await protect(deps, cfg, 3)
    (sent,) = fall.fired
    assert sent.client_order_id == f"{cfg.strategy_id}-c1-e0r" and sent.status == "filled"
    assert sent.avg_price is not None and sent.avg_price <= best * D("0.97")
    assert sorted(o.status for o in fall.cancelled) == ["cancelled", "cancelled"]  # the venue's pair first
    assert [(k, s) for k, s, _ in await held(deps, cfg)] == [("trailing", "fired")]
    assert await venue.ex.open_orders(SYMBOL) == []
    async with deps.sessions() as s:
        (pos,) = await repo.get_positions(s, strategy_id=cfg.strategy_id)
        row = await repo.get_order(s, client_order_id=sent.client_order_id)
    assert pos.qty == 0 and row is not None and (row.exit_kind, row.type) == ("trailing", "market")
    after = await protect(deps, cfg, 4)  # flat: nothing to protect, nothing left to watch
    assert after.placed == after.fired == after.cancelled == []


async def test_a_venue_exit_that_fills_ends_the_one_asts_holds(deps: Deps, venue: Venue) -> None:
    cfg = await strategy(deps, stop_loss="0.1", take_profit="0.04", trailing="0.03")
    await OrderActivities(deps).place(entry(cfg))
    await protect(deps, cfg, 1)
    await venue.to_bar(3)  # bar 2's high of 106 went through the 104.06 target at the venue
    found = await protect(deps, cfg, 2)
    assert sorted((o.client_order_id[-3:], o.status) for o in found.ended) == [
        ("e0s", "expired"),  # Binance ends the other order of a list as EXPIRED
        ("e0t", "filled"),
    ]
    assert found.fired == [] and found.placed == []
    assert [(k, s) for k, s, _ in await held(deps, cfg)] == [("trailing", "cancelled")]


async def test_a_held_trailing_stop_trails_from_the_entry_price_so_a_fall_before_its_first_watch_fires(
    deps: Deps, venue: Venue
) -> None:
    cfg = await strategy(deps, stop_loss="0.5", take_profit="0.5", trailing="0.03")
    await OrderActivities(deps).place(entry(cfg))  # filled at 100.05
    await protect(deps, cfg, 1)
    assert await held(deps, cfg) == [("trailing", "watching", D("100.05"))]
    venue.emu.pin_price(SYMBOL, "96")  # 4 % under the entry, before any cycle watched the stop
    fall = await protect(deps, cfg, 2)
    (sent,) = fall.fired
    assert (sent.client_order_id, sent.status) == (f"{cfg.strategy_id}-c1-e0r", "filled")
    assert [(k, s) for k, s, _ in await held(deps, cfg)] == [("trailing", "fired")]


async def watch(deps: Deps, cfg: StrategyConfig, seconds: float) -> ProtectResult:
    exits = ExitActivities(deps, OrderActivities(deps))
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return await ActivityEnvironment().run(
        exits.watch_exits, WatchExitsInput(config=cfg, until=until, every_s=0.05)
    )


async def test_between_cycles_the_watch_fires_a_held_exit_once_its_level_trades_and_then_ends(
    deps: Deps, venue: Venue
) -> None:
    cfg = await strategy(deps, stop_loss="0.5", take_profit="0.5", trailing="0.03")
    await OrderActivities(deps).place(entry(cfg))
    await protect(deps, cfg, 1)
    quiet = await watch(deps, cfg, 0.3)  # nothing through: it watches to the end and says so
    assert quiet.fired == quiet.cancelled == [] and quiet.watching == 1
    venue.emu.pin_price(SYMBOL, "96")
    began = time.monotonic()
    fall = await watch(deps, cfg, 60)
    assert time.monotonic() - began < 30  # it ended once nothing was left to watch
    (sent,) = fall.fired
    assert (sent.client_order_id, sent.status) == (f"{cfg.strategy_id}-c1-e0r", "filled")
    assert sorted(o.status for o in fall.cancelled) == ["cancelled", "cancelled"]
    assert fall.watching == 0 and await venue.ex.open_orders(SYMBOL) == []
    again = await watch(deps, cfg, 60)  # a retry of the watch: nothing left, nothing sent twice
    assert again.fired == [] and again.watching == 0


async def test_the_standing_exits_name_the_pair_at_the_venue_and_the_one_asts_holds(
    deps: Deps, venue: Venue
) -> None:
    cfg = await strategy(deps, stop_loss="0.1", take_profit="0.2", trailing="0.03")
    await OrderActivities(deps).place(entry(cfg))
    await protect(deps, cfg, 1)
    async with deps.sessions() as s:
        standing = await repo.standing_exits(s, strategy_id=cfg.strategy_id)
        assert await repo.standing_exits(s, strategy_id=cfg.strategy_id, limit=1, offset=2) == standing[2:]
    assert [(e.kind, e.held_by, e.type, e.qty, e.best_price) for e in standing] == [
        ("trailing", "asts", "market", D(10), D("100.05")),  # sent as a market order once it fires
        ("stop_loss", "venue", "stop", D(10), None),
        ("take_profit", "venue", "limit", D(10), None),
    ]
