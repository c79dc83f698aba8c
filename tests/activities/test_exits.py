"""The protect step and exit clearing: one OCO set of reduce-only exits per position, at the
paper venue, kept in line with the position, never placed twice, recorded when they fire."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.contracts import (
    Decision,
    OrderPlan,
    ProtectInput,
    ProtectResult,
    RiskInput,
    StrategyConfig,
    SymbolSnapshot,
)
from activities.deps import Deps
from activities.exits import ExitActivities
from activities.orders import OrderActivities
from activities.risk import RiskActivities
from exchanges.paper import PaperExchange
from store import repo
from tests.exchanges.conftest import EPOCH, SYMBOL, FakeClock, moves_spec
from tests.factories import insert_strategy, make_config
from trading.exits import Exits
from trading.models import ClientOrderId, OrderStatus

D = Decimal


@dataclass
class Desk:
    deps: Deps
    clock: FakeClock
    venue: PaperExchange
    exits: ExitActivities
    orders: OrderActivities

    def at(self, tick: int) -> None:
        self.clock.now = EPOCH + timedelta(seconds=tick)


@pytest.fixture
def desk(deps: Deps, tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock()
    venue = PaperExchange(
        tmp_path / "venue.db",
        series={SYMBOL: moves_spec(tmp_path)},
        bars_per_second=1.0,
        start_bar=0,
        initial_balances={"USD": D(10_000)},
        clock=clock,
    )
    deps._exchanges["paper"] = venue  # the deps close it
    orders = OrderActivities(deps)
    yield Desk(deps, clock, venue, ExitActivities(deps, orders), orders)


async def strategy(desk: Desk, **exits: str) -> StrategyConfig:
    cfg = make_config(symbols=[SYMBOL], exits=Exits(**{k: D(v) for k, v in exits.items()}))
    await insert_strategy(desk.deps, cfg)
    return cfg


def order(cfg: StrategyConfig, cycle: int, side: str, qty: str, **kw: Any) -> OrderPlan:
    fields: dict[str, Any] = {
        "strategy_id": cfg.strategy_id,
        "exchange": "paper",
        "cycle": cycle,
        "leg": 0,
        "client_order_id": ClientOrderId.derive(cfg.strategy_id, cycle, 0).value,
        "symbol": SYMBOL,
        "side": side,
        "qty": D(qty),
        "ref_price": D(100),
        "hub_id": cfg.hub_id,
    }
    return OrderPlan(**(fields | kw))


async def protect(desk: Desk, cfg: StrategyConfig, cycle: int) -> ProtectResult:
    return await ActivityEnvironment().run(desk.exits.protect, ProtectInput(config=cfg, cycle=cycle))


async def position(desk: Desk, cfg: StrategyConfig) -> Decimal:
    async with desk.deps.sessions() as s:
        rows = await repo.get_positions(s, strategy_id=cfg.strategy_id)
    return sum((p.qty for p in rows), D(0))


async def test_an_entry_gets_one_oco_set_and_a_retry_places_nothing_twice(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03", take_profit="0.04")
    entry = await desk.orders.place(order(cfg, 1, "buy", "10"))
    assert (entry.status, entry.avg_price) == ("filled", D("100.05"))
    first = await protect(desk, cfg, 1)
    again = await protect(desk, cfg, 1)  # a retried step
    later = await protect(desk, cfg, 2)  # the next cycle: the set still fits
    assert [o.status for o in first.placed] == ["open", "open"] and not first.problems
    assert again.placed == later.placed == [] and again.cancelled == []
    resting = await desk.venue.open_orders()
    assert [(o.client_order_id, o.type.value, o.price, o.stop_price) for o in resting] == [
        (f"{cfg.strategy_id}-c1-e0s", "stop", None, D("97.04")),  # 100.05 less 3 %, rounded down
        (f"{cfg.strategy_id}-c1-e0t", "limit", D("104.06"), None),  # plus 4 %, rounded up
    ]
    assert {o.oco_group for o in resting} == {f"{cfg.strategy_id}-c1-e0"}
    assert all(o.reduce_only and o.qty == 10 for o in resting)
    async with desk.deps.sessions() as s:
        rows = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
        others = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=False)
    assert sorted(r.exit_kind for r in rows) == ["stop_loss", "take_profit"] and others == []


async def test_a_target_that_fired_while_nobody_watched_is_recorded_with_its_fill(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03", take_profit="0.04")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    await protect(desk, cfg, 1)
    desk.at(3)  # bar 2's high of 106 went through the 104.06 target
    found = await protect(desk, cfg, 2)
    by_id = {o.client_order_id: o for o in found.ended}
    take, stop = by_id[f"{cfg.strategy_id}-c1-e0t"], by_id[f"{cfg.strategy_id}-c1-e0s"]
    assert (take.status, take.avg_price, take.filled_qty) == ("filled", D("104.06"), D(10))
    assert stop.status == "cancelled"  # one-cancels-the-other
    assert found.placed == [] and await position(desk, cfg) == 0
    assert await desk.venue.open_orders() == []
    async with desk.deps.sessions() as s:
        fills = await repo.list_fills(s, strategy_id=cfg.strategy_id)
    assert [(f.side, f.price) for f in fills] == [("buy", D("100.05")), ("sell", D("104.06"))]


async def test_a_changed_position_gets_a_new_set_for_its_size(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03", trailing="0.05")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    await protect(desk, cfg, 1)
    await desk.orders.place(order(cfg, 2, "buy", "5"))
    changed = await protect(desk, cfg, 2)
    assert sorted(o.client_order_id[-3:] for o in changed.cancelled) == ["e0r", "e0s"]
    assert all(o.status == "cancelled" for o in changed.cancelled)
    resting = await desk.venue.open_orders()
    assert sorted((o.client_order_id[-6:], o.qty) for o in resting) == [("c2-e0r", 15), ("c2-e0s", 15)]
    assert (await desk.venue.free_balance())["TEST"] == 0  # the pair shares one reservation


async def test_a_signal_exit_clears_the_exits_first(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03", take_profit="0.04")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    await protect(desk, cfg, 1)
    close = order(cfg, 2, "sell", "10", clear_exits=True)
    cleared = await ActivityEnvironment().run(desk.exits.clear_exits, close)
    assert len(cleared.cancelled) == 2 and cleared.outcome is None
    sold = await desk.orders.place(close)
    assert sold.status == "filled" and await position(desk, cfg) == 0
    assert (await protect(desk, cfg, 2)).placed == []


async def test_an_exit_that_closed_the_position_first_stops_the_signal_exit(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    await protect(desk, cfg, 1)
    desk.at(4)  # bar 4's low of 97 went through the 97.04 stop
    close = order(cfg, 2, "sell", "10", clear_exits=True)
    env = ActivityEnvironment()
    cleared = await env.run(desk.exits.clear_exits, close)
    assert cleared.outcome is not None and cleared.outcome.status == "rejected"
    assert "closed the position first" in cleared.outcome.reason
    assert (await env.run(desk.exits.clear_exits, close)).outcome == cleared.outcome  # a retry
    assert await position(desk, cfg) == 0
    (stop,) = [o for o in await desk.venue.orders() if o.client_order_id.endswith("e0s")]
    assert (stop.status, stop.avg_price) == (OrderStatus.FILLED, D("96.99"))  # 97.04 less 5 bp
    async with desk.deps.sessions() as s:  # the signal left long on this bar: it may enter again
        assert await repo.stood_down(s, strategy_id=cfg.strategy_id) == {}


async def test_a_set_cut_short_by_a_crash_is_completed_not_replaced(desk: Desk) -> None:
    cfg = await strategy(desk, stop_loss="0.03", take_profit="0.04")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    group = f"{cfg.strategy_id}-c1-e0"
    first_leg = order(
        cfg,
        1,
        "sell",
        "10",
        client_order_id=f"{group}s",
        type="stop",
        stop_price=D("97.04"),
        reduce_only=True,
        oco_group=group,
        exit_kind="stop_loss",
    )
    await desk.orders.place(first_leg)  # the step died after its first leg
    retried = await protect(desk, cfg, 1)
    assert retried.cancelled == [] and len(retried.placed) == 2
    resting = await desk.venue.open_orders()
    assert [o.client_order_id for o in resting] == [f"{group}s", f"{group}t"]
    assert len(await desk.venue.orders()) == 3  # the entry and one set: nothing twice


async def test_after_an_exit_closed_the_position_the_strategy_enters_again_only_once_its_signal_left(
    desk: Desk,
) -> None:
    cfg = await strategy(desk, stop_loss="0.03", take_profit="0.04")
    await desk.orders.place(order(cfg, 1, "buy", "10"))
    await protect(desk, cfg, 1)
    desk.at(3)  # the target fills at the venue
    await protect(desk, cfg, 2)
    async with desk.deps.sessions() as s:
        assert await repo.stood_down(s, strategy_id=cfg.strategy_id) == {SYMBOL: "long"}
        (event,) = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="stood_down")
    assert event.reason == (
        "the take_profit exit closed the long position: no new long entry until the signal leaves it"
    )

    async def entries(cycle: int, target: str) -> list[OrderPlan]:
        t = await desk.venue.ticker(SYMBOL)
        snap = SymbolSnapshot(symbol=SYMBOL, ts=t.ts, last=t.last, closes=[t.last])
        decision = Decision(symbol=SYMBOL, target=target, confidence=0.9, rationale="test")  # type: ignore[arg-type]
        inp = RiskInput(config=cfg, cycle=cycle, decisions=[decision], snapshots=[snap])
        return (await ActivityEnvironment().run(RiskActivities(desk.deps).risk_approve, inp)).approved

    assert await entries(3, "long") == []  # still long: as in the backtest, no re-entry
    assert await entries(4, "hold") == []  # a held signal keeps it
    assert await entries(5, "long") == []
    assert await entries(6, "flat") == []  # the signal left long ...
    async with desk.deps.sessions() as s:
        assert await repo.stood_down(s, strategy_id=cfg.strategy_id) == {}
    (again,) = await entries(7, "long")  # ... so the next long enters
    assert (again.side, again.qty) == ("buy", D(10))
