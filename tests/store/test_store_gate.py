"""The order gate: a halt cannot slip past a placement whose claim is still open, and vice versa."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from tests.store.factories import T0, add_strategy, at
from trading.models import Side

Sessions = async_sessionmaker[AsyncSession]
HUB = "hub-test"
BLOCKED_FOR_S = 0.5  # long enough that an unblocked statement would surely have finished
DONE_WITHIN_S = 20.0


async def halt(sessions: Sessions, strategy_id: str) -> tuple[bool, int]:
    """Halt in its own transaction; return whether it matched and the placements it saw."""
    async with sessions() as s:
        matched = await repo.set_strategy_status(
            s, strategy_id=strategy_id, status="halted", reason="test", now=at(1)
        )
        row = await repo.get_strategy(s, strategy_id=strategy_id)
        await s.commit()
    assert row is not None
    return matched, row.placements


async def admitted(
    s: AsyncSession, strategy_id: str, side: Side = Side.BUY, qty: str = "1", **kw: str
) -> bool:
    """Pass the gates for one order inside ``s`` (left open, as a placement keeps it)."""
    reason = await repo.admit_placement(
        s, strategy_id=strategy_id, hub_id=HUB, symbol="MSFT/USD", side=side, qty=Decimal(qty), **kw
    )
    return reason is None


async def claim(
    sessions: Sessions, strategy_id: str, side: Side = Side.BUY, qty: str = "1", **kw: str
) -> bool:
    """Pass the gates in its own transaction and commit."""
    async with sessions() as s:
        ok = await admitted(s, strategy_id, side, qty, **kw)
        await s.commit()
    return ok


async def test_halt_waits_for_an_open_claim_then_closes_the_gate(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")

    async with sessions() as placing:
        assert await admitted(placing, "s1")
        halting = asyncio.create_task(halt(sessions, "s1"))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not halting.done(), "the halt completed while a claimed placement was still open"
        await placing.commit()  # the order is placed and recorded

    matched, placements_seen_by_halt = await asyncio.wait_for(halting, DONE_WITHIN_S)
    assert matched
    assert placements_seen_by_halt == 1  # the halt ran after the claim committed
    assert not await claim(sessions, "s1")
    async with sessions() as s:
        row = await repo.get_strategy(s, strategy_id="s1")
    assert row is not None and (row.status, row.placements) == ("halted", 1)


async def test_claim_waits_for_an_open_halt_and_is_refused(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")

    async with sessions() as halting:
        assert await repo.set_strategy_status(
            halting, strategy_id="s1", status="halted", reason="kill", now=T0
        )
        claiming = asyncio.create_task(claim(sessions, "s1"))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not claiming.done(), "a claim completed while a halt was still open"
        await halting.commit()

    assert await asyncio.wait_for(claiming, DONE_WITHIN_S) is False
    async with sessions() as s:
        row = await repo.get_strategy(s, strategy_id="s1")
    assert row is not None and (row.status, row.placements) == ("halted", 0)


async def test_claims_count_while_running_and_resume_reopens_the_gate(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await add_strategy(s, "s2")
    assert await claim(sessions, "s1") and await claim(sessions, "s1")
    assert not await claim(sessions, "nosuch")
    await halt(sessions, "s1")
    assert not await claim(sessions, "s1")
    assert await claim(sessions, "s2")  # other strategies are unaffected
    async with sessions.begin() as s:
        await repo.set_strategy_status(s, strategy_id="s1", status="running", reason="resumed", now=at(2))
    assert await claim(sessions, "s1")
    async with sessions() as s:
        counts = {r.id: r.placements for r in await repo.list_strategies(s)}
    assert counts == {"s1": 3, "s2": 1}


async def test_lock_gates_waits_for_open_claims_and_holds_new_ones(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await add_strategy(s, "s2")

    async with sessions() as placing:
        assert await admitted(placing, "s1")
        reconciling = sessions()
        locking = asyncio.create_task(repo.lock_gates(reconciling))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not locking.done(), "lock_gates returned while a placement was still open"
        await placing.commit()
    await asyncio.wait_for(locking, DONE_WITHIN_S)

    try:
        claiming = asyncio.create_task(claim(sessions, "s2"))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not claiming.done(), "a claim went through while the gates were locked"
        seen = await repo.get_strategy(reconciling, strategy_id="s1")
        assert seen is not None and seen.placements == 1
        await reconciling.commit()
    finally:
        await reconciling.close()
    assert await asyncio.wait_for(claiming, DONE_WITHIN_S) is True


async def close_hub(
    sessions: Sessions, state: str = "halted", halt_id: str = "h1", flatten: bool = False
) -> None:
    """Set the global gate in its own transaction."""
    async with sessions.begin() as s:
        await repo.set_hub_gate(
            s, hub_id=HUB, state=state, halt_id=halt_id, flatten=flatten, reason="kill", actor="t", now=at(1)
        )


async def hold(sessions: Sessions, strategy_id: str, qty: str) -> None:
    """Give the strategy a long position of ``qty`` MSFT/USD."""
    async with sessions.begin() as s:
        await repo.upsert_position(
            s,
            strategy_id=strategy_id,
            symbol="MSFT/USD",
            qty=Decimal(qty),
            avg_price=Decimal(100),
            realised_pnl=Decimal(0),
            fees=Decimal(0),
            now=T0,
        )


async def test_global_halt_waits_for_an_open_placement_then_refuses_every_strategy(
    sessions: Sessions,
) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await add_strategy(s, "s2")
        await repo.ensure_hub_gate(s, hub_id=HUB, now=T0)

    async with sessions() as placing:
        assert await admitted(placing, "s1")
        halting = asyncio.create_task(close_hub(sessions))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not halting.done(), "the global halt completed while an admitted placement was open"
        await placing.commit()
    await asyncio.wait_for(halting, DONE_WITHIN_S)

    assert not await claim(sessions, "s1")
    assert not await claim(sessions, "s2")
    async with sessions() as s:
        reason = await repo.admit_placement(
            s, strategy_id="s2", hub_id=HUB, symbol="MSFT/USD", side=Side.BUY, qty=Decimal(1)
        )
    assert reason == "trading halted (kill)"
    await close_hub(sessions, state="active", halt_id="")
    assert await claim(sessions, "s2")


async def test_placement_waits_for_an_open_global_halt_and_is_refused(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await repo.ensure_hub_gate(s, hub_id=HUB, now=T0)

    async with sessions() as halting:
        await repo.set_hub_gate(
            halting, hub_id=HUB, state="halted", halt_id="h1", flatten=False, reason="k", actor="t", now=T0
        )
        claiming = asyncio.create_task(claim(sessions, "s1"))
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not claiming.done(), "a placement was admitted while a global halt was open"
        await halting.commit()
    assert await asyncio.wait_for(claiming, DONE_WITHIN_S) is False


async def test_reducing_admits_only_orders_that_shrink_the_position(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
    await hold(sessions, "s1", "5")
    await close_hub(sessions, state="reducing", halt_id="")
    assert not await claim(sessions, "s1", Side.BUY, "1")
    assert not await claim(sessions, "s1", Side.SELL, "6")  # would cross through zero into a short
    assert await claim(sessions, "s1", Side.SELL, "5")


async def test_a_halt_with_flatten_admits_its_own_flattening_orders_only(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
    await hold(sessions, "s1", "5")
    await close_hub(sessions, halt_id="h1", flatten=True)
    assert not await claim(sessions, "s1", Side.SELL, "5")  # not a flattening order
    assert not await claim(sessions, "s1", Side.SELL, "5", flatten_of="h0")  # an older halt's
    assert not await claim(sessions, "s1", Side.BUY, "5", flatten_of="h1")  # does not reduce
    assert await claim(sessions, "s1", Side.SELL, "5", flatten_of="h1")
    await close_hub(sessions, halt_id="h2", flatten=False)
    assert not await claim(sessions, "s1", Side.SELL, "5", flatten_of="h2")


async def test_a_strategy_halt_with_flatten_and_reduce_only(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")
        await repo.set_strategy_status(
            s, strategy_id="s1", status="halted", reason="x", now=at(1), halt_id="sh1", flatten=True
        )
    await hold(sessions, "s1", "2")
    assert not await claim(sessions, "s1", Side.SELL, "2")
    assert await claim(sessions, "s1", Side.SELL, "2", flatten_of="sh1")
    async with sessions.begin() as s:
        await repo.set_strategy_status(
            s, strategy_id="s1", status="running", reason="breaker", now=at(2), reduce_only=True
        )
        row = await repo.get_strategy(s, strategy_id="s1")
        assert row is not None and (row.halt_id, row.flatten) == ("", False)
    assert not await claim(sessions, "s1", Side.BUY, "1")
    assert await claim(sessions, "s1", Side.SELL, "1")
