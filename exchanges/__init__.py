"""Venue adapters behind one `Exchange` protocol: the paper exchange (and later ccxt)."""

from exchanges.base import Exchange
from exchanges.factory import KNOWN_EXCHANGES, open_exchange

__all__ = ["KNOWN_EXCHANGES", "Exchange", "open_exchange"]
