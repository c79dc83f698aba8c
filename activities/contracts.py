"""Input and output models of every workflow and activity call.

One model per call, so fields can be added without breaking recorded histories:
new fields must have defaults. Plain pydantic, no I/O: workflows import this module.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

StepMode = Literal["activity", "local"]


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


class CycleInput(BaseModel):
    """Start one scan → analyse → risk → execute → reconcile cycle."""

    config: StrategyConfig
    cycle: int


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


class ScanResult(BaseModel):
    """Output of the scan step."""

    snapshots: list[SymbolSnapshot]


class AnalyseInput(BaseModel):
    """Input of the analyse step."""

    config: StrategyConfig
    cycle: int
    snapshots: list[SymbolSnapshot]


class Decision(BaseModel):
    """An agent's proposal for one symbol; the risk step decides what happens."""

    symbol: str
    target: Literal["long", "flat", "hold"]
    confidence: float
    rationale: str
    indicators: dict[str, float] = Field(default_factory=dict)


class AnalyseResult(BaseModel):
    """Output of the analyse step."""

    decisions: list[Decision]


class RiskInput(BaseModel):
    """Input of the risk-approve step."""

    config: StrategyConfig
    cycle: int
    decisions: list[Decision]
    snapshots: list[SymbolSnapshot]


class OrderPlan(BaseModel):
    """One approved order: what the order workflow will place."""

    strategy_id: str
    exchange: str
    cycle: int
    leg: int
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit"] = "market"
    qty: Decimal
    price: Decimal | None = None
    ref_price: Decimal
    time_in_force_s: float = 300.0
    step_mode: StepMode = "local"


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


class ReconcileResult(BaseModel):
    """Output of the reconcile step: PnL after this cycle and any mismatches found."""

    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    equity: Decimal
    exposure: Decimal
    mismatches: list[str] = Field(default_factory=list)


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

    @property
    def latency_ms(self) -> float:
        """Cycle start to reconcile done, in milliseconds of workflow time."""
        return (self.finished_at - self.started_at).total_seconds() * 1000


class StatusChange(BaseModel):
    """Open or close a strategy's order gate (halt / resume)."""

    strategy_id: str
    status: Literal["running", "halted", "stopped"]
    reason: str = ""
    actor: str = "api"
    request_id: str


class StatusChanged(BaseModel):
    """When the gate change committed: after this no order of the strategy can be placed."""

    strategy_id: str
    status: str
    at: datetime


class HaltRequest(BaseModel):
    """A request to halt a strategy."""

    reason: str = "manual halt"
    actor: str = "api"


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
