"""Input and output models of every workflow and activity call.

One model per call, so fields can be added without breaking recorded histories:
new fields must have defaults. Plain pydantic, no I/O: workflows import this module.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from activities.bounds import Amount
from trading.errors import InvalidInput
from trading.exits import Exits
from trading.models import Direction, OrderRequest, OrderType, Side, TimeInForce
from trading.scanner import ScanCriteria
from trading.sizing import Sizing

StepMode = Literal["activity", "local"]


class LlmBudget(BaseModel):
    """A strategy's daily LLM allowance, and what happens once it is spent."""

    daily_tokens: int | None = Field(default=None, ge=0, le=10**12)
    daily_cost: Annotated[Amount, Field(ge=0, le=Decimal("1e9"))] | None = None
    # fallback: the deterministic analysts decide until the next UTC day; halt: the strategy halts.
    on_exhausted: Literal["fallback", "halt"] = "fallback"


class StrategyConfig(BaseModel):
    """Everything a strategy's workflows need to know about it."""

    strategy_id: str
    name: str
    type: str
    exchange: str = "paper"
    symbols: list[str]
    interval_s: float
    params: dict[str, Any] = Field(default_factory=dict)
    risk: dict[str, Any] = Field(default_factory=dict)
    capital: Decimal = Decimal("100000")
    step_mode: StepMode = "local"
    order_time_in_force_s: float = 300.0
    # The NeuroHub this strategy reports to and whose global gate its orders pass.
    hub_id: str = "neurohub"
    # Circuit breakers of this strategy (trading.breakers.BreakerLimits as a mapping).
    breakers: dict[str, Any] = Field(default_factory=dict)
    # Orders above this notional wait for a human decision, for at most approval_timeout_s.
    approval_notional: Decimal | None = None
    approval_timeout_s: float = 300.0
    # The LLM's daily allowance for this strategy (None: no limit).
    llm_budget: LlmBudget | None = None
    # Scan this universe each cycle and trade its top N (plus what it holds) instead of ``symbols``.
    universe: ScanCriteria | None = None
    # The authenticated user (or ``key:<name>``) who started it.
    created_by: str = ""
    # The version of the strategy type's code it runs ("" from before versions: the loaded one).
    code_version: str = ""
    # How its entries are sized (None: FixedQty(params.size), as before sizing could be given).
    sizing: Sizing | None = None
    # The protective exits attached to every position it opens (None: none).
    exits: Exits | None = None
    # long_short: a FLAT target means short (trading.models.wanted).
    direction: Direction = "long"


class LlmSpend(BaseModel):
    """What a strategy's decisions have cost today, and whether its budget is spent."""

    day: str = ""
    tokens: int = 0
    cost: Decimal = Decimal(0)
    calls: int = 0
    exhausted: bool = False
    action: Literal["", "fallback", "halt"] = ""


class CycleInput(BaseModel):
    """Start one scan → analyse → risk → execute → reconcile cycle."""

    config: StrategyConfig
    cycle: int


class Bar(BaseModel):
    """One OHLCV bar as the scan saw it (``ts`` is its open time)."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class SymbolSnapshot(BaseModel):
    """What the scan saw of one symbol; the analysis works only from this."""

    symbol: str
    ts: datetime
    last: Decimal
    closes: list[Decimal]
    momentum: float = 0.0
    volatility: float = 0.0
    volume: Decimal = Decimal(0)
    rank: int = 0
    # Whole bars, for strategies whose analysts need times and volumes (the agent).
    bars: list[Bar] = Field(default_factory=list)

    def slim(self) -> SymbolSnapshot:
        """Without the bars: what the steps after the analysis need (smaller histories)."""
        return self.model_copy(update={"bars": []}) if self.bars else self


class ScanResult(BaseModel):
    """Output of the scan step."""

    snapshots: list[SymbolSnapshot]
    # With a universe: symbols looked at, those that passed the filters, venue requests made.
    scanned: int = 0
    eligible: int = 0
    requests: int = 0


class AnalyseInput(BaseModel):
    """Input of the analyse step."""

    config: StrategyConfig
    cycle: int
    snapshots: list[SymbolSnapshot]
    # The decision time: nothing after it is seen (None in histories recorded before it existed).
    as_of: datetime | None = None


DecisionMode = Literal["analysts", "llm", "budget_fallback", "failsafe_hold"]


class Decision(BaseModel):
    """An agent's proposal for one symbol, with its full record; the risk step decides what happens."""

    symbol: str
    target: Literal["long", "flat", "hold"]
    confidence: float
    rationale: str
    indicators: dict[str, float] = Field(default_factory=dict)
    id: int | None = None
    # Share (0..1) of the strategy's size the agents suggest; None: the whole size.
    size: float | None = None
    mode: DecisionMode = "analysts"
    as_of: datetime | None = None
    model: str = ""
    prompt_hash: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)
    latency_ms: float = 0.0
    error: str = ""
    code_version: str = ""
    news_ids: list[int] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)

    def slim(self) -> Decision:
        """Without inputs and output: the analyse step's result in history keeps the full record;
        the steps after it, the cycle's result and the strategy's state carry only this."""
        return self.model_copy(update={"inputs": {}, "output": {}}) if self.inputs or self.output else self


