"""The Binance emulator with our ccxt adapter on it: shared by the adapter, workflow and bench code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from activities.contracts import OrderPlan
from exchanges.ccxt_exchange import CcxtExchange, VenueConfig
from exchanges.credentials import Credentials
from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from trading.models import ClientOrderId

SLOW = 0.01  # bars per second: the replay stands still unless a test moves it


def venue_config(emu: BinanceEmulator, **overrides: Any) -> VenueConfig:
    """Our venue settings for the emulator: its URL, daily bars (the bundled series), short waits."""
    base: dict[str, Any] = {
        "ccxt_id": "binance",
        "api_url": emu.url,
        "timeframe": "1d",
        "timeout_ms": 2_000,
        "recv_window_ms": 1_000,
        "rate_limit_ms": 0,
    }
    return VenueConfig.model_validate(base | overrides)


def venue_env(emu: BinanceEmulator, name: str = "binance", **overrides: Any) -> dict[str, str]:
    """The environment a worker or API process needs to trade on the emulator as ``name``."""
    import json

    return {
        "ASTS_EXCHANGES": json.dumps({name: venue_config(emu, **overrides).model_dump(mode="json")}),
        f"ASTS_EXCHANGE_{name.upper()}_API_KEY": emu.api_key,
        f"ASTS_EXCHANGE_{name.upper()}_SECRET": emu.secret,
    }


def credentials(emu: BinanceEmulator) -> Credentials:
    """The emulator's keys."""
    return Credentials.model_validate({"api_key": emu.api_key, "secret": emu.secret})


@asynccontextmanager
async def binance_venue(
    config: dict[str, Any] | None = None, **emulator: Any
) -> AsyncIterator[tuple[BinanceEmulator, CcxtExchange]]:
    """A served emulator (still replay unless told otherwise) and our adapter on it."""
    emulator.setdefault("bars_per_second", SLOW)
    async with serve_binance_emulator(**emulator) as emu:
        ex = CcxtExchange("binance", venue_config(emu, **(config or {})), credentials(emu))
        try:
            yield emu, ex
        finally:
            await ex.close()


def binance_plan(strategy_id: str, **overrides: Any) -> OrderPlan:
    """A market buy of MSFT/USD on "binance", leg 0 of cycle 1 of the strategy."""
    fields: dict[str, Any] = {
        "strategy_id": strategy_id,
        "exchange": "binance",
        "cycle": 1,
        "leg": 0,
        "client_order_id": ClientOrderId.derive(strategy_id, 1, 0).value,
        "symbol": "MSFT/USD",
        "side": "buy",
        "qty": Decimal(5),
        "ref_price": Decimal(20),
    }
    return OrderPlan(**(fields | overrides))
