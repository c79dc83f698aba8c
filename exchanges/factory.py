"""Open a venue adapter by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exchanges.base import Exchange
from exchanges.paper import PaperExchange
from trading.errors import InvalidInput

KNOWN_EXCHANGES = ("paper",)


def open_exchange(name: str, *, home: Path, bars_per_second: float = 2.0, **kwargs: Any) -> Exchange:
    """The exchange called ``name``; "paper" keeps its state in ``home / "paper-exchange.db"``."""
    if name == "paper":
        return PaperExchange(Path(home) / "paper-exchange.db", bars_per_second=bars_per_second, **kwargs)
    raise InvalidInput(f"unknown exchange {name!r}; known: {', '.join(KNOWN_EXCHANGES)}")
