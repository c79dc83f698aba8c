"""Strategy types: validated parameters, warm-up length and a pure ``closes -> Signal`` rule.

Each rule also exists vectorised: ``StrategySpec.targets`` gives, for every bar, the target
``evaluate`` would give on the closes up to that bar, as one int8 code per bar (``CODE_FLAT``,
``CODE_LONG``, ``CODE_HOLD``). Both go through the same comparison helpers
(:func:`sma_cross_codes`, :func:`rsi_reversion_codes`), so live trading and the backtester
cannot drift apart.
"""

from __future__ import annotations

import builtins
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from trading.analysts import NewsReport, combine, gate_confidence, technical_report
from trading.errors import InvalidInput, UnknownStrategyType
from trading.indicators import FloatArray, rsi, sma, to_floats
from trading.models import Target

# Largest position size accepted (base units): beyond it, amounts leave NUMERIC(38, 18).
MAX_SIZE = Decimal("1e12")

# Bars a backtest may evaluate bar by bar (a strategy without a vectorised rule: O(n²)).
MAX_PREFIX_BARS = 20_000

# A relative gap between the SMAs of this size (2%) or more gives full strength.
FULL_STRENGTH_GAP = 0.02

# Relative SMA gaps smaller than this are float noise (cumulative sums), read as equal.
_EQUAL_GAP = 1e-12

P = TypeVar("P", bound=BaseModel)

# Target codes of the vectorised rules: one int8 per bar.
CODE_FLAT = 0
CODE_LONG = 1
CODE_HOLD = 2  # keep whatever is held (also every warm-up bar)
TargetCodes = npt.NDArray[np.int8]
# The Target of each code (index by code) and the code of each Target.
CODE_TARGETS = (Target.FLAT, Target.LONG, Target.HOLD)
TARGET_CODES = {t: np.int8(i) for i, t in enumerate(CODE_TARGETS)}


def sma_cross_codes(fast: FloatArray, slow: FloatArray) -> TargetCodes:
    """The ``sma_cross`` rule on aligned SMA series: LONG where fast is above slow, FLAT below,
    HOLD where they are equal (relative gap under ``_EQUAL_GAP``) or not yet defined (NaN)."""
    with np.errstate(invalid="ignore"):
        gap = (fast - slow) / slow
        codes = np.where(fast > slow, CODE_LONG, CODE_FLAT).astype(np.int8)
        codes[~(np.abs(gap) >= _EQUAL_GAP)] = CODE_HOLD
    return codes


def rsi_reversion_codes(r: FloatArray, lower: float, upper: float) -> TargetCodes:
    """The ``rsi_reversion`` rule on an RSI series: LONG below ``lower``, FLAT above ``upper``,
    HOLD in between and where the RSI is not yet defined (NaN)."""
    codes = np.full(r.shape, CODE_HOLD, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        codes[r < lower] = CODE_LONG
        codes[r > upper] = CODE_FLAT
    return codes


def _not_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


Int = Annotated[int, BeforeValidator(_not_bool)]
Num = Annotated[float, BeforeValidator(_not_bool)]


def _check_slow_above_fast(params: Any) -> Any:
    """Shared validator: a slow window must be longer than the fast one."""
    if params.slow <= params.fast:
        raise ValueError(f"slow ({params.slow}) must be greater than fast ({params.fast})")
    return params


class SmaCrossParams(BaseModel):
    """Parameters of ``sma_cross``: fast and slow SMA lengths and the position size in base units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: Int = Field(default=10, ge=1)
    slow: Int = Field(default=30, ge=1)
    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE)

    _slow_above_fast = model_validator(mode="after")(_check_slow_above_fast)


class RsiReversionParams(BaseModel):
    """Parameters of ``rsi_reversion``: RSI period, oversold/overbought levels and position size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Int = Field(default=14, ge=2)
    lower: Num = Field(default=30, gt=0, lt=100)
    upper: Num = Field(default=70, gt=0, lt=100)
    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE)

    @model_validator(mode="after")
    def _lower_below_upper(self) -> RsiReversionParams:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower:g}) must be less than upper ({self.upper:g})")
        return self


@dataclass(frozen=True)
class Signal:
    """What a strategy wants now, how strongly (0..1), why, and the indicator values behind it."""

    target: Target
    strength: float
    reason: str
    indicators: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise InvalidInput(f"signal strength must be within 0..1, got {self.strength}")


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown parameter {where!r}")
            continue
        msg = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _fmt(x: float) -> str:
    return format(x, ".8g")


def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


