"""The SQLite writers' queue: urgent writers (gate changes) go first; cancelled waiters never wedge it."""

from __future__ import annotations

import asyncio

from activities.deps import PriorityLock


async def test_urgent_waiters_go_before_ordinary_ones_and_fifo_within_each() -> None:
    lock = PriorityLock()
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        async with lock.hold(urgent=urgent):
            order.append(name)
            await asyncio.sleep(0)

    await lock.acquire()
    tasks = [
        asyncio.create_task(take(n, u)) for n, u in [("a", False), ("b", False), ("K1", True), ("K2", True)]
    ]
    await asyncio.sleep(0.01)
    assert order == []  # all wait for the holder
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["K1", "K2", "a", "b"]


async def test_a_cancelled_waiter_is_skipped_and_the_lock_ends_free() -> None:
    lock = PriorityLock()
    await lock.acquire()
    gone = asyncio.create_task(lock.acquire())
    after: list[str] = []

    async def later() -> None:
        async with lock.hold():
            after.append("ran")

    waiting = asyncio.create_task(later())
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.sleep(0.01)
    lock.release()
    await asyncio.wait_for(waiting, 1)
    assert after == ["ran"]
    await asyncio.wait_for(lock.acquire(), 1)  # free again
    lock.release()


async def test_ownership_handed_to_a_waiter_cancelled_at_that_moment_is_passed_on() -> None:
    lock = PriorityLock()
    await lock.acquire()
    victim = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0.01)
    lock.release()  # hands the lock to the victim...
    victim.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(victim, return_exceptions=True)
    await asyncio.wait_for(lock.acquire(), 1)  # the lock was released, not leaked
    lock.release()
