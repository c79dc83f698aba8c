"""Positions, a cash-and-positions portfolio, PnL and drawdown, all in ``Decimal``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from trading.errors import InvalidInput
from trading.models import Fill, Side

_ZERO = Decimal(0)


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


@dataclass
class Position:
    """A signed position in one symbol (``qty`` < 0 is short) with its average entry price."""

    symbol: str
    qty: Decimal = _ZERO
    avg_price: Decimal = _ZERO
    realised_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO

    def apply_fill(self, side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Book one fill and return the PnL it realised (fees are kept apart in ``fees``)."""
        if qty <= 0:
            raise InvalidInput(f"fill quantity must be positive, got {qty}")
        if price <= 0:
            raise InvalidInput(f"fill price must be positive, got {price}")
        direction = side.sign
        held = abs(self.qty)
        self.fees += fee
        if self.qty == 0 or _sign(self.qty) == direction:
            # Opening or adding: the entry price becomes the size-weighted average.
            self.avg_price = (held * self.avg_price + qty * price) / (held + qty)
            self.qty += direction * qty
            return _ZERO
        closed = min(qty, held)
        realised = (price - self.avg_price) * closed * _sign(self.qty)
        self.realised_pnl += realised
        self.qty += direction * qty
        if self.qty == 0:
            self.avg_price = _ZERO
        elif qty > held:
            # Crossed through zero: what is left was opened at this fill's price.
            self.avg_price = price
        return realised

    def unrealised(self, mark: Decimal) -> Decimal:
        """PnL of the open quantity if it were closed at ``mark``."""
        return (mark - self.avg_price) * self.qty if self.qty else _ZERO

    def notional(self, mark: Decimal) -> Decimal:
        """Signed value of the position at ``mark``."""
        return self.qty * mark

    def net_pnl(self, mark: Decimal) -> Decimal:
        """Realised plus unrealised PnL, less fees paid."""
        return self.realised_pnl + self.unrealised(mark) - self.fees


def _mark(marks: Mapping[str, Decimal], symbol: str) -> Decimal:
    try:
        return marks[symbol]
    except KeyError:
        raise InvalidInput(f"no mark price for {symbol}, which has an open position") from None


@dataclass
class Portfolio:
    """Cash in the quote currency plus positions keyed by symbol."""

    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)

    def position(self, symbol: str) -> Position:
        """The position in ``symbol``, created flat on first use."""
        if symbol not in self.positions:
            self.positions[symbol] = Position(symbol)
        return self.positions[symbol]

    def apply_fill(self, fill: Fill) -> Decimal:
        """Book a fill against cash and its position; return the PnL it realised."""
        realised = self.position(fill.symbol).apply_fill(fill.side, fill.qty, fill.price, fill.fee)
        self.cash += -fill.side.sign * fill.qty * fill.price - fill.fee
        return realised

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Cash plus the marked value of every open position."""
        return self.cash + sum(
            (p.notional(_mark(marks, s)) for s, p in self.positions.items() if p.qty), _ZERO
        )

    def exposure(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Gross exposure: the sum of absolute position values."""
        return sum((abs(p.notional(_mark(marks, s))) for s, p in self.positions.items() if p.qty), _ZERO)

    def pnl(self, marks: Mapping[str, Decimal]) -> PnL:
        """PnL over all positions."""
        return pnl_of(self.positions.values(), marks)


@dataclass(frozen=True)
class PnL:
    """Realised and unrealised PnL with fees reported separately."""

    realised: Decimal
    unrealised: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        """Realised plus unrealised, less fees."""
        return self.realised + self.unrealised - self.fees


def pnl_of(positions: Iterable[Position], marks: Mapping[str, Decimal]) -> PnL:
    """Sum PnL over ``positions``; flat positions need no mark."""
    realised = unrealised = fees = _ZERO
    for p in positions:
        realised += p.realised_pnl
        fees += p.fees
        if p.qty:
            unrealised += p.unrealised(_mark(marks, p.symbol))
    return PnL(realised=realised, unrealised=unrealised, fees=fees)


def drawdown(equity: Decimal, peak: Decimal) -> Decimal:
    """Fall from ``peak`` to ``equity`` as a fraction of the peak (0 at/above the peak or if peak <= 0)."""
    if peak <= 0 or equity >= peak:
        return _ZERO
    return (peak - equity) / peak
