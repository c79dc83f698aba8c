"""Agent test helpers: constructed price series and news, a client configuration for the emulator."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from agents.llm import LlmConfig
from tests.llm_emulator import LlmEmulator
from trading.analysts import NewsRef
from trading.models import Candle

T0 = datetime(2017, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def trending(n: int, *, slope: float = 0.2, start: datetime = T0, volume: float = 10.0) -> list[Candle]:
    """Hourly bars drifting by ``slope`` per bar with a gentle wave."""
    out = []
    for i in range(n):
        px = Decimal(str(round(100 + slope * i + math.sin(i / 5), 4)))
        out.append(Candle(start + i * HOUR, px, px, px, px, Decimal(str(volume))))
    return out


def news(i: int, hours: float, title: str, sentiment: float) -> NewsRef:
    """A news item ``hours`` after T0."""
    return NewsRef(i, T0 + timedelta(hours=hours), title, sentiment, "test")


def llm_config(emu: LlmEmulator, **over: object) -> LlmConfig:
    """A client configuration pointed at the emulator (short timeout)."""
    base: dict[str, object] = {
        "base_url": emu.base_url,
        "model": emu.model,
        "api_key": "sk-test-secret",
        "timeout_s": 2.0,
    }
    return LlmConfig.model_validate(base | over)
