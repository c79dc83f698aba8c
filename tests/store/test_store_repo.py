"""Repository functions: idempotent by natural keys, filtered by strategy, newest first."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from store.models import DecisionRow, FillRow, OrderRow, PnlSnapshotRow, RiskEventRow
from tests.store.factories import T0, add_strategy, at, fill_fields, order_fields, pnl_fields
from trading.errors import InvalidInput
from trading.models import OrderStatus, OrderType, Side

Sessions = async_sessionmaker[AsyncSession]


async def count(session: AsyncSession, entity: type) -> int:
    """Number of rows of ``entity``."""
    return int(await session.scalar(select(func.count()).select_from(entity)) or 0)


async def test_strategy_create_get_list_and_status(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s2", now=at(1))
        await add_strategy(s, "s1", symbols=["ETH/USDT", "BTC/USDT"], params={"size": "10"})
    async with sessions() as s:
        row = await repo.get_strategy(s, strategy_id="s1")
        assert row is not None
        assert (row.status, row.status_reason, row.placements) == ("running", "", 0)
        assert (row.symbols, row.params, row.interval_s) == (["ETH/USDT", "BTC/USDT"], {"size": "10"}, 60.0)
        assert row.created_at == T0 and row.workflow_id == "strategy-s1"
        assert [r.id for r in await repo.list_strategies(s)] == ["s1", "s2"]
        assert await repo.get_strategy(s, strategy_id="nosuch") is None
        assert await repo.set_strategy_status(
            s, strategy_id="s1", status="halted", reason="manual", now=at(5)
        )
        assert not await repo.set_strategy_status(
            s, strategy_id="nosuch", status="halted", reason="", now=at(5)
        )
        await s.commit()
    async with sessions() as s:
        row = await repo.get_strategy(s, strategy_id="s1")
        assert row is not None and (row.status, row.status_reason, row.updated_at) == (
            "halted",
            "manual",
            at(5),
        )


async def test_strategy_status_and_id_are_validated(session: AsyncSession) -> None:
    await add_strategy(session, "s1")
    with pytest.raises(InvalidInput):
        await repo.set_strategy_status(session, strategy_id="s1", status="paused", reason="", now=T0)
    with pytest.raises(IntegrityError):
        await add_strategy(session, "s1")


async def test_upsert_order_twice_keeps_one_row_and_updates_mutable_fields(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s)
        first = await repo.upsert_order(s, **order_fields(side=Side.BUY, type=OrderType.LIMIT))
        await repo.upsert_order(s, **order_fields(status="open", venue_order_id="V1", now=at(1)))
    async with sessions.begin() as s:
        second = await repo.upsert_order(
            s,
            **order_fields(
                price=Decimal("42000.100"),
                status=OrderStatus.PARTIALLY_FILLED,
                filled_qty=Decimal("0.25"),
                avg_price=Decimal("41999.5"),
                fee=Decimal("0.01"),
                venue_order_id=None,
                reason="partial",
                now=at(2),
            ),
        )
        assert await count(s, OrderRow) == 1
    assert second.id == first.id
    async with sessions() as s:
        row = await repo.get_order(s, client_order_id="s1a2b3c4-c1-l0")
    assert row is not None
    assert (row.side, row.type, row.status, row.reason) == ("buy", "limit", "partially_filled", "partial")
    assert (row.filled_qty, row.avg_price, row.fee) == (Decimal("0.25"), Decimal("41999.5"), Decimal("0.01"))
    assert row.venue_order_id == "V1"  # a later None does not erase the venue's id
    assert (row.created_at, row.updated_at) == (T0, at(2))


async def test_upsert_order_refuses_a_client_order_id_of_another_order(session: AsyncSession) -> None:
    await add_strategy(session)
    await repo.upsert_order(session, **order_fields())
    with pytest.raises(InvalidInput):
        await repo.upsert_order(session, **order_fields(qty=Decimal("0.6")))
    with pytest.raises(InvalidInput):
        await repo.upsert_order(session, **order_fields(side="sell"))


async def test_list_orders_newest_first_filtered_and_limited(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await add_strategy(s, "s2")
        for cycle in range(3):
            await repo.upsert_order(s, **order_fields("s1", cycle=cycle, now=at(cycle)))
        await repo.upsert_order(s, **order_fields("s2", cycle=9, now=at(10)))
    async with sessions() as s:
        assert [o.cycle for o in await repo.list_orders(s)] == [9, 2, 1, 0]
        assert [o.cycle for o in await repo.list_orders(s, strategy_id="s1")] == [2, 1, 0]
        assert [o.cycle for o in await repo.list_orders(s, strategy_id="s1", limit=2)] == [2, 1]
        assert await repo.get_order(s, client_order_id="nosuch") is None


async def test_record_fill_is_idempotent_and_filters(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        assert await repo.record_fill(s, **fill_fields("f1", ts=at(2)))
        assert not await repo.record_fill(s, **fill_fields("f1", qty=Decimal(9)))
        assert await repo.record_fill(s, **fill_fields("f0", ts=at(1), side=Side.SELL))
        assert await repo.record_fill(s, **fill_fields("f2", "s2", client_order_id="s2-c1-l0"))
    async with sessions() as s:
        assert await count(s, FillRow) == 3
        assert [f.fill_id for f in await repo.list_fills(s, strategy_id="s1a2b3c4")] == ["f0", "f1"]
        assert [f.fill_id for f in await repo.list_fills(s, client_order_id="s2-c1-l0")] == ["f2"]
        (f1,) = [f for f in await repo.list_fills(s) if f.fill_id == "f1"]
    assert f1.qty == Decimal("0.25")  # the first record wins


def position_fields(strategy_id: str, symbol: str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``repo.upsert_position``."""
    fields: dict[str, Any] = {"strategy_id": strategy_id, "symbol": symbol, "qty": Decimal(1), "now": T0}
    fields.update(avg_price=Decimal(10), realised_pnl=Decimal(0), fees=Decimal(0))
    return {**fields, **overrides}