class StrategySpec(ABC):
    """One strategy type: its parameter model, warm-up and evaluation rule."""

    type: ClassVar[str]
    params_model: ClassVar[builtins.type[BaseModel]]
    # Whether the analysis needs whole candles (with times and volumes), not only closes.
    needs_candles: ClassVar[bool] = False

    def parse_params(self, raw: Mapping[str, Any] | None) -> BaseModel:
        """Validate raw parameters (defaults fill gaps); ``InvalidInput`` names the field at fault."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{self.type} parameters must be an object, got {type(raw).__name__}")
        try:
            return self.params_model.model_validate(dict(raw))
        except ValidationError as e:
            raise InvalidInput(f"invalid {self.type} parameters: {_describe(e)}") from None

    @abstractmethod
    def warmup(self, params: BaseModel) -> int:
        """Number of closes needed before the strategy gives a LONG/FLAT signal."""

    @abstractmethod
    def evaluate(self, closes: Sequence[Decimal], params: BaseModel) -> Signal:
        """Signal for the latest close in ``closes`` (oldest first)."""

    def targets(self, closes: FloatArray, params: BaseModel) -> TargetCodes:
        """Target code of every bar: ``targets(closes)[t]`` is what ``evaluate(closes[:t+1])`` gives.

        This default runs the live ``evaluate`` on every prefix (the same code, but O(n²));
        strategies with a vectorised rule override it.
        """
        x = self._price_array(closes)
        if x.size > MAX_PREFIX_BARS:
            raise InvalidInput(
                f"{self.type} has no vectorised rule: its backtest evaluates the live rule bar by bar, "
                f"which is limited to {MAX_PREFIX_BARS} bars (got {x.size}); use the last N bars"
            )
        prices = [Decimal(v) for v in x.tolist()]  # exact: Decimal(float) keeps every bit
        codes = [TARGET_CODES[self.evaluate(prices[: t + 1], params).target] for t in range(x.size)]
        return np.array(codes, dtype=np.int8)

    def _params(self, params: BaseModel, model: builtins.type[P]) -> P:
        if not isinstance(params, model):
            raise InvalidInput(f"{self.type} expects {model.__name__}, got {type(params).__name__}")
        return params

    @classmethod
    def _prices(cls, closes: Sequence[Decimal]) -> FloatArray:
        return cls._price_array(to_floats(closes))

    @staticmethod
    def _price_array(closes: FloatArray) -> FloatArray:
        x = np.asarray(closes, dtype=np.float64)
        if x.ndim != 1:
            raise InvalidInput(f"closes must be a one-dimensional array, got {x.ndim} dimensions")
        if not np.all(np.isfinite(x)) or np.any(x <= 0):
            raise InvalidInput("closes must be positive finite prices")
        return x

    def _warming_up(self, have: int, need: int) -> Signal:
        return Signal(Target.HOLD, 0.0, f"warming up: have {have} of {need} bars")


class SmaCross(StrategySpec):
    """Long while the fast SMA is above the slow SMA, flat while it is below."""

    type = "sma_cross"
    params_model = SmaCrossParams

    def warmup(self, params: BaseModel) -> int:
        """Bars until the slow SMA exists."""
        return self._params(params, SmaCrossParams).slow

    def evaluate(self, closes: Sequence[Decimal], params: BaseModel) -> Signal:
        """LONG above, FLAT below; the reason says whether the cross happened on this bar."""
        p = self._params(params, SmaCrossParams)
        if len(closes) < p.slow:
            return self._warming_up(len(closes), p.slow)
        x = self._prices(closes)
        fast, slow = sma(x, p.fast), sma(x, p.slow)
        f, s = float(fast[-1]), float(slow[-1])
        gap = (f - s) / s
        indicators = {"fast_sma": f, "slow_sma": s, "gap": gap}
        code = sma_cross_codes(fast[-1:], slow[-1:])[0]
        if code == CODE_HOLD:
            return Signal(Target.HOLD, 0.0, f"fast SMA {_fmt(f)} equals slow SMA {_fmt(s)}", indicators)
        above = code == CODE_LONG
        word = "above" if above else "below"
        diff = (fast - slow)[p.slow - 1 :]  # defined part only
        same = diff > 0 if above else diff < 0
        run = int(np.argmin(same[::-1])) if not same.all() else len(same)
        if run == 1 and len(same) > 1:
            reason = f"fast SMA {_fmt(f)} crossed {word} slow SMA {_fmt(s)}"
        else:
            bars = f"{run} bar" if run == 1 else f"{run} bars"
            since = bars if run < len(same) else f"at least {bars}"
            reason = f"fast SMA {_fmt(f)} {word} slow SMA {_fmt(s)} since {since}"
        return Signal(CODE_TARGETS[code], _clip01(abs(gap) / FULL_STRENGTH_GAP), reason, indicators)

    def targets(self, closes: FloatArray, params: BaseModel) -> TargetCodes:
        """Vectorised: both SMAs over the whole series (cumulative sums), then the shared rule."""
        p = self._params(params, SmaCrossParams)
        x = self._price_array(closes)
        return sma_cross_codes(sma(x, p.fast), sma(x, p.slow))


class RsiReversion(StrategySpec):
    """Buy when RSI is oversold (below ``lower``), go flat when overbought (above ``upper``)."""

    type = "rsi_reversion"
    params_model = RsiReversionParams

    def warmup(self, params: BaseModel) -> int:
        """Bars until the first RSI value (period changes need period + 1 closes)."""
        return self._params(params, RsiReversionParams).period + 1

    def evaluate(self, closes: Sequence[Decimal], params: BaseModel) -> Signal:
        """LONG below ``lower``, FLAT above ``upper``, HOLD in between."""
        p = self._params(params, RsiReversionParams)
        need = p.period + 1
        if len(closes) < need:
            return self._warming_up(len(closes), need)
        last = rsi(self._prices(closes), p.period)[-1:]
        r = float(last[0])
        if math.isnan(r):  # pragma: no cover - closes are checked finite above
            raise InvalidInput("RSI could not be computed from these closes")
        indicators = {"rsi": r}
        code = rsi_reversion_codes(last, p.lower, p.upper)[0]
        if code == CODE_LONG:
            strength = _clip01((p.lower - r) / p.lower)
            reason = f"RSI {r:.1f} below {p.lower:g} (oversold)"
            return Signal(Target.LONG, strength, reason, indicators)
        if code == CODE_FLAT:
            strength = _clip01((r - p.upper) / (100.0 - p.upper))
            reason = f"RSI {r:.1f} above {p.upper:g} (overbought)"
            return Signal(Target.FLAT, strength, reason, indicators)
        reason = f"RSI {r:.1f} between {p.lower:g} and {p.upper:g}"
        return Signal(Target.HOLD, 0.0, reason, indicators)

    def targets(self, closes: FloatArray, params: BaseModel) -> TargetCodes:
        """Vectorised rule on the RSI series (the RSI itself is one sequential Wilder pass)."""
        p = self._params(params, RsiReversionParams)
        return rsi_reversion_codes(rsi(self._price_array(closes), p.period), p.lower, p.upper)


class AgentParams(BaseModel):
    """Parameters of ``agent``: what the analysts read, how the decision is taken, and the size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: Decimal = Field(default=Decimal("1"), gt=0, le=MAX_SIZE)
    fast: Int = Field(default=10, ge=2)
    slow: Int = Field(default=30, ge=3)
    rsi_period: Int = Field(default=14, ge=2)
    # News: how far back the news analyst looks, and how fast old news fade.
    news_lookback_h: Num = Field(default=72.0, gt=0)
    news_half_life_h: Num = Field(default=24.0, gt=0)
    news_weight: Num = Field(default=0.3, ge=0, le=1)
    # The analysts' own rule: act when the combined score is beyond this.
    threshold: Num = Field(default=0.25, gt=0, le=1)
    # Below this confidence a buy or sell becomes a hold, whoever proposed it.
    min_confidence: Num = Field(default=0.55, ge=0, le=1)
    # Ask the language model (when one is configured and the budget allows), and how many
    # bull/bear debate rounds come before its verdict.
    use_llm: bool = True
    debate_rounds: Int = Field(default=0, ge=0, le=5)

    _slow_above_fast = model_validator(mode="after")(_check_slow_above_fast)


