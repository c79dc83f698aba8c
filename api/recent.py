"""Answers kept for a moment: many requests asking the same thing at once cost one look-up.

``Recent`` holds each key's answer for ``max_age_s`` and lets one look-up per key run at a time
(the others wait for it). The API uses it for the principal behind a bearer token (1 s: a
console's burst of requests checks its session once) and for NeuroHub's status (0.5 s: one
workflow query however many consoles poll). ``clear()`` drops everything at once: a sign-out
or revocation through this process applies to the next request; through another API process,
within ``max_age_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    """Answers by key for ``max_age_s``, at most ``size`` keys (0 s: nothing is kept)."""

    def __init__(self, max_age_s: float, size: int = 10_000) -> None:
        self.max_age_s = max_age_s
        self.size = size
        self._answers: dict[Hashable, tuple[float, T]] = {}
        self._looking: dict[Hashable, asyncio.Future[T]] = {}
        self._generation = 0

    def clear(self) -> None:
        """Forget every answer, and any look-up under way (its answer is not kept)."""
        self._answers.clear()
        self._looking.clear()
        self._generation += 1

    async def get(self, key: Hashable, look_up: Callable[[], Awaitable[T]]) -> T:
        """The answer for ``key``: kept, being looked up by another caller, or looked up now.
        A failed look-up is not kept: each waiting caller gets its error."""
        if self.max_age_s <= 0:
            return await look_up()
        now = time.monotonic()
        kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self.max_age_s:
            return kept[1]
        pending = self._looking.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._looking[key] = future
        generation = self._generation
        try:
            answer = await look_up()
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            if self._looking.get(key) is future:
                del self._looking[key]
        future.set_result(answer)
        if generation == self._generation:  # not cleared meanwhile: still the store's answer
            if len(self._answers) >= self.size:
                self._answers.clear()
            self._answers[key] = (time.monotonic(), answer)
        return answer
