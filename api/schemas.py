"""Request and response bodies, kept apart from ORM rows."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from activities.bounds import Amount, FreeMapping, Name, Symbol, decimal_string
from activities.contracts import ApprovalOutcome, ControlResult, LlmBudget, StrategyAck, StrategyStatus
from trading.breakers import BreakerLimits
from trading.exits import Exits
from trading.scanner import ScanCriteria
from trading.sizing import Sizing

T = TypeVar("T")

# A duration is short: the length is checked before anything else looks at the text, and the
# number is matched by an anchored pattern with no nested or adjacent optional repeats (the
# whitespace is stripped first), so parsing takes time linear in at most this many characters.
MAX_DURATION_CHARS = 32
_NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
DURATION_PATTERN = r"^\s*[0-9]{1,12}(\.[0-9]{1,9})?\s*(ms|s|m|h)?\s*$"
MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 7 * 86400.0


def parse_interval(
    value: object, *, low: float = MIN_INTERVAL_S, high: float = MAX_INTERVAL_S, what: str = "interval"
) -> float:
    """Seconds from a number of seconds or a duration like "500ms", "5s", "1m", "1h", in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what} must be a number of seconds or a duration like '5s'")
    if isinstance(value, str):
        if len(value) > MAX_DURATION_CHARS:
            raise ValueError(
                f"{what} is {len(value)} characters long; a duration has at most {MAX_DURATION_CHARS}"
            )
        text = value.strip()
        number = text.rstrip("mhs")
        unit = text[len(number) :]
        if unit not in _UNITS or not _NUMBER.fullmatch(number.rstrip()):
            raise ValueError(f"{what} {text!r} is not a duration like '500ms', '5s', '1m' or '1h'")
        seconds = float(number) * _UNITS[unit]
    else:
        try:
            seconds = float(value)
        except OverflowError:
            seconds = float("inf")
    if not low <= seconds <= high:  # NaN fails too
        got = f"{seconds:g}s" if math.isfinite(seconds) else "a number out of range"
        raise ValueError(f"{what} must be between {_shown(low)} and {_shown(high)}, got {got}")
    return seconds