class Agent(StrategySpec):
    """The agent graph's strategy: technical and news analysts, optionally an LLM; ``evaluate`` is
    the technical analyst alone on closes (what the agent does with no news and no model)."""

    type = "agent"
    params_model = AgentParams
    needs_candles: ClassVar[bool] = True

    def warmup(self, params: BaseModel) -> int:
        """Bars until every indicator of the technical analyst exists."""
        p = self._params(params, AgentParams)
        return max(p.slow, p.rsi_period + 1) + 1

    def evaluate(self, closes: Sequence[Decimal], params: BaseModel) -> Signal:
        """The technical score against the threshold, confidence-gated."""
        p = self._params(params, AgentParams)
        if len(closes) < self.warmup(p):
            return self._warming_up(len(closes), self.warmup(p))
        tech = technical_report(self._prices(closes), fast=p.fast, slow=p.slow, rsi_period=p.rsi_period)
        v = gate_confidence(
            combine(tech, NewsReport((), 0.0, "no news"), news_weight=0.0, threshold=p.threshold),
            p.min_confidence,
        )
        return Signal(v.target, v.confidence if v.call != "hold" else 0.0, v.rationale, tech.indicators)


STRATEGIES: dict[str, StrategySpec] = {spec.type: spec for spec in (SmaCross(), RsiReversion(), Agent())}


def get_strategy(type: str) -> StrategySpec:
    """The registered strategy of this type, or ``UnknownStrategyType`` naming the known ones."""
    try:
        return STRATEGIES[type]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise UnknownStrategyType(f"unknown strategy type {type!r}; known types: {known}") from None
