"""Answers kept for a moment: one look-up for a burst of the same question, none kept on failure."""

from __future__ import annotations

import asyncio

import pytest

from api.recent import Recent


async def test_a_burst_of_the_same_question_costs_one_look_up() -> None:
    recent: Recent[int] = Recent(max_age_s=5)
    calls = 0

    async def look_up() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    answers = await asyncio.gather(*(recent.get("k", look_up) for _ in range(50)))
    assert answers == [1] * 50 and calls == 1
    assert await recent.get("k", look_up) == 1 and calls == 1  # kept
    assert await recent.get("other", look_up) == 2  # another key is its own question
    recent.clear()
    assert await recent.get("k", look_up) == 3


async def test_answers_expire_and_zero_keeps_nothing() -> None:
    calls = 0

    async def look_up() -> int:
        nonlocal calls
        calls += 1
        return calls

    short: Recent[int] = Recent(max_age_s=0.05)
    assert await short.get("k", look_up) == 1
    await asyncio.sleep(0.08)
    assert await short.get("k", look_up) == 2
    never: Recent[int] = Recent(max_age_s=0)
    assert [await never.get("k", look_up) for _ in range(3)] == [3, 4, 5]


async def test_a_failed_look_up_is_not_kept_and_every_waiter_gets_its_error() -> None:
    recent: Recent[int] = Recent(max_age_s=5)
    attempts = 0

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.02)
        raise ValueError("store away")

    results = await asyncio.gather(*(recent.get("k", failing) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results) and attempts == 1
    with pytest.raises(ValueError, match="store away"):
        await recent.get("k", failing)
    assert attempts == 2


async def test_the_size_bound_holds() -> None:
    recent: Recent[str] = Recent(max_age_s=5, size=3)

    async def echo() -> str:
        return "x"

    for i in range(10):
        await recent.get(i, echo)
    assert len(recent._answers) <= 3


async def test_an_answer_looked_up_across_a_clear_is_not_kept() -> None:
    recent: Recent[str] = Recent(max_age_s=5)
    release = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        mine = calls
        await release.wait()
        return f"answer {mine}"

    before = asyncio.create_task(recent.get("k", slow))
    await asyncio.sleep(0.01)
    recent.clear()  # e.g. a sign-out while the look-up was under way
    after = asyncio.create_task(recent.get("k", slow))  # a new look-up, not the old one's answer
    await asyncio.sleep(0.01)
    release.set()
    assert await before == "answer 1" and await after == "answer 2"
    assert await recent.get("k", slow) == "answer 2" and calls == 2
