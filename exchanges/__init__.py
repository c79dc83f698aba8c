"""Venue adapters behind one `Exchange` protocol: the paper exchange and any ccxt exchange.

``open_exchange`` loads on first use: naming a submodule (the emulator's CLI) does not import ccxt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchanges.base import Exchange

if TYPE_CHECKING:
    from exchanges.factory import open_exchange

__all__ = ["Exchange", "open_exchange"]


def __getattr__(name: str) -> Any:
    if name == "open_exchange":
        from exchanges.factory import open_exchange

        return open_exchange
    raise AttributeError(f"module 'exchanges' has no attribute {name!r}")
