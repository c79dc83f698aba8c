"""Local emulators of real exchanges' REST APIs, for running our real clients offline."""

from exchanges.emulator.binance import (
    BinanceEmulator,
    emulator_urls,
    run_emulator,
    serve_binance_emulator,
)
from exchanges.emulator.engine import BinanceError
from exchanges.emulator.faults import FaultAction, FaultRule, Faults

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
