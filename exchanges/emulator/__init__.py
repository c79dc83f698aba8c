"""Local emulators of real exchanges' REST APIs, for running our real clients offline.

The names below load on first use, so a process that only names the package (the CLI) does not
import the emulator's server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exchanges.emulator.binance import (
        BinanceEmulator,
        emulator_urls,
        run_emulator,
        serve_binance_emulator,
    )
    from exchanges.emulator.engine import BinanceError
    from exchanges.emulator.faults import FaultAction, FaultRule, Faults

_WHERE = {
    "BinanceEmulator": "binance",
    "emulator_urls": "binance",
    "run_emulator": "binance",
    "serve_binance_emulator": "binance",
    "BinanceError": "engine",
    "FaultAction": "faults",
    "FaultRule": "faults",
    "Faults": "faults",
}

__all__ = [
    "BinanceEmulator",
    "BinanceError",
    "FaultAction",
    "FaultRule",
    "Faults",
    "emulator_urls",
    "run_emulator",
    "serve_binance_emulator",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"exchanges.emulator.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'exchanges.emulator' has no attribute {name!r}")
