"""The strategy contract: a params model, a warm-up, and one signal function over closed bars.

A strategy is a class::

    class Breakout(Strategy):
        '''Long above the highest high of the last ``n`` bars, flat below the lowest low.'''

        name = "breakout"
        params_model = BreakoutParams

        def warmup(self, p: BreakoutParams) -> int:
            return p.n + 1

        def signal(self, bars: Bars, p: BreakoutParams) -> Signal:
            hi = indicators.shift(indicators.rolling_max(bars.high, p.n), 1)
            lo = indicators.shift(indicators.rolling_min(bars.low, p.n), 1)
            return Signal.where(long=bars.close > hi, flat=bars.close < lo)

``signal`` sees every bar of a window at once and returns a target per bar; the backtest
calls it once on the whole series, the live cycle on the latest window and reads the last
bar. For the two to agree, the target of bar ``t`` may depend only on bars ``t - warmup + 1``
to ``t``: the look-ahead and recursion checks (:mod:`asts.checks`) prove it before a
strategy is accepted. A fresh instance serves every call, so nothing is remembered between
calls that the backtest would not have.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from asts.bars import Bars
from asts.signal import BarSignal, Signal
from trading.errors import InvalidInput
from trading.exits import Exits
from trading.models import Direction

__all__ = ["MAX_SIZE", "Field", "Int", "Num", "Params", "Strategy", "describe_errors"]

from trading.rules import MAX_SIZE


def _not_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


# Numbers that refuse true/false (pydantic would read them as 1 and 0).
Int = Annotated[int, BeforeValidator(_not_bool)]
Num = Annotated[float, BeforeValidator(_not_bool)]


class Params(BaseModel):
    """Base of every strategy's parameters: immutable, unknown names refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe_errors(e: ValidationError) -> str:
    """A pydantic validation error as one sentence naming each field at fault."""
    parts = []
    for err in e.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown parameter {where!r}")
            continue
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


class Strategy:
    """Base of every strategy type (see the module docstring for the contract)."""

    name: ClassVar[str]
    params_model: ClassVar[builtins.type[BaseModel]] = Params
    # One line for listings; the class docstring's first line when not set.
    description: ClassVar[str] = ""
    # Other symbols the signal reads (``bars.peer``): live, the strategy's other symbols of its
    # cycle; in a backtest, the series given with it; in the checks, bundled walks of their own.
    peers: ClassVar[tuple[str, ...]] = ()
    # The protective exits attached to every position it opens, e.g.
    # ``Exits(stop_loss=Decimal("0.02"), trailing=Decimal("0.05"))``; a strategy's config may
    # set its own instead. Live they rest at the venue; the backtest applies the same rules.
    exits: ClassVar[Exits | None] = None
    # "long_short": a FLAT target means short, live (where the venue allows shorts) as in the
    # backtest; "long": FLAT means no position. A strategy's config may set its own.
    direction: ClassVar[Direction] = "long"

    def warmup(self, p: Any) -> int:
        """Bars the signal of a bar depends on, that bar included (before that: HOLD)."""
        raise NotImplementedError

    def signal(self, bars: Bars, p: Any) -> Signal:
        """The target of every bar of ``bars`` (one window of closed bars, oldest first)."""
        raise NotImplementedError

    def reason(self, bars: Bars, p: Any, signal: Signal) -> str:
        """Why the latest bar's target is what it is (recorded with every live decision)."""
        i = len(bars) - 1
        shown = ", ".join(f"{k} {float(v[i]):.8g}" for k, v in signal.indicators.items())
        target = signal.at(i, "").target.value
        return f"{self.name}: {target}" + (f" ({shown})" if shown else "")

    # ---- what the engine calls (not meant to be overridden) --------------------------------

    @classmethod
    def summary(cls) -> str:
        """The one-line description."""
        if cls.description:
            return cls.description
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else cls.name

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any] | None) -> BaseModel:
        """Validate raw parameters (defaults fill gaps); ``InvalidInput`` names the field at fault."""
        if raw is None:
            raw = {}
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{cls.name} parameters must be an object, got {type(raw).__name__}")
        try:
            return cls.params_model.model_validate(dict(raw))
        except ValidationError as e:
            raise InvalidInput(f"invalid {cls.name} parameters: {describe_errors(e)}") from None

    @classmethod
    def warmup_of(cls, p: BaseModel) -> int:
        """The declared warm-up, checked to be a whole number of bars of at least one."""
        n = cls().warmup(p)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInput(f"{cls.name}.warmup must return a whole number of bars >= 1, got {n!r}")
        return n

    @classmethod
    def targets(cls, bars: Bars, p: BaseModel) -> Signal:
        """The signal of every bar, HOLD while fewer than the warm-up's bars are there."""
        sig = cls().signal(bars, p)
        if not isinstance(sig, Signal):
            raise InvalidInput(f"{cls.name}.signal must return a Signal, got {type(sig).__name__}")
        if len(sig) != len(bars):
            raise InvalidInput(f"{cls.name}.signal gave {len(sig)} targets for {len(bars)} bars")
        return sig.masked(cls.warmup_of(p) - 1)

    @classmethod
    def latest(cls, bars: Bars, p: BaseModel) -> BarSignal:
        """The live decision: the signal of the window's last bar, read off its last ``warmup``
        bars (what the recursion check proves equal to the whole series' signal); its reason may
        look at the whole window (a cross "since 12 bars")."""
        need = cls.warmup_of(p)
        if len(bars) < need:
            return Signal.hold(1).at(0, f"warming up: have {len(bars)} of {need} bars")
        window = cls.targets(bars.last(need), p)
        whole = window if len(bars) == need else cls.targets(bars, p)
        decided = window.at(-1, "")
        reason = cls().reason(bars, p, whole)
        return BarSignal(decided.target, decided.strength, reason, decided.indicators)