async def test_positions_upsert_and_filter(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        for sid, symbol in [("s1", "ETH/USDT"), ("s1", "BTC/USDT"), ("s2", "BTC/USDT")]:
            await repo.upsert_position(s, **position_fields(sid, symbol))
        updated = await repo.upsert_position(
            s,
            **position_fields(
                "s1",
                "BTC/USDT",
                qty=Decimal("0.5"),
                avg_price=Decimal("11.5"),
                realised_pnl=Decimal(-2),
                fees=Decimal("0.3"),
                now=at(1),
            ),
        )
        assert (updated.qty, updated.updated_at) == (Decimal("0.5"), at(1))
    async with sessions() as s:
        assert [(p.strategy_id, p.symbol) for p in await repo.get_positions(s)] == [
            ("s1", "BTC/USDT"),
            ("s1", "ETH/USDT"),
            ("s2", "BTC/USDT"),
        ]
        btc = (await repo.get_positions(s, strategy_id="s1"))[0]
    assert (btc.qty, btc.avg_price, btc.realised_pnl, btc.fees) == (
        Decimal("0.5"),
        Decimal("11.5"),
        Decimal(-2),
        Decimal("0.3"),
    )


async def test_record_decision_returns_the_first_on_repeat(sessions: Sessions) -> None:
    fields: dict[str, Any] = {
        "strategy_id": "s1",
        "cycle": 3,
        "symbol": "BTC/USDT",
        "rationale": "sma cross",
        "now": T0,
    }
    async with sessions.begin() as s:
        first = await repo.record_decision(s, target="long", confidence=0.8, signal={"sma": 1.5}, **fields)
        again = await repo.record_decision(s, target="flat", confidence=0.1, signal={}, **fields)
        await repo.record_decision(
            s, **{**fields, "cycle": 4, "now": at(1)}, target="hold", confidence=0.5, signal={}
        )
        await repo.record_decision(
            s, **{**fields, "strategy_id": "s2"}, target="hold", confidence=0.5, signal={}
        )
        assert await count(s, DecisionRow) == 3
    assert again.id == first.id
    assert (again.target, again.confidence, again.signal) == ("long", 0.8, {"sma": 1.5})
    async with sessions() as s:
        assert [d.cycle for d in await repo.list_decisions(s, strategy_id="s1")] == [4, 3]
        assert [d.cycle for d in await repo.list_decisions(s, strategy_id="s1", limit=1)] == [4]
        assert len(await repo.list_decisions(s)) == 3


async def test_record_event_is_idempotent_and_filters(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        scope: dict[str, Any] = {"strategy_id": "s1", "cycle": 3, "symbol": "BTC/USDT", "data": {"qty": "2"}}
        assert await repo.record_event(
            s, event_key="s1:3:risk", kind="risk_rejected", reason="too big", now=T0, **scope
        )
        assert not await repo.record_event(s, event_key="s1:3:risk", kind="halt", reason="other", now=at(1))
        assert await repo.record_event(
            s, event_key="s1:halt", kind="halt", reason="manual", now=at(2), strategy_id="s1"
        )
        assert await repo.record_event(
            s, event_key="global:halt", kind="halt", reason="kill switch", now=at(3)
        )
        assert await count(s, RiskEventRow) == 3
    async with sessions() as s:
        assert [e.event_key for e in await repo.list_events(s)] == ["global:halt", "s1:halt", "s1:3:risk"]
        assert [e.event_key for e in await repo.list_events(s, strategy_id="s1")] == ["s1:halt", "s1:3:risk"]
        assert [e.event_key for e in await repo.list_events(s, kind="halt")] == ["global:halt", "s1:halt"]
        (risk,) = await repo.list_events(s, strategy_id="s1", kind="risk_rejected")
        assert (risk.reason, risk.cycle, risk.symbol, risk.data) == ("too big", 3, "BTC/USDT", {"qty": "2"})
        assert (await repo.list_events(s, kind="halt", limit=1))[0].data == {}


async def test_record_pnl_is_idempotent_and_lists_newest_first(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        for cycle in (1, 2, 3):
            assert await repo.record_pnl(s, **pnl_fields(cycle=cycle, equity=Decimal(10000 + cycle)))
        assert not await repo.record_pnl(s, **pnl_fields(cycle=2, equity=Decimal(1)))
        assert await repo.record_pnl(s, **pnl_fields("s2", cycle=1))
        assert await count(s, PnlSnapshotRow) == 4
    async with sessions() as s:
        mine = await repo.list_pnl(s, strategy_id="s1a2b3c4")
        assert [(p.cycle, p.equity) for p in mine] == [(3, 10003), (2, 10002), (1, 10001)]
        assert len(await repo.list_pnl(s)) == 4 and len(await repo.list_pnl(s, limit=2)) == 2
        latest = await repo.latest_pnl(s, strategy_id="s1a2b3c4")
        assert latest is not None and (latest.cycle, latest.unrealised) == (3, Decimal("-0.25"))
        assert await repo.latest_pnl(s, strategy_id="nosuch") is None


async def test_peak_equity_is_exact_and_numeric_not_lexicographic(sessions: Sessions) -> None:
    equities = ["9", "10", "-5", "99.999999999999999999", "100.5", "2E+1"]
    near_tie = ["1000000000000000000.000000000000000001", "1000000000000000000.000000000000000002"]
    async with sessions.begin() as s:
        assert await repo.peak_equity(s, strategy_id="s1") is None
        for cycle, equity in enumerate(equities):
            await repo.record_pnl(s, **pnl_fields("s1", cycle, equity=Decimal(equity)))
        for cycle, equity in enumerate(reversed(near_tie)):
            await repo.record_pnl(s, **pnl_fields("s2", cycle, equity=Decimal(equity)))
        await repo.record_pnl(s, **pnl_fields("s3", 1, equity=Decimal("-3")))
        await repo.record_pnl(s, **pnl_fields("s3", 2, equity=Decimal("-20")))
    async with sessions() as s:
        assert await repo.peak_equity(s, strategy_id="s1") == Decimal("100.5")
        assert await repo.peak_equity(s, strategy_id="s2") == Decimal(near_tie[1])
        assert await repo.peak_equity(s, strategy_id="s3") == Decimal(-3)


async def test_daily_pnl_base_is_the_last_snapshot_before_since(sessions: Sessions) -> None:
    midnight = T0.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    times = [
        midnight - timedelta(hours=1),
        midnight - timedelta(microseconds=1),
        midnight,
        midnight + timedelta(hours=9),
    ]
    async with sessions.begin() as s:
        for cycle, ts in enumerate(times):
            await repo.record_pnl(s, **pnl_fields(cycle=cycle, ts=ts))
        await repo.record_pnl(s, **pnl_fields("other", cycle=1, ts=midnight - timedelta(seconds=1)))
    async with sessions() as s:
        base = await repo.daily_pnl_base(s, strategy_id="s1a2b3c4", since=midnight)
        assert base is not None and base.cycle == 1 and base.ts == times[1]
        in_plus2 = midnight.astimezone(timezone(timedelta(hours=2)))  # same instant, other zone
        same = await repo.daily_pnl_base(s, strategy_id="s1a2b3c4", since=in_plus2)
        assert same is not None and same.cycle == 1
        assert await repo.daily_pnl_base(s, strategy_id="s1a2b3c4", since=times[0]) is None
        later = await repo.daily_pnl_base(s, strategy_id="s1a2b3c4", since=midnight + timedelta(days=1))
        assert later is not None and later.cycle == 3
