"""What a strategy's signal function returns: a target for every bar, how strongly, and why.

A :class:`Signal` holds one int8 target code per bar (``FLAT``, ``LONG``, ``HOLD``: the codes
the backtester reads), a strength in 0..1 per bar, and the indicator series behind it. The
backtest reads every bar of it; the live cycle reads its last bar (:meth:`Signal.at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from trading.errors import InvalidInput
from trading.models import Target
from trading.rules import CODE_FLAT, CODE_HOLD, CODE_LONG, CODE_TARGETS, TargetCodes

__all__ = ["CODE_FLAT", "CODE_HOLD", "CODE_LONG", "BarSignal", "Signal", "Target"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BarSignal:
    """The signal of one bar: the target, its strength (0..1), why, and the indicators' values."""

    target: Target
    strength: float
    reason: str
    indicators: dict[str, float] = field(default_factory=dict)


def _column(name: str, values: Any, n: int, dtype: Any) -> npt.NDArray[Any]:
    """A read-only view of one value per bar (no copy when it already is one)."""
    a = np.asarray(values, dtype=dtype)
    if a.ndim == 0:
        a = np.full(n, a, dtype=dtype)
    if a.shape != (n,):
        raise InvalidInput(f"signal: {name} must have one value per bar ({n}), got shape {a.shape}")
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, init=False)
class Signal:
    """Targets, strengths and indicator series of every bar of a window (all of one length)."""

    target: TargetCodes
    strength: FloatArray
    indicators: Mapping[str, FloatArray]

    def __init__(
        self,
        target: npt.ArrayLike,
        strength: npt.ArrayLike | float = 1.0,
        indicators: Mapping[str, npt.ArrayLike] | None = None,
    ) -> None:
        codes = np.asarray(target)
        if codes.ndim != 1:
            raise InvalidInput(f"signal: target must be one code per bar, got {codes.ndim} dimensions")
        n = codes.size
        if n and (codes.min() < CODE_FLAT or codes.max() > CODE_HOLD or codes.dtype.kind not in "iub"):
            raise InvalidInput("signal: target codes must be Signal.FLAT, Signal.LONG or Signal.HOLD")
        object.__setattr__(self, "target", _column("target", codes, n, np.int8))
        s = _column("strength", strength, n, np.float64)
        with np.errstate(invalid="ignore"):
            s = np.where(np.isfinite(s), np.clip(s, 0.0, 1.0), 0.0)
        s[self.target == CODE_HOLD] = 0.0
        s.flags.writeable = False
        object.__setattr__(self, "strength", s)
        cols = {str(k): _column(f"indicator {k!r}", v, n, np.float64) for k, v in (indicators or {}).items()}
        object.__setattr__(self, "indicators", cols)

    FLAT = CODE_FLAT
    LONG = CODE_LONG
    HOLD = CODE_HOLD

    @classmethod
    def where(
        cls,
        *,
        long: npt.ArrayLike,
        flat: npt.ArrayLike,
        strength: npt.ArrayLike | float = 1.0,
        indicators: Mapping[str, npt.ArrayLike] | None = None,
    ) -> Signal:
        """LONG where ``long`` holds, else FLAT where ``flat`` holds, else HOLD (NaN reads as neither)."""
        lo, fl = np.asarray(long, dtype=bool), np.asarray(flat, dtype=bool)
        codes = np.where(lo, CODE_LONG, np.where(fl, CODE_FLAT, CODE_HOLD)).astype(np.int8)
        return cls(codes, strength, indicators)

    @classmethod
    def hold(cls, n: int) -> Signal:
        """HOLD on every one of ``n`` bars."""
        return cls(np.full(n, CODE_HOLD, dtype=np.int8), 0.0)

    def __len__(self) -> int:
        return int(self.target.size)

    def masked(self, before: int) -> Signal:
        """The same signal with HOLD on the bars before index ``before`` (the warm-up)."""
        if before <= 0:
            return self
        codes, strength = self.target.copy(), self.strength.copy()
        codes[:before] = CODE_HOLD
        strength[:before] = 0.0
        codes.flags.writeable = strength.flags.writeable = False
        out = object.__new__(Signal)  # the columns are checked already: no second pass
        object.__setattr__(out, "target", codes)
        object.__setattr__(out, "strength", strength)
        object.__setattr__(out, "indicators", self.indicators)
        return out

    def at(self, i: int, reason: str) -> BarSignal:
        """Bar ``i`` (``-1``: the latest) as one :class:`BarSignal`."""
        values = {k: float(v[i]) for k, v in self.indicators.items() if np.isfinite(v[i])}
        return BarSignal(CODE_TARGETS[int(self.target[i])], float(self.strength[i]), reason, values)