def _shown(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("s", 1.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}" if unit == "days" else f"{seconds / size:g}{unit}"
    return f"{seconds * 1000:g}ms"


def duration_schema(high: float) -> WithJsonSchema:
    """The JSON schema of a duration: seconds (a number, or a string like "5s") from 50ms to ``high``."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": MIN_INTERVAL_S, "maximum": high},
                {"type": "string", "maxLength": MAX_DURATION_CHARS, "pattern": DURATION_PATTERN},
            ],
            "description": f"seconds, or a duration like '500ms', '5s', '1m', '1h' (50ms to {_shown(high)})",
        }
    )


# A strategy's cycle interval or approval timeout, in seconds (parsed from "5s" and the like).
Interval = Annotated[float, PlainValidator(parse_interval), duration_schema(MAX_INTERVAL_S)]
# How long a halt or resume waits for the strategies' acknowledgements (HubCommand.ack_timeout_s).
AckTimeout = Annotated[
    float,
    PlainValidator(functools.partial(parse_interval, high=3600.0, what="ack_timeout")),
    duration_schema(3600.0),
]


# A strategy trades at most this many scanned symbols per cycle (as many as fixed symbols).
MAX_UNIVERSE_TOP = 50

# What ``risk`` and ``breakers`` take, as the schema states it: trading.risk.RiskLimits.from_mapping
# and BreakerLimits.from_mapping parse them (with their own reasons), and refuse any other key.
_POSITIVE: dict[str, Any] = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}
RISK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "allowed_symbols": {
            "anyOf": [
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 64},
                    "minItems": 1,
                    "maxItems": 1000,
                },
                {"type": "null"},
            ]
        },
        "max_position_qty": _POSITIVE,
        "max_order_notional": _POSITIVE,
        "max_daily_loss": _POSITIVE,
        "max_drawdown": {
            "anyOf": [{"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, {"type": "null"}]
        },
        "max_gross_exposure": _POSITIVE,
        "max_leverage": _POSITIVE,
        "max_concentration": {
            "anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1}, {"type": "null"}]
        },
    },
    "description": (
        "per-strategy limits (null or left out: none); max_drawdown is a fraction of peak equity; "
        "max_gross_exposure is the sum of the positions' absolute notionals, max_leverage that sum "
        "over equity, max_concentration one symbol's absolute notional over equity"
    ),
}
BREAKERS_SCHEMA: dict[str, Any] = BreakerLimits.model_json_schema() | {"title": "Breakers"}
for _amount in ("daily_loss", "max_drawdown", "max_gross_exposure", "max_leverage"):
    decimal_string(BREAKERS_SCHEMA["properties"][_amount])
RiskMapping = Annotated[FreeMapping, WithJsonSchema(RISK_SCHEMA)]
BreakersMapping = Annotated[FreeMapping, WithJsonSchema(BREAKERS_SCHEMA)]


class StrategyCreate(BaseModel):
    """Body of ``POST /strategies``."""

    # The schema states the rule of ``_symbols_or_universe``: fixed symbols, or a universe.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["symbols"],
                    "properties": {"symbols": {"minItems": 1}, "universe": {"type": "null"}},
                },
                {
                    "required": ["universe"],
                    "properties": {"universe": {"type": "object"}, "symbols": {"maxItems": 0}},
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, examples=["sma on msft"])
    type: str = Field(min_length=1, max_length=50, examples=["sma_cross"])
    exchange: Name = Field(default="paper", examples=["paper"])
    # Scan this universe every cycle and trade its top N (at most 50) instead of fixed symbols.
    universe: ScanCriteria | None = None
    symbols: list[Symbol] = Field(
        default_factory=list,
        max_length=50,
        validate_default=True,
        examples=[["MSFT/USD"]],
        json_schema_extra={"uniqueItems": True},
    )
    interval: Interval = Field(default="10s", validate_default=True)
    params: FreeMapping = Field(default_factory=dict, examples=[{"fast": 5, "slow": 20}])
    risk: RiskMapping = Field(default_factory=dict)
    capital: Amount = Field(default=Decimal("100000"), gt=0, le=Decimal("1e15"))
    step_mode: Literal["activity", "local"] = "local"
    # Circuit breakers (daily_loss, max_drawdown, max_consecutive_losses, max_rejection_rate,
    # max_error_rate, action) and the notional above which an order waits for approval.
    breakers: BreakersMapping = Field(default_factory=dict)
    approval_notional: Annotated[Amount, Field(gt=0, le=Decimal("1e15"))] | None = None
    approval_timeout: Interval = Field(default="5m", validate_default=True)
    # The strategy's daily LLM allowance: daily_tokens, daily_cost, on_exhausted (fallback | halt).
    llm_budget: LlmBudget | None = None
    # Take the parameters of a finished optimisation's best result (``params`` override them).
    params_from: str | None = Field(default=None, max_length=64)
    # How entries are sized (fixed_qty, fixed_notional, equity_fraction, risk_per_trade); None:
    # a fixed quantity of ``params.size``. A size never tradable on a symbol is refused (422).
    sizing: Sizing | None = Field(default=None, examples=[{"mode": "equity_fraction", "fraction": "0.5"}])
    # Protective exits (stop_loss, take_profit, trailing: fractions of the entry price) attached
    # to every position it opens; None: those its strategy type declares, if any.
    exits: Exits | None = Field(default=None, examples=[{"stop_loss": "0.02", "take_profit": "0.05"}])
    # long_short: a FLAT signal means short, on a venue that allows shorts (the paper venue as a
    # margin account); None: what its strategy type declares ("long" unless it says otherwise).
    direction: Literal["long", "long_short"] | None = None

    @field_validator("symbols")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("symbols must not repeat")
        return v

    @field_validator("universe")
    @classmethod
    def _universe_top(cls, v: ScanCriteria | None) -> ScanCriteria | None:
        if v is not None and v.top > MAX_UNIVERSE_TOP:
            raise ValueError(f"top must be at most {MAX_UNIVERSE_TOP} for a strategy, got {v.top}")
        return v

    @field_validator("symbols")
    @classmethod
    def _symbols_or_universe(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if "universe" not in info.data:  # the universe was refused: its reason is enough
            return v
        scans = info.data["universe"] is not None
        if not v and not scans:
            raise PydanticCustomError("too_short", "List should have at least 1 item, or give a universe")
        if v and scans:
            raise ValueError("give symbols or a universe, not both (list fixed ones in universe.symbols)")
        return v


class StrategyCreated(BaseModel):
    """Answer of ``POST /strategies``."""

    id: str
    workflow_id: str
    status: str


class StrategyPublic(BaseModel):
    """A strategy as stored, with its live workflow status when it can be read."""

    id: str
    name: str
    type: str
    exchange: str
    symbols: list[str]
    interval_s: float
    params: dict[str, Any]
    risk: dict[str, Any]
    status: str
    status_reason: str
    workflow_id: str
    created_by: str = ""
    # The version of the strategy type's code it trades on (POST /strategies/{id}/upgrade moves it).
    code_version: str = ""
    created_at: datetime
    updated_at: datetime
    live: StrategyStatus | None = None


class StrategyTypePublic(BaseModel):
    """A strategy type: what it does, where its code comes from and at which version, its params."""

    name: str
    description: str
    source: Literal["built-in", "file", "package"]
    origin: str
    code_version: str
    warmup: int = Field(description="Bars its signal reads with the default parameters.")
    params_schema: dict[str, Any] = Field(description="JSON Schema of its parameters.")
    defaults: dict[str, Any]


class StrategyTypesPublic(BaseModel):
    """Every strategy type loaded."""

    data: list[StrategyTypePublic]
    count: int


class CodeUpgradePublic(BaseModel):
    """The outcome of ``POST /strategies/{id}/upgrade``."""

    strategy_id: str
    from_version: str
    to_version: str
    changed: bool


class StrategiesPublic(BaseModel):
    """A list of strategies."""

    data: list[StrategyPublic]
    count: int


class HaltBody(BaseModel):
    """Body of a strategy's halt / resume calls."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="manual", max_length=500)
    cancel_open_orders: bool = True
    flatten: bool = False
    wait: Literal["gate", "all"] = "gate"


class HubHaltBody(BaseModel):
    """Body of ``POST /halt`` (the kill switch) and ``POST /resume``."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    cancel_open_orders: bool = True
    flatten: bool = False
    # "gate": answer once no order can be placed; "all": once every strategy acknowledged.
    wait: Literal["gate", "all"] = "gate"
    ack_timeout: AckTimeout = Field(default="10s", validate_default=True)
    # Only orders that reduce positions pass, instead of none.
    reduce_only: bool = False


class ResumeBody(BaseModel):
    """Body of ``POST /resume``."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    wait: Literal["gate", "all"] = "gate"
    ack_timeout: AckTimeout = Field(default="10s", validate_default=True)


class ControlPublic(ControlResult):
    """Answer of ``POST /halt`` / ``POST /resume``, with the strategies that have not acknowledged."""

    unacknowledged_strategies: list[str] = Field(default_factory=list)
    gate_latency_ms: float = 0.0
    # Set when NeuroHub could not take the command and the gate was closed in the store directly.
    note: str = ""


class ApprovalDecision(BaseModel):
    """Body of ``POST /approvals/{id}``."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=500)


class ParamsUpdate(BaseModel):
    """Body of ``PATCH /strategies/{id}/params``: the complete new parameter set."""

    model_config = ConfigDict(extra="forbid")

    params: FreeMapping = Field(examples=[{"fast": 5, "slow": 20}])


class StatusChangePublic(BaseModel):
    """Answer of halt / resume: the moment the order gate changed, and the strategy's acknowledgement."""

    strategy_id: str
    status: str
    at: datetime
    ack: StrategyAck | None = None


class MarketPublic(BaseModel):
    """A tradable symbol."""

    symbol: str
    base: str
    quote: str
    min_qty: Decimal
    qty_step: Decimal
    price_step: Decimal


class MarketsPublic(BaseModel):
    """Symbols of one venue."""

    exchange: str
    data: list[MarketPublic]
    count: int


class OrderPublic(BaseModel):
    """An order."""

    model_config = ConfigDict(from_attributes=True)

    client_order_id: str
    strategy_id: str
    cycle: int
    leg: int
    symbol: str
    side: str
    type: str
    qty: Decimal
    price: Decimal | None
    status: str
    filled_qty: Decimal
    avg_price: Decimal | None
    fee: Decimal
    venue_order_id: str
    reason: str
    created_at: datetime
    updated_at: datetime
    stop_price: Decimal | None = None  # a stop's trigger; where a trailing stop's stands now
    trail_amount: Decimal | None = None
    trail_fraction: Decimal | None = None
    tif: str = "gtc"
    reduce_only: bool = False
    oco_group: str | None = None
    # stop_loss, take_profit or trailing for a protective exit; "" for the strategy's other orders
    exit_kind: str = ""


class FillPublic(BaseModel):
    """An execution the venue reported for one of our orders."""

    model_config = ConfigDict(from_attributes=True)

    fill_id: str
    client_order_id: str
    strategy_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime


class InfoPublic(BaseModel):
    """What a console needs to know about this deployment."""

    version: str
    temporal_ui: str | None = Field(description="the Temporal Web UI's address, for links to workflows")
    namespace: str
    four_eyes: bool = Field(description="whoever started a strategy cannot approve its orders")


class PositionPublic(BaseModel):
    """A position of one strategy in one symbol."""

    model_config = ConfigDict(from_attributes=True)

    strategy_id: str
    symbol: str
    qty: Decimal
    avg_price: Decimal
    realised_pnl: Decimal
    fees: Decimal
    updated_at: datetime


class ExitPublic(BaseModel):
    """A protective exit that stands now, at the venue or held by ASTS (``held_by``)."""

    model_config = ConfigDict(from_attributes=True)

    strategy_id: str
    symbol: str
    kind: Literal["stop_loss", "take_profit", "trailing"]
    held_by: Literal["venue", "asts"]
    client_order_id: str
    side: str
    qty: Decimal
    type: str = Field(description="the order at the venue; for an exit ASTS holds, the market order it sends")
    price: Decimal | None = Field(description="a take-profit's level")
    stop_price: Decimal | None = Field(description="a stop's level; a trailing stop's where it stands")
    trail_fraction: Decimal | None
    best_price: Decimal | None = Field(description="a trailing stop ASTS holds: its best price so far")
    status: str
    oco_group: str | None
    updated_at: datetime


class DecisionPublic(BaseModel):
    """An agent decision: a strategy's (strategy and cycle) or an ad-hoc one (analysis id)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    strategy_id: str | None
    cycle: int | None
    analysis_id: str | None = None
    symbol: str
    target: str
    confidence: float
    rationale: str
    signal: dict[str, Any]
    mode: str = "analysts"
    as_of: datetime | None = None
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_ms: float = 0.0
    error: str = ""
    # The version of the strategy's code that decided (GET /strategy-types lists the current ones).
    code_version: str = ""
    created_at: datetime


class DecisionDetail(DecisionPublic):
    """A decision in full: what it saw (inputs), what was asked (prompt hash), what came back."""

    prompt_hash: str = ""
    inputs: dict[str, Any] | None = None
    output: dict[str, Any] | None = None


class AnalyzeBody(BaseModel):
    """``POST /analyze``: one analysis of one symbol, outside any strategy."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=3, max_length=64, examples=["MSFT/USD"])
    exchange: Name = Field(default="paper", examples=["paper"])
    # Analyse as of this time (timezone-aware, not in the future); omitted: now.
    as_of: datetime | None = None
    strategy_type: str = Field(default="agent", min_length=1, max_length=50, examples=["sma_cross"])
    params: FreeMapping = Field(default_factory=dict)

    @field_validator("as_of")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("as_of must include a timezone, e.g. 2017-06-01T00:00:00Z")
        return v


class PnlPublic(BaseModel):
    """A PnL snapshot taken at the end of a cycle."""

    model_config = ConfigDict(from_attributes=True)

    strategy_id: str
    cycle: int
    ts: datetime
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    equity: Decimal
    exposure: Decimal


class EventPublic(BaseModel):
    """An audit or risk event."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    strategy_id: str | None
    cycle: int | None
    symbol: str | None
    reason: str
    data: dict[str, Any] | None
    created_at: datetime


class Page(BaseModel, Generic[T]):
    """A list answer."""

    data: list[T]
    count: int


M = TypeVar("M", bound=BaseModel)


def page_of(model: type[M], rows: Sequence[Any]) -> Page[M]:
    """The page of ``model`` read from store rows."""
    return Page[model](data=[model.model_validate(r) for r in rows], count=len(rows))  # type: ignore[valid-type]


class ApprovalPublic(BaseModel):
    """An order above its strategy's approval threshold, pending or decided."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    strategy_id: str
    cycle: int
    workflow_id: str
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    notional: Decimal
    status: str
    requested_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str
    reason: str


class ApprovalOutcomePublic(ApprovalOutcome):
    """Answer of ``POST /approvals/{id}``: the decision as the cycle recorded it."""


class NewsItemPublic(BaseModel):
    """A news item DataSpider ingested, with the symbols it is about and its sentiment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    guid: str
    url: str
    title: str
    summary: str
    published_at: datetime
    ingested_at: datetime
    symbols: list[str]
    sentiment: float
    sentiment_method: str
    content_hash: str


class ScanRowPublic(BaseModel):
    """One symbol of a scan's ranking; ``bar_*`` are set when the refinement re-scored it from bars."""

    rank: int
    symbol: str
    score: float
    momentum: float | None
    volatility: float | None
    quote_volume: Decimal
    spread_bps: float | None
    last: Decimal
    bar_momentum: float | None = None
    bar_volatility: float | None = None


class ScanFilteredPublic(BaseModel):
    """A symbol the scan left out, and why."""

    symbol: str
    reason: str
    detail: str


class DataFilePublic(BaseModel):
    """Answer of ``POST /data/files``: the path a backtest names the uploaded file by."""

    csv_path: str
    bytes: int


class ScanPublic(BaseModel):
    """Answer of ``GET /scan``: the ranking, what was filtered out, and what it cost."""

    exchange: str
    criteria: ScanCriteria
    universe: int
    data: list[ScanRowPublic]
    count: int
    filtered: list[ScanFilteredPublic]
    requests: int
    requests_by_method: dict[str, int]
    elapsed_ms: float


class TokenPublic(BaseModel):
    """Answer of ``POST /auth/token`` and ``POST /auth/refresh``."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshBody(BaseModel):
    """Body of ``POST /auth/refresh``."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=512)


class UserCreate(BaseModel):
    """Body of ``POST /auth/users``."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9._-]{1,63}$")
    password: str = Field(min_length=12, max_length=256)
    roles: list[Literal["viewer", "trader", "risk", "admin"]] = Field(min_length=1, max_length=4)


class UserUpdate(BaseModel):
    """Body of ``PATCH /auth/users/{username}``: what changes (disabling signs the user out)."""

    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = None
    roles: list[Literal["viewer", "trader", "risk", "admin"]] | None = Field(
        default=None, min_length=1, max_length=4
    )
    password: str | None = Field(default=None, min_length=12, max_length=256)


class UserPublic(BaseModel):
    """A user (never the password or its hash)."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    roles: list[str]
    disabled: bool
    created_by: str
    created_at: datetime


class WhoAmI(BaseModel):
    """Answer of ``GET /auth/me``."""

    name: str
    kind: Literal["user", "key"]
    roles: list[str]


class ApiKeyCreate(BaseModel):
    """Body of ``POST /auth/api-keys``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9._-]{1,63}$")
    role: Literal["viewer", "trader", "risk", "admin"]


class ApiKeyPublic(BaseModel):
    """An API key as listed (its secret is shown only once, when it is created)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """Answer of ``POST /auth/api-keys``: the key itself, shown this once."""

    key: str
