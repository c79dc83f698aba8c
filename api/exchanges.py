"""Which venues a request may name: "paper", the configured ones, and "csv" for stored data.

The venue layer would open any ccxt exchange by its id; a request names only those this
deployment configured (``settings.exchanges``), so nobody makes the API connect elsewhere.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from worker.settings import Settings

# The exchange name CSV imports are stored under by default (a store of bars, not a venue).
CSV = "csv"


def venue_names(settings: Settings, *, stored: bool = False) -> list[str]:
    """The venues a request may name; with ``stored``, also "csv" (series in the market-data store)."""
    names = ["paper", *sorted(n for n in settings.exchanges if n != "paper")]
    return [*names, CSV] if stored and CSV not in names else names


def check_venue(name: str, settings: Settings, *, stored: bool = False, field: str = "exchange") -> str:
    """``name`` if a request may name it, else a 422 listing the ones it may."""
    allowed = venue_names(settings, stored=stored)
    if name not in allowed:
        where = "" if field == "exchange" else f"{field}: "
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{where}unknown exchange {name[:64]!r}; configured: {', '.join(allowed)}",
        )
    return name
