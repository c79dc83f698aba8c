"""Open a venue adapter by name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from exchanges.base import Exchange
from exchanges.ccxt_exchange import CcxtExchange, VenueConfig
from exchanges.credentials import load_credentials
from exchanges.paper import PaperExchange
from trading.errors import InvalidInput


def open_exchange(
    name: str,
    *,
    home: Path,
    bars_per_second: float = 2.0,
    venues: Mapping[str, VenueConfig] | None = None,
    **kwargs: Any,
) -> Exchange:
    """The exchange called ``name``.

    "paper" keeps its state in ``home / "paper-exchange.db"``. A name configured in ``venues``
    (``ASTS_EXCHANGES``) opens that ccxt venue; any other ccxt exchange id opens it with
    defaults. Keys come from the environment or the secrets file (exchanges.credentials).
    """
    if name == "paper":
        return PaperExchange(Path(home) / "paper-exchange.db", bars_per_second=bars_per_second, **kwargs)
    config = (venues or {}).get(name)
    if config is None and name in ccxt_async.exchanges:
        config = VenueConfig(ccxt_id=name)
    if config is None:
        configured = ", ".join(["paper", *sorted(venues or {})])
        raise InvalidInput(f"unknown exchange {name!r}; configured: {configured}; or any ccxt exchange id")
    return CcxtExchange(name, config, load_credentials(name))