class AnalyseResult(BaseModel):
    """Output of the analyse step."""

    decisions: list[Decision]
    llm: LlmSpend | None = None


class AnalyzeRequest(BaseModel):
    """One analysis outside any strategy (``POST /analyze``, ``asts analyze``)."""

    analysis_id: str
    symbol: str
    exchange: str = "paper"
    as_of: datetime | None = None
    strategy_type: str = "agent"
    params: dict[str, Any] = Field(default_factory=dict)
    # The allowance shared by every ad-hoc analysis of the day (None: no limit).
    llm_budget: LlmBudget | None = None


class RiskInput(BaseModel):
    """Input of the risk-approve step."""

    config: StrategyConfig
    cycle: int
    decisions: list[Decision]
    snapshots: list[SymbolSnapshot]


class RecheckInput(BaseModel):
    """An order a human approved after a wait, to be judged again against the risk limits."""

    config: StrategyConfig
    cycle: int
    plan: OrderPlan


class RecheckResult(BaseModel):
    """Why a re-judged order may not go now (nothing: it may)."""

    reasons: list[str] = Field(default_factory=list)


class OrderPlan(BaseModel):
    """One approved order: what the order workflow will place."""

    strategy_id: str
    exchange: str
    cycle: int
    leg: int
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit", "trailing_stop"] = "market"
    qty: Decimal
    price: Decimal | None = None
    ref_price: Decimal
    time_in_force_s: float = 300.0
    step_mode: StepMode = "local"
    hub_id: str = "neurohub"
    # Set on the orders that flatten a position for the halt with this id (they pass its gate).
    flatten_of: str = ""
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_fraction: Decimal | None = None
    tif: Literal["gtc", "ioc", "fok", "day"] = "gtc"
    reduce_only: bool = False
    oco_group: str | None = None
    # Whether the venue holds the group (the request carries it): False for an exit the venue
    # holds alone, or one ASTS holds, whose group is ours only.
    grouped_at_venue: bool = True
    # A protective exit (stop_loss, take_profit, trailing) of the strategy's position; "" otherwise.
    exit_kind: str = ""
    # Cancel the strategy's protective exits on this symbol before placing (the order closes or
    # shrinks the position they protect, so they must not fire on top of it).
    clear_exits: bool = False
    # Of ``qty``, what closes a position held the other way (a reversal closes it, then enters
    # with the rest); 0: the order does not turn the position.
    closes: Decimal = Decimal(0)

    @model_validator(mode="after")
    def _shape(self) -> OrderPlan:
        try:
            self.request_shape()
        except InvalidInput as e:
            raise ValueError(str(e)) from e
        return self

    def request_shape(self) -> OrderRequest:
        """The venue request this plan places (without its send time)."""
        return OrderRequest(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=Side(self.side),
            type=OrderType(self.type),
            qty=self.qty,
            price=self.price,
            ref_price=self.ref_price,
            stop_price=self.stop_price,
            trail_amount=self.trail_amount,
            trail_fraction=self.trail_fraction,
            tif=TimeInForce(self.tif),
            reduce_only=self.reduce_only,
            oco_group=self.oco_group if self.grouped_at_venue else None,
        )


