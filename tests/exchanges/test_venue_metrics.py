"""Every request of the ccxt adapter is timed by venue and operation, and every failure counted by
venue and the error it was translated to (against the Binance emulator, through real ccxt)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.exchanges.binance_venue import binance_venue
from trading.errors import ExchangeUnavailable


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_venue_request_is_timed_and_an_unanswered_one_counted_by_its_error() -> None:
    async with binance_venue() as (emu, ex):
        await ex.markets()
        timed = {"venue": ex.name, "operation": "fetch_ticker"}
        requests = sample("asts_venue_request_duration_seconds_count", **timed)
        failed = sample("asts_venue_errors_total", venue=ex.name, kind="ExchangeUnavailable")
        await ex.ticker("MSFT/USD")
        emu.faults.add("http_error", method="GET", path="/api/v3/ticker/24hr", status=502, times=1)
        with pytest.raises(ExchangeUnavailable):
            await ex.ticker("MSFT/USD")
        assert sample("asts_venue_request_duration_seconds_count", **timed) == requests + 2
        assert sample("asts_venue_request_duration_seconds_sum", **timed) > 0
        assert sample("asts_venue_errors_total", venue=ex.name, kind="ExchangeUnavailable") == failed + 1
