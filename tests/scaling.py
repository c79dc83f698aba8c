"""How a function's cost grows with its input, measured as a ratio in the same run.

A fixed deadline ("under a second") fails on a busy machine and passes a quadratic algorithm on a
fast one; the growth from one input size to eight times that size does neither: linear work grows
about eight times, quadratic work sixty-four times, whatever the machine's speed (a busy machine
blurs a ratio by a factor of two at most, so the two stay far apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable

FACTOR = 8  # the larger input is this many times the smaller
LINEAR_AT_MOST = 24.0  # linear work grows about FACTOR times; quadratic FACTOR ** 2 times
_MIN_SAMPLE_S = 0.02  # repeat a fast call until one sample lasts at least this long


def seconds_per_call(call: Callable[[], object], tries: int = 5) -> float:
    """The fewest seconds one ``call`` took over ``tries`` samples (a busy machine slows some
    samples; the slowest path is slow in all of them). A fast call is repeated within a sample so
    the clock's resolution does not decide the answer."""
    best = float("inf")
    repeat = 1
    for _ in range(tries):
        while True:
            started = time.perf_counter()
            for _ in range(repeat):
                call()
            took = time.perf_counter() - started
            if took >= _MIN_SAMPLE_S or repeat >= 1 << 16:
                break
            repeat *= 2
        best = min(best, took / repeat)
    return best


def growth(run: Callable[[int], object], size: int) -> float:
    """How many times longer ``run(FACTOR * size)`` takes than ``run(size)``."""
    small = seconds_per_call(lambda: run(size))
    large = seconds_per_call(lambda: run(FACTOR * size))
    return large / small