class RiskRejection(BaseModel):
    """An order the risk step refused, with why."""

    symbol: str
    side: str
    qty: Decimal
    reasons: list[str]


class RiskResult(BaseModel):
    """Output of the risk-approve step."""

    approved: list[OrderPlan]
    rejected: list[RiskRejection] = Field(default_factory=list)


class OrderOutcome(BaseModel):
    """Where an order ended (or stands, when read mid-way)."""

    client_order_id: str
    symbol: str
    status: str
    filled_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    reason: str = ""
    placed_at: datetime | None = None


class CancelInput(BaseModel):
    """Cancel (or look up) one order by its client order id."""

    plan: OrderPlan
    reason: str = ""


class ReconcileInput(BaseModel):
    """Input of the reconcile step."""

    config: StrategyConfig
    cycle: int
    outcomes: list[OrderOutcome]
    snapshots: list[SymbolSnapshot]
    # When the cycle started (its latency is measured to this step); None in older histories.
    started_at: datetime | None = None


class ReconcileResult(BaseModel):
    """Output of the reconcile step: PnL after this cycle and any mismatches found."""

    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    equity: Decimal
    exposure: Decimal
    mismatches: list[str] = Field(default_factory=list)
    # For the circuit breakers: losing streak, orders sent and rejected (all time), venue
    # calls and failures since the previous reconcile.
    consecutive_losses: int = 0
    orders_total: int = 0
    orders_rejected: int = 0
    venue_calls: int = 0
    venue_errors: int = 0


class CycleResult(BaseModel):
    """Summary of one finished cycle."""

    cycle: int
    started_at: datetime
    finished_at: datetime
    decisions: list[Decision] = Field(default_factory=list)
    orders: list[OrderOutcome] = Field(default_factory=list)
    rejections: list[RiskRejection] = Field(default_factory=list)
    pnl: ReconcileResult | None = None
    error: str = ""
    llm: LlmSpend | None = None
    # Exits ASTS holds still watching after the cycle's protect step.
    held: int = 0

    @property
    def latency_ms(self) -> float:
        """Cycle start to reconcile done, in milliseconds of workflow time."""
        return (self.finished_at - self.started_at).total_seconds() * 1000


class CycleFailure(BaseModel):
    """A cycle that failed (its workflow ended in a failure), to be counted."""

    strategy_id: str
    strategy_type: str
    cycle: int
    error: str = ""  # why it failed (recorded as the cycle_failed event's reason)


class StatusChange(BaseModel):
    """Open or close a strategy's order gate (halt / resume), or make it reduce-only."""

    strategy_id: str
    status: Literal["running", "halted", "stopped"]
    reason: str = ""
    actor: str = "api"
    request_id: str
    flatten: bool = False
    reduce_only: bool | None = None


class StatusChanged(BaseModel):
    """When the gate change committed: after this no order of the strategy can be placed."""

    strategy_id: str
    status: str
    at: datetime
    halt_id: str = ""
    ack: StrategyAck | None = None


class HaltRequest(BaseModel):
    """A request to halt (or resume, or stop) a strategy."""

    reason: str = "manual halt"
    actor: str = "api"
    cancel_open_orders: bool = True
    flatten: bool = False
    # "gate": answer once the gate has changed; "all": once open orders are cancelled and
    # positions flattened as asked.
    wait: Literal["gate", "all"] = "gate"


class StrategyState(BaseModel):
    """State a StrategyWorkflow carries across continue-as-new."""

    config: StrategyConfig
    next_cycle: int = 1
    cycles_done: int = 0
    cycles_failed: int = 0
    status: Literal["running", "halted", "stopped"] = "running"
    status_reason: str = ""
    halted_at: datetime | None = None
    last_cycle: CycleResult | None = None
    recent_latencies_ms: list[float] = Field(default_factory=list)
    cycles_per_run: int = 200
    runs: int = 1
    # NeuroHub's gate as last told (a halted hub stops the cycles) and the strategy's reduce-only flag.
    hub_state: Literal["active", "reducing", "halted"] = "active"
    reduce_only: bool = False
    acks: list[StrategyAck] = Field(default_factory=list)
    llm: LlmSpend | None = None


