"""Shared by the benchmarks: percentiles, the machine line, and one section of BENCHMARKS.md each."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

HEADER = "# Benchmarks\n"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def machine_line(started: datetime) -> str:
    """When and on what the figures were measured."""
    return (
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}."
    )


def write_section(path: Path, title: str, body: str) -> str:
    """Replace (or append) the ``## title`` section of ``path``, leaving the other sections alone."""
    text = path.read_text() if path.exists() else HEADER
    if not text.startswith(HEADER):
        text = HEADER + "\n" + text
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
    return section


async def timed(fn: Callable[[], Awaitable[Any]], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call of ``fn``, after ``warmup`` calls that are not counted."""
    for _ in range(warmup):
        await fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out
