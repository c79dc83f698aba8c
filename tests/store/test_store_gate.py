"""The order gate: a halt cannot slip past a placement whose claim is still open, and vice versa."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from tests.store.factories import T0, add_strategy, at

Sessions = async_sessionmaker[AsyncSession]
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


async def claim(sessions: Sessions, strategy_id: str) -> bool:
    """Claim a placement in its own transaction and commit."""
    async with sessions() as s:
        claimed = await repo.claim_placement(s, strategy_id=strategy_id)
        await s.commit()
    return claimed


async def test_halt_waits_for_an_open_claim_then_closes_the_gate(sessions: Sessions) -> None:
    async with sessions.begin() as s:
        await add_strategy(s, "s1")

    async with sessions() as placing:
        assert await repo.claim_placement(placing, strategy_id="s1")
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
        assert await repo.claim_placement(placing, strategy_id="s1")
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