class StrategyStatus(BaseModel):
    """Answer of the status query."""

    strategy_id: str
    status: str
    status_reason: str
    halted_at: datetime | None
    next_cycle: int
    cycles_done: int
    cycles_failed: int
    params: dict[str, Any]
    last_cycle: CycleResult | None
    recent_latencies_ms: list[float]
    runs: int = 1
    hub_state: str = "active"
    reduce_only: bool = False
    acks: list[StrategyAck] = Field(default_factory=list)
    llm: LlmSpend | None = None


# --- NeuroHub: global gate, control of strategies, reports, breakers ---------------------

HubState = Literal["active", "reducing", "halted"]
AckState = Literal["pending", "acked", "failed", "timeout"]


class HubCommand(BaseModel):
    """A kill switch (halt), a move to reduce-only, or a resume, as asked of NeuroHub."""

    state: HubState = "halted"
    reason: str
    actor: str = "api"
    cancel_open_orders: bool = True
    flatten: bool = False
    wait: Literal["gate", "all"] = "gate"
    # How long "all" waits for the strategies' acknowledgements before naming the missing ones.
    ack_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # Set by a caller that has closed the gate in the store already under this id (the API).
    control_id: str = ""
    gate_changed_at: datetime | None = None


class HubGateChange(BaseModel):
    """Set the global gate in the store (the activity behind a hub command)."""

    hub_id: str
    control_id: str
    state: HubState
    reason: str
    actor: str
    flatten: bool = False


class StrategyRef(BaseModel):
    """A strategy as NeuroHub addresses it."""

    strategy_id: str
    name: str = ""
    workflow_id: str


class HubGateChanged(BaseModel):
    """When the global gate change committed, and every strategy that was not stopped then."""

    at: datetime
    strategies: list[StrategyRef] = Field(default_factory=list)


class StrategyControl(BaseModel):
    """NeuroHub (or a breaker) telling a strategy what changed; the strategy acts and acknowledges."""

    control_id: str
    hub_id: str
    scope: Literal["hub", "strategy"]
    state: HubState
    reason: str
    actor: str
    cancel_open_orders: bool = True
    flatten: bool = False


class ControlActions(BaseModel):
    """What a strategy did about a control: orders cancelled, positions to flatten."""

    cancelled: list[str] = Field(default_factory=list)
    to_flatten: list[OrderPlan] = Field(default_factory=list)


class ControlActionsInput(BaseModel):
    """Input of the ``control_actions`` activity."""

    config: StrategyConfig
    control: StrategyControl


class SignalInput(BaseModel):
    """Send one signal to one workflow (an activity, so workflows need no extra workflow task)."""

    workflow_id: str
    signal: str
    arg: dict[str, Any] | str


class NotifyInput(BaseModel):
    """Tell every target strategy about a control; wait at most ``timeout_s`` for each answer."""

    control: StrategyControl
    targets: list[StrategyRef]
    timeout_s: float = 10.0


class CancelAllInput(BaseModel):
    """Cancel every open order of these strategies (NeuroHub's kill switch does it in one go)."""

    control_id: str
    hub_id: str
    strategy_ids: list[str]
    reason: str


class CancelAllResult(BaseModel):
    """Orders cancelled, and those that could not be (with why)."""

    cancelled: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)


class NotifyResult(BaseModel):
    """Each strategy's acknowledgement (or why there is none)."""

    acks: dict[str, StrategyAck] = Field(default_factory=dict)


class StrategyAck(BaseModel):
    """A strategy's acknowledgement of a control: its state and when."""

    strategy_id: str
    control_id: str
    state: AckState = "pending"
    at: datetime | None = None
    cancelled: int = 0
    flattened: list[str] = Field(default_factory=list)
    detail: str = ""


class ControlResult(BaseModel):
    """Answer of a NeuroHub command: when the gate changed, and each strategy's acknowledgement."""

    control_id: str
    hub_id: str
    state: HubState
    reason: str
    actor: str
    requested_at: datetime
    gate_changed_at: datetime
    answered_at: datetime
    strategies: list[StrategyAck] = Field(default_factory=list)
    # Open orders cancelled by the command itself (``wait="all"``; with "gate" it goes on after).
    cancelled_orders: list[str] = Field(default_factory=list)
    cancel_failures: dict[str, str] = Field(default_factory=dict)

    @property
    def unacknowledged(self) -> list[str]:
        """Strategies that have not acknowledged (yet, or within the timeout)."""
        return [a.strategy_id for a in self.strategies if a.state != "acked"]


