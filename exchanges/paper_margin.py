"""The paper venue's margin account: short positions, their interest, margin and liquidation.

A margin account is one cross-margin account in the venue's quote currency:

- A sell of more than the base asset held borrows the rest: the asset's balance goes negative (a
  short). A buy of it repays the loan first. Longs are paid in cash; cash is never borrowed.
- Equity is the quote balance plus every asset's balance (negative while short) at its series'
  current close. The shorts' value is what is borrowed at those closes.
- Opening: a sell that borrows is placed only while equity, less what open buys reserve, covers
  ``initial`` times the value of every short the account would hold once all its resting sells
  fill (``InsufficientBalance`` otherwise, with the figures).
- Interest: at every bar's close, each short is charged ``borrow_rate`` a year on its value at
  that close, pro rata to the bar's length, in the quote currency (to 8 decimals, half up).
- Liquidation: at the first bar whose close leaves equity below ``maintenance`` times the shorts'
  value, the venue cancels every resting order of the shorted symbols and buys every short back
  at that close, with the venue's slippage and fee, as a market order whose client order id is
  ``liquidation-<bar>-<asset>``; the strategy's reconcile step records it in the books of the
  strategy holding the short, with a ``liquidated`` event. For one short of ``q`` units with
  ``E0`` of equity besides it, that is the first close at or above
  ``E0 / (q * (1 + maintenance))`` (:func:`liquidation_price`).

A spot account (no :class:`PaperMargin`) refuses every sell of more than it holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from exchanges.paper_db import add_balance, balance_rows, dec
from trading.errors import InsufficientBalance

_ZERO = Decimal(0)
LIQUIDATION_PREFIX = "liquidation-"  # the client order id of a liquidation starts so
_YEAR_S = Decimal(365 * 86400)
_CHARGE_STEP = Decimal("1e-8")  # interest is charged to the 8th decimal of the quote currency
_Fraction = Annotated[Decimal, Field(ge=0, le=1)]


class PaperMargin(BaseModel):
    """The terms of the paper venue's margin account (``ASTS_PAPER_MARGIN`` as JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    borrow_rate: _Fraction = Decimal("0.05")  # a year, on the value of what is borrowed
    initial: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.5")  # equity to open, per short value
    maintenance: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.1")  # below this: liquidation

    @model_validator(mode="after")
    def _ordered(self) -> PaperMargin:
        if self.maintenance >= self.initial:
            raise ValueError(
                f"the maintenance margin ({self.maintenance}) must be below "
                f"the initial margin ({self.initial})"
            )
        return self


@dataclass(frozen=True, slots=True)
class MarginState:
    """The margin account at the current bar (the paper venue's ``margin_account``)."""

    equity: Decimal
    shorts: dict[str, Decimal]  # borrowed units per asset
    short_value: Decimal
    required: Decimal  # initial margin of the shorts held
    maintenance: Decimal  # the equity under which they are liquidated
    interest_paid: Decimal  # since the account opened, in the quote currency

    @property
    def level(self) -> Decimal | None:
        """Equity over the shorts' value (None without shorts)."""
        return self.equity / self.short_value if self.short_value else None


def _totals(conn: sqlite3.Connection) -> dict[str, tuple[Decimal, Decimal]]:
    return {a: (dec(t), dec(r)) for a, t, r in balance_rows(conn)}


def equity(conn: sqlite3.Connection, prices: Mapping[str, Decimal]) -> Decimal:
    """The quote balance plus every asset at its price (``prices``: per asset, 1 for the quote;
    an asset without a price counts nothing)."""
    return sum((total * prices.get(a, _ZERO) for a, (total, _) in _totals(conn).items()), _ZERO)


def shorts(conn: sqlite3.Connection) -> dict[str, Decimal]:
    """Borrowed units per asset."""
    return {a: -total for a, (total, _) in _totals(conn).items() if total < 0}


def check_open(
    conn: sqlite3.Connection,
    terms: PaperMargin,
    prices: Mapping[str, Decimal],
    *,
    asset: str,
    qty: Decimal,
    quote: str,
    what: str,
) -> None:
    """Refuse (``InsufficientBalance``) a sell of ``qty`` ``asset`` that would borrow more than
    the account's equity can carry at the initial margin."""
    totals = _totals(conn)
    projected: dict[str, Decimal] = {a: total - reserved for a, (total, reserved) in totals.items()}
    projected[asset] = projected.get(asset, _ZERO) - qty
    if projected[asset] >= 0:
        return  # it sells what is held: nothing is borrowed
    value = sum((-p * prices.get(a, _ZERO) for a, p in projected.items() if p < 0 and a != quote), _ZERO)
    required = terms.initial * value
    eq = equity(conn, prices)
    available = eq - totals.get(quote, (_ZERO, _ZERO))[1]
    if required > available:
        raise InsufficientBalance(
            f"cannot {what}: it would take the short to {-projected[asset]} {asset}, "
            f"and shorts worth {value} {quote} "
            f"need {required} {quote} of equity at the initial margin {terms.initial}, but only "
            f"{available} {quote} is free (equity {eq})"
        )


def charge_interest(
    conn: sqlite3.Connection,
    terms: PaperMargin,
    prices: Mapping[str, Decimal],
    bar_s: Mapping[str, Decimal],
    *,
    quote: str,
) -> Decimal:
    """Charge one bar's interest on every short at ``prices`` (``bar_s``: each asset's bar length
    in seconds) to the quote balance; returns what was charged."""
    if not terms.borrow_rate:
        return _ZERO
    due = sum(
        ((q * prices[a] * terms.borrow_rate * bar_s[a] / _YEAR_S).quantize(_CHARGE_STEP, ROUND_HALF_UP)
         for a, q in shorts(conn).items() if a in prices),
        _ZERO,
    )  # fmt: skip
    if due:
        add_balance(conn, quote, -due, _ZERO)
        row = conn.execute("SELECT value FROM meta WHERE key = 'interest_paid'").fetchone()
        paid = (dec(row["value"]) if row else _ZERO) + due
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('interest_paid', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(paid)],
        )
    return due


def state(conn: sqlite3.Connection, terms: PaperMargin, prices: Mapping[str, Decimal]) -> MarginState:
    """The account as :class:`MarginState` at ``prices``."""
    held = shorts(conn)
    value = sum((q * prices.get(a, _ZERO) for a, q in held.items()), _ZERO)
    row = conn.execute("SELECT value FROM meta WHERE key = 'interest_paid'").fetchone()
    return MarginState(
        equity=equity(conn, prices),
        shorts=held,
        short_value=value,
        required=terms.initial * value,
        maintenance=terms.maintenance * value,
        interest_paid=dec(row["value"]) if row else _ZERO,
    )


def under_maintenance(conn: sqlite3.Connection, terms: PaperMargin, prices: Mapping[str, Decimal]) -> bool:
    """True when the account's equity at ``prices`` is below the maintenance margin of its shorts."""
    now = state(conn, terms, prices)
    return now.short_value > 0 and now.equity < now.maintenance


def liquidation_price(equity_besides: Decimal, qty: Decimal, maintenance: Decimal) -> Decimal:
    """The close at which one short of ``qty`` units is liquidated, ``equity_besides`` being the
    account's equity without it (its cash, proceeds included, and any other asset)."""
    return equity_besides / (qty * (1 + maintenance))
