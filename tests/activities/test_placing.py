"""One placement attempt of an order at a time per worker (a timed-out attempt runs on, shielded)."""

from __future__ import annotations

import asyncio

from activities.deps import Deps


async def test_attempts_of_one_order_take_turns_others_do_not_wait(deps: Deps) -> None:
    log: list[str] = []

    async def attempt(coid: str, name: str, hold: float) -> None:
        async with deps.placing(coid):
            log.append(f"{name} in")
            await asyncio.sleep(hold)
            log.append(f"{name} out")

    first = asyncio.create_task(attempt("o1", "a1", 0.2))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(attempt("o1", "a2", 0.0))
    other = asyncio.create_task(attempt("o2", "b1", 0.0))
    await asyncio.gather(first, second, other)
    assert log.index("a1 out") < log.index("a2 in")  # the second attempt waited for the first
    assert log.index("b1 out") < log.index("a1 out")  # another order did not
    assert deps._placing == {}  # nothing kept once no attempt holds or waits