class StrategyRegistration(BaseModel):
    """A strategy announcing itself to NeuroHub (on every run start; idempotent)."""

    strategy_id: str
    name: str
    workflow_id: str
    capital: Decimal
    breakers: dict[str, Any] = Field(default_factory=dict)
    status: str = "running"
    reduce_only: bool = False


class StrategyReport(BaseModel):
    """A strategy's numbers after a cycle, as NeuroHub tracks them for its breakers."""

    strategy_id: str
    cycle: int
    at: datetime
    equity: Decimal
    exposure: Decimal
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    consecutive_losses: int = 0
    orders_total: int = 0
    orders_rejected: int = 0
    venue_calls: int = 0
    venue_errors: int = 0
    llm_tokens: int = 0
    llm_cost: Decimal = Decimal(0)


class BreakerStatus(BaseModel):
    """One breaker's reading: its value, its limit and the headroom left."""

    name: str
    value: Decimal
    limit: Decimal
    headroom: Decimal
    tripped: bool
    armed: bool = True
    detail: str = ""


class StrategyEntry(BaseModel):
    """What NeuroHub holds about one registered strategy."""

    strategy_id: str
    name: str = ""
    workflow_id: str
    capital: Decimal = Decimal(0)
    breakers: dict[str, Any] = Field(default_factory=dict)
    status: str = "running"
    reduce_only: bool = False
    registered_at: datetime | None = None
    last_report: StrategyReport | None = None
    peak_equity: Decimal = Decimal(0)
    day_start_equity: Decimal | None = None
    day_start_orders: int = 0
    day_start_rejected: int = 0
    venue_calls_today: int = 0
    venue_errors_today: int = 0
    readings: list[BreakerStatus] = Field(default_factory=list)


class ControlRecord(BaseModel):
    """A command NeuroHub ran, with the acknowledgements it collected."""

    control_id: str
    state: HubState
    scope: str = "hub"
    reason: str
    actor: str
    cancel_open_orders: bool = True
    flatten: bool = False
    requested_at: datetime
    gate_changed_at: datetime
    acks: dict[str, StrategyAck] = Field(default_factory=dict)
    # For older commands only: how many strategies ended in each acknowledgement state.
    ack_counts: dict[str, int] = Field(default_factory=dict)


class HubConfig(BaseModel):
    """NeuroHub's settings: global breakers, the daily reset time, history bounds."""

    breakers: dict[str, Any] = Field(default_factory=dict)
    # Daily figures (loss, rejection and error rates) restart at this UTC time of day.
    daily_reset_utc: str = "00:00"
    # Continue as new once the history holds this many events (or when Temporal suggests it).
    max_history_events: int = 10_000
    controls_kept: int = 10


class HubInit(BaseModel):
    """What the ``hub_load`` activity returns: the gate as stored and the live strategies."""

    state: HubState
    reason: str
    actor: str
    halt_id: str
    changed_at: datetime
    strategies: list[StrategyRegistration] = Field(default_factory=list)


class HubSnapshot(BaseModel):
    """State NeuroHub carries across continue-as-new."""

    hub_id: str = "neurohub"
    config: HubConfig = Field(default_factory=HubConfig)
    loaded: bool = False
    state: HubState = "active"
    reason: str = ""
    actor: str = ""
    halt_id: str = ""
    since: datetime | None = None
    strategies: dict[str, StrategyEntry] = Field(default_factory=dict)
    controls: list[ControlRecord] = Field(default_factory=list)
    day_started_at: datetime | None = None
    signals_received: int = 0
    reports_received: int = 0
    runs: int = 1


