"""The order gate's rule: may this order be placed, given the global and the strategy's control state.

Two gates stand in front of every placement: NeuroHub's (global) and the strategy's own.
Each is ``active`` (anything goes), ``reducing`` (only orders that shrink the position),
``halted`` (nothing, except the flattening orders that the halt in force asked for) or,
for a strategy, ``stopped`` (nothing at all). The strictest gate wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from trading.models import Side

GateState = Literal["active", "reducing", "halted", "stopped"]
GATE_STATES: tuple[GateState, ...] = ("active", "reducing", "halted", "stopped")


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate's state; ``halt_id`` names the halt in force, ``flatten`` whether it asked to flatten."""

    state: GateState = "active"
    halt_id: str = ""
    flatten: bool = False
    reason: str = ""


def reduces(side: Side, qty: Decimal, position_qty: Decimal) -> bool:
    """True if the order only shrinks the position towards zero (it never crosses through it)."""
    if qty <= 0:
        return False
    if side is Side.SELL:
        return Decimal(0) < qty <= position_qty
    return Decimal(0) < qty <= -position_qty


def refusal(
    *, scope: str, gate: Gate, side: Side, qty: Decimal, position_qty: Decimal, flatten_of: str = ""
) -> str | None:
    """Why ``gate`` refuses the order, or None if it lets it through."""
    if gate.state == "active":
        return None
    why = f" ({gate.reason})" if gate.reason else ""
    if gate.state == "stopped":
        return f"{scope} stopped{why}"
    if gate.state == "reducing":
        if reduces(side, qty, position_qty):
            return None
        held = f"a {side.value} of {qty} against {position_qty} held"
        return f"{scope} is reduce-only{why}: {held} does not reduce"
    if flatten_of and gate.flatten and flatten_of == gate.halt_id and reduces(side, qty, position_qty):
        return None
    return f"{scope} halted{why}"


def admit(
    *, hub: Gate, strategy: Gate, side: Side, qty: Decimal, position_qty: Decimal, flatten_of: str = ""
) -> str | None:
    """None if both gates let the order through; otherwise the first gate's reason for refusing it."""
    for scope, gate in (("trading", hub), ("strategy", strategy)):
        reason = refusal(
            scope=scope, gate=gate, side=side, qty=qty, position_qty=position_qty, flatten_of=flatten_of
        )
        if reason is not None:
            return reason
    return None
