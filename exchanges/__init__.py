"""Venue adapters behind one `Exchange` protocol: the paper exchange and any ccxt exchange."""

from exchanges.base import Exchange
from exchanges.factory import open_exchange

__all__ = ["Exchange", "open_exchange"]