class HubStatus(BaseModel):
    """Answer of NeuroHub's status query."""

    hub_id: str
    state: HubState
    reason: str
    actor: str
    since: datetime | None
    strategies: list[StrategyEntry]
    breakers: list[BreakerStatus]
    exposure: Decimal
    equity: Decimal
    daily_pnl: Decimal
    last_control: ControlRecord | None
    day_started_at: datetime | None
    signals_received: int
    reports_received: int
    runs: int


StatusChanged.model_rebuild()
NotifyResult.model_rebuild()
StrategyState.model_rebuild()
StrategyStatus.model_rebuild()


# --- Human approval of large orders ------------------------------------------------------

ApprovalStatus = Literal["approved", "rejected", "expired"]


class ApprovalRequest(BaseModel):
    """An approved plan whose notional is above the strategy's threshold: it waits for a human."""

    plan: OrderPlan
    strategy_id: str
    cycle: int
    # The cycle workflow that waits; the decision is an Update sent to it.
    workflow_id: str
    notional: Decimal
    timeout_s: float

    @property
    def approval_id(self) -> str:
        """Stable id of the approval, derived from the order's client order id."""
        return f"apr-{self.plan.client_order_id}"


class ApprovalDecisionInput(BaseModel):
    """A human's decision on one pending approval (the cycle's ``decide`` Update).

    ``decision`` is "approve" or "reject"; it is a plain string so that the Update's
    validator, not the payload decoder, refuses anything else with a clear message.
    """

    approval_id: str
    decision: str
    reason: str = ""
    actor: str = "api"


class ApprovalSettlement(BaseModel):
    """Input of ``settle_approval``: the status to record on a pending approval, by whom and why."""

    approval_id: str
    status: ApprovalStatus
    decided_by: str
    reason: str = ""


class ApprovalOutcome(BaseModel):
    """How an approval ended, as stored (the first decision recorded wins)."""

    approval_id: str
    status: ApprovalStatus
    decided_by: str = ""
    reason: str = ""
    decided_at: datetime | None = None


class ApprovalRecorded(BaseModel):
    """Answer of ``request_approval``: the pending row's expiry, or the decision it already holds."""

    approval_id: str
    expires_at: datetime
    # Set when the approval was decided before (a re-run of the same cycle): nothing to wait for.
    outcome: ApprovalOutcome | None = None


class VenueReconcileRequest(BaseModel):
    """Start a venue reconciliation (the workflow's input)."""

    exchange: str


class VenueReconcileInput(BaseModel):
    """Rebuild our view of one venue's orders from the venue (after a restart, or on request)."""

    exchange: str
    run_id: str


class VenueReconcileResult(BaseModel):
    """What a venue reconciliation found and recorded."""

    exchange: str
    orders_checked: int = 0
    orders_updated: int = 0
    fills_added: int = 0
    venue_open_orders: int = 0
    mismatches: list[str] = Field(default_factory=list)


class ProtectInput(BaseModel):
    """Bring a strategy's protective exits at the venue in line with its positions."""

    config: StrategyConfig
    cycle: int
    snapshots: list[SymbolSnapshot] = Field(default_factory=list)


class ProtectResult(BaseModel):
    """What the protect step found and did, per symbol."""

    placed: list[OrderOutcome] = Field(default_factory=list)
    cancelled: list[OrderOutcome] = Field(default_factory=list)
    # Exits that had filled (or ended otherwise) at the venue since they were last read.
    ended: list[OrderOutcome] = Field(default_factory=list)
    # Exits ASTS holds whose level traded: the market orders sent for them.
    fired: list[OrderOutcome] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    # Exits ASTS holds that are still watching at the end (the strategy watches them until its
    # next cycle).
    watching: int = 0


class WatchExitsInput(BaseModel):
    """Between two cycles: watch the exits ASTS holds for a strategy until ``until``."""

    config: StrategyConfig
    until: datetime
    every_s: float = Field(default=1.0, gt=0)


class ClearExitsResult(BaseModel):
    """What clearing a symbol's exits before an order did."""

    cancelled: list[str] = Field(default_factory=list)
    filled: list[str] = Field(default_factory=list)
    # Set when the order must not be placed (an exit closed the position first): where it ended.
    outcome: OrderOutcome | None = None
    # Set when an exit closed the position a reversal was to close: the entry left to place.
    qty: Decimal | None = None


RecheckInput.model_rebuild()
