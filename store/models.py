"""ORM rows of the application database; the schema itself is created only by Alembic."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import Money, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STRATEGY_STATUSES = ("running", "halted", "stopped")
HUB_STATES = ("active", "reducing", "halted")
APPROVAL_STATUSES = ("pending", "approved", "rejected", "expired")

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ID = String(64)
SHORT = String(32)
NAME = String(200)


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (shared with the migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StrategyRow(Base):
    """A configured strategy and its trading gate."""

    __tablename__ = "strategies"
    __table_args__ = (CheckConstraint(f"status IN {STRATEGY_STATUSES!r}", name="status"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    type: Mapped[str] = mapped_column(String(64))
    exchange: Mapped[str] = mapped_column(String(64))
    symbols: Mapped[list[str]] = mapped_column(JSON)
    interval_s: Mapped[float] = mapped_column(Double)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    risk: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(SHORT)
    status_reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    workflow_id: Mapped[str] = mapped_column(NAME)
    placements: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Only orders that shrink a position pass (a circuit breaker's "reduce" action).
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The halt in force, and whether it asked to flatten (its flattening orders pass the gate).
    halt_id: Mapped[str] = mapped_column(ID, default="", server_default=text("''"))
    flatten: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Circuit breakers and the approval threshold, as given at start.
    controls: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict, nullable=True)
    # The authenticated user (or API key) that started it: its owner.
    created_by: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    # The version of the strategy's code it trades on (``strategy_code``; "" before versions).
    code_version: Mapped[str] = mapped_column(ID, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderRow(Base):
    """Our latest knowledge of one order, keyed by its client order id."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ID, unique=True)
    strategy_id: Mapped[str] = mapped_column(ID, ForeignKey("strategies.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    leg: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(SHORT)
    type: Mapped[str] = mapped_column(SHORT)
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(SHORT)
    filled_qty: Mapped[Decimal] = mapped_column(Money)
    avg_price: Mapped[Decimal | None] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    venue_order_id: Mapped[str | None] = mapped_column(NAME)
    reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Indexed: the change feed (api.stream) reads the orders written in the last seconds.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stop_price: Mapped[Decimal | None] = mapped_column(Money)  # a trailing stop's: where it stands
    trail_amount: Mapped[Decimal | None] = mapped_column(Money)
    trail_fraction: Mapped[Decimal | None] = mapped_column(Money)
    tif: Mapped[str] = mapped_column(SHORT, default="gtc", server_default=text("'gtc'"))
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    oco_group: Mapped[str | None] = mapped_column(ID)
    # stop_loss, take_profit or trailing for a protective exit; "" for every other order.
    exit_kind: Mapped[str] = mapped_column(SHORT, default="", server_default=text("''"))


class FillRow(Base):
    """One execution reported by a venue, recorded once by its fill id."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fill_id: Mapped[str] = mapped_column(NAME, unique=True)
    client_order_id: Mapped[str] = mapped_column(ID, index=True)
    strategy_id: Mapped[str] = mapped_column(ID, index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(SHORT)
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)


class HeldExitRow(Base):
    """A protective exit the venue cannot hold: ASTS watches the price each cycle and, when the
    exit's level trades, sends it as a market order under ``client_order_id``.

    ``status`` is ``watching``, ``fired`` (its order was sent) or ``cancelled`` (the position
    changed or closed, or an exit of its group filled first). A trailing stop's ``best_price`` is
    the best price seen since it was set.
    """

    __tablename__ = "held_exits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ID, unique=True)
    strategy_id: Mapped[str] = mapped_column(ID, ForeignKey("strategies.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    leg: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(64))
    oco_group: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(SHORT)
    side: Mapped[str] = mapped_column(SHORT)
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)  # a take-profit's level
    stop_price: Mapped[Decimal | None] = mapped_column(Money)  # a stop-loss's level
    trail_fraction: Mapped[Decimal | None] = mapped_column(Money)
    best_price: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(SHORT)
    reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PositionRow(Base):
    """A strategy's position in one symbol."""

    __tablename__ = "positions"

    strategy_id: Mapped[str] = mapped_column(ID, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(Money)
    avg_price: Mapped[Decimal] = mapped_column(Money)
    realised_pnl: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "long" (or "short") once a protective exit closed the position: no new entry that way until
    # the strategy's signal has left it (as in the backtest); "" otherwise.
    stood_down: Mapped[str] = mapped_column(String(8), default="", server_default=text("''"))


class DecisionRow(Base):
    """What the agents decided for one symbol: in a strategy's cycle, or ad hoc (``POST /analyze``).

    A strategy's decision is keyed by (strategy, cycle, symbol); an ad-hoc one has neither strategy
    nor cycle and is keyed by its ``analysis_id``. The record holds everything needed to explain it:
    the as-of time and data window, the news items seen, the model, the prompt's hash, the answer,
    tokens, cost and latency.
    """

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("strategy_id", "cycle", "symbol"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    strategy_id: Mapped[str | None] = mapped_column(ID)  # indexed by the unique constraint
    cycle: Mapped[int | None] = mapped_column(Integer)
    analysis_id: Mapped[str | None] = mapped_column(ID, unique=True)
    symbol: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(SHORT)
    confidence: Mapped[float] = mapped_column(Double)
    rationale: Mapped[str] = mapped_column(Text)
    signal: Mapped[dict[str, Any]] = mapped_column(JSON)
    # analysts | llm | budget_fallback | failsafe_hold
    mode: Mapped[str] = mapped_column(SHORT, default="analysts", server_default=text("'analysts'"))
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    prompt_hash: Mapped[str] = mapped_column(ID, default="", server_default=text("''"))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    tokens_out: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default=text("0"))
    latency_ms: Mapped[float] = mapped_column(Double, default=0.0, server_default=text("0"))
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    # The version of the strategy code that decided (``strategy_code``).
    code_version: Mapped[str] = mapped_column(ID, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StrategyCodeRow(Base):
    """The source of one version of a strategy type, recorded when a strategy first runs on it."""

    __tablename__ = "strategy_code"

    version: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(ID)
    source: Mapped[str] = mapped_column(SHORT)  # built-in | file | package
    origin: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LlmCallRow(Base):
    """One call to a language model, recorded once by its key, whatever its outcome.

    Budgets are sums over these rows: a failed or repaired call that consumed tokens counts.
    """

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_strategy_id_created_at", "strategy_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    call_key: Mapped[str] = mapped_column(NAME, unique=True)
    strategy_id: Mapped[str | None] = mapped_column(ID)
    decision_key: Mapped[str] = mapped_column(NAME)
    purpose: Mapped[str] = mapped_column(SHORT)
    model: Mapped[str] = mapped_column(NAME)
    prompt_hash: Mapped[str] = mapped_column(ID)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(Money)
    latency_ms: Mapped[float] = mapped_column(Double)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NewsItemRow(Base):
    """One news item ingested by DataSpider, stored once by the hash of its normalised content."""

    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(ID, unique=True)
    source: Mapped[str] = mapped_column(NAME)
    guid: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    url: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    symbols: Mapped[list[str]] = mapped_column(JSON)
    sentiment: Mapped[float] = mapped_column(Double)
    sentiment_method: Mapped[str] = mapped_column(SHORT)


class NewsSymbolRow(Base):
    """Which symbols a news item is about, for as-of lookups by symbol."""

    __tablename__ = "news_symbols"
    __table_args__ = (Index("ix_news_symbols_symbol_published_at", "symbol", "published_at"),)

    news_id: Mapped[int] = mapped_column(BigId, ForeignKey("news_items.id"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskEventRow(Base):
    """A risk or control event (rejection, mismatch, halt, resume), recorded once by its key."""

    __tablename__ = "risk_events"
    __table_args__ = (Index("ix_risk_events_kind", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(NAME, unique=True)
    strategy_id: Mapped[str | None] = mapped_column(ID, index=True)
    cycle: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PnlSnapshotRow(Base):
    """A strategy's PnL and equity at the end of one cycle."""

    __tablename__ = "pnl_snapshots"
    __table_args__ = (
        UniqueConstraint("strategy_id", "cycle"),
        Index("ix_pnl_snapshots_strategy_id_ts", "strategy_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    strategy_id: Mapped[str] = mapped_column(ID)
    cycle: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    realised: Mapped[Decimal] = mapped_column(Money)
    unrealised: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    equity: Mapped[Decimal] = mapped_column(Money)
    exposure: Mapped[Decimal] = mapped_column(Money)


class HubGateRow(Base):
    """NeuroHub's global order gate: every placement reads it, a kill switch closes it."""

    __tablename__ = "hub_gates"
    __table_args__ = (CheckConstraint(f"state IN {HUB_STATES!r}", name="state"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    state: Mapped[str] = mapped_column(SHORT)
    halt_id: Mapped[str] = mapped_column(ID, default="", server_default=text("''"))
    flatten: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    actor: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApprovalRow(Base):
    """An order above its strategy's approval threshold, waiting for (or given) a human decision."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(f"status IN {APPROVAL_STATUSES!r}", name="status"),
        Index("ix_approvals_status", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    strategy_id: Mapped[str] = mapped_column(ID, ForeignKey("strategies.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(NAME)
    client_order_id: Mapped[str] = mapped_column(ID)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(SHORT)
    qty: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal] = mapped_column(Money)
    notional: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(SHORT)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class BacktestRow(Base):
    """One backtest run by OptiCore: what was asked, and its result once finished."""

    __tablename__ = "backtests"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(SHORT)  # running | done | failed | cancelled
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The authenticated user (or API key) that started it.
    created_by: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    trades: Mapped[list[Any] | None] = mapped_column(JSON)
    equity: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    conventions: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OptimizationRow(Base):
    """One parameter search: what was asked, its progress, the best parameters and its tables."""

    __tablename__ = "optimizations"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(SHORT)  # running | done | failed | cancelled
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The authenticated user (or API key) that started it.
    created_by: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    done: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    best_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    best_score: Mapped[float | None] = mapped_column(Double)
    best_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    top: Mapped[list[Any] | None] = mapped_column(JSON)
    walk_forward: Mapped[list[Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CandleRow(Base):
    """One closed OHLCV bar of a series, stored once by venue, symbol, timeframe and open time (UTC).

    ``exchange`` is where the bars came from ("paper", a ccxt venue name, or "csv" for user files
    imported without a venue); ``source`` says how each bar arrived ("ccxt:binance", "paper",
    "csv:btc.csv").
    """

    __tablename__ = "candles"

    exchange: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(SHORT, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    open: Mapped[Decimal] = mapped_column(Money)
    high: Mapped[Decimal] = mapped_column(Money)
    low: Mapped[Decimal] = mapped_column(Money)
    close: Mapped[Decimal] = mapped_column(Money)
    volume: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str] = mapped_column(NAME)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRow(Base):
    """A person who signs in: a name, an Argon2 password hash (never the password) and roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthSessionRow(Base):
    """One sign-in: its refresh token (only the hash of the current one) and its rotation count.

    Each refresh rotates the token and bumps ``generation``; presenting an older generation
    again means the token was copied, and revokes the whole session.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(128))
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    client: Mapped[str] = mapped_column(NAME, default="", server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class ApiKeyRow(Base):
    """An API key for automation: one role, the hash of its secret (shown once), revocable."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(SHORT)
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailureRow(Base):
    """A refused sign-in, by name and client address: the rate limit counts these."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationRow(Base):
    """Where one channel stands with one event or fill (``source`` ``event`` or ``fill``, its row
    id in ``source_id``): ``sent``; ``failed`` (refused for good, or out of attempts); ``pending``
    (a temporary failure, tried again); or ``start``, where a channel first seen began (nothing
    before it is sent). A channel's cursor is its highest id not pending."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("channel", "source", "source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(ID)
    source: Mapped[str] = mapped_column(SHORT)
    source_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(SHORT)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
