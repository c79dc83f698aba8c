"""Inputs and outputs of OptiCore's workflows and activities (backtests and optimisations).

Plain pydantic, no I/O: workflows import this module. New fields must have defaults.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from activities.bounds import FreeMapping, Name, Timeframe
from trading.ohlcv_csv import TZ_PATTERN
from trading.sizing import Sizing

# Candidates of one search at most: the plan and every chunk's results go through its history.
MAX_CANDIDATES = 20_000
# Chunks of one search at most (each is a few history events); larger searches get larger chunks.
MAX_CHUNKS = 500
# Bars a request may count in (``last``, walk-forward windows) at most.
MAX_BARS = 10_000_000
# Parameters searched at once, and constraints on them, at most.
MAX_SEARCHED = 32
MAX_CONSTRAINTS = 32
# Where a backtest's bars may come from (DataSpec: exactly one).
_SOURCES = ("symbol", "csv_path", "store")

Method = Literal["grid", "random", "differential_evolution", "lbfgsb", "nelder_mead"]
# A searched parameter's [low, high] or [low, high, step] (finite numbers; ints stay ints).
_Bound = Annotated[int, Field(ge=-(10**15), le=10**15)] | Annotated[float, Field(allow_inf_nan=False)]
_Range = Annotated[list[_Bound], Field(min_length=2, max_length=3)]
Objective = Literal["sharpe", "sortino", "calmar", "return", "return_over_drawdown"]


class StoreSeries(BaseModel):
    """A series in the market-data store: the bars opening in [start, end] (None: unbounded)."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=64)
    timeframe: Timeframe
    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)  # a time without a zone is UTC


class DataSpec(BaseModel):
    """Where the bars come from: a bundled series by symbol, a CSV file the worker can read, or
    a series in the market-data store."""

    # The schema states the rule of ``_one_source``: exactly one of the three is given (not null),
    # and ``tz`` only with ``csv_path``.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": [given],
                    "properties": {
                        name: {"not": {"type": "null"}} if name == given else {"type": "null"}
                        for name in (*_SOURCES, *(() if given == "csv_path" else ("tz",)))
                    },
                }
                for given in _SOURCES
            ]
        },
    )

    symbol: str | None = Field(default=None, max_length=64, examples=["MSFT/USD"])
    # A file under the data directory: relative to it (as POST /data/files names uploads), or absolute.
    csv_path: str | None = Field(default=None, min_length=1, max_length=1024)
    # Keep only the last N bars (None: all).
    last: int | None = Field(default=None, ge=10, le=MAX_BARS)
    store: StoreSeries | None = None
    # The zone of the CSV's times written without one (an IANA name, e.g. "UTC"); None: refused.
    tz: str | None = Field(default=None, max_length=64, pattern=TZ_PATTERN, examples=["UTC"])

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if sum(x is not None for x in (self.symbol, self.csv_path, self.store)) != 1:
            raise ValueError("data needs exactly one of symbol (bundled series), csv_path or store")
        if self.tz is not None and self.csv_path is None:
            raise ValueError("tz applies to csv_path only (bundled and stored series are UTC)")
        return self


class BacktestSettings(BaseModel):
    """The engine's conventions for one run (see trading.backtest.BacktestConfig)."""

    model_config = ConfigDict(extra="forbid")

    cash: float = Field(default=10_000.0, gt=0, le=1e15, allow_inf_nan=False)
    commission: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False)
    slippage_bps: float = Field(default=0.0, ge=0, lt=10_000, allow_inf_nan=False)
    # Of equity per entry (what ``sizing`` equity_fraction says), in ``units``; None: see ``sizing``.
    fraction: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    units: Literal["whole", "fractional"] = "fractional"
    direction: Literal["long", "long_short"] = "long"
    stop_loss: float | None = Field(default=None, gt=0, lt=1, allow_inf_nan=False)
    take_profit: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    trailing: float | None = Field(default=None, gt=0, lt=1, allow_inf_nan=False)
    close_at_end: bool = True
    # "close": the paper venue's fill model, so a backtest trades as a live run there would.
    fill: Literal["next_open", "close"] = "next_open"
    # The venue's price step: fills and levels rounded to it, against the trader.
    price_step: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)
    bars_per_year: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)
    # How entries are sized; None: ``fraction`` if given, else the strategy's own (a fixed quantity
    # when the parameters name a ``size``), else all the equity less the entry's commission.
    sizing: Sizing | None = None


# The other symbols' series a strategy reads beside its own (its declared ``peers``).
PeerData = dict[Annotated[str, Field(min_length=1, max_length=64)], DataSpec]
MAX_PEERS = 4


class BacktestRequest(BaseModel):
    """One backtest of one strategy with fixed parameters."""

    backtest_id: str
    data: DataSpec
    strategy_type: str
    params: dict[str, Any] = Field(default_factory=dict)
    settings: BacktestSettings = Field(default_factory=BacktestSettings)
    peers: PeerData = Field(default_factory=dict, max_length=MAX_PEERS)


class BacktestSummary(BaseModel):
    """What a finished backtest returns to its workflow (the full result is in the store)."""

    backtest_id: str
    metrics: dict[str, float]
    trades: int
    bars: int


class BacktestFailure(BaseModel):
    """Why a backtest failed, to store."""

    backtest_id: str
    error: str
    cancelled: bool = False  # stored as ``cancelled`` rather than ``failed``


class WalkForwardSpec(BaseModel):
    """Rolling (or anchored) in-sample optimisation, out-of-sample test windows, in bars."""

    model_config = ConfigDict(extra="forbid")

    train: int = Field(ge=20, le=MAX_BARS)
    test: int = Field(ge=5, le=MAX_BARS)
    step: int | None = Field(default=None, ge=1, le=MAX_BARS)
    anchored: bool = False


class SearchSpec(BaseModel):
    """What to search: the data, parameters fixed and searched, the method and the objective."""

    data: DataSpec
    # Parameters held fixed, and the ones searched: name -> [low, high] (ints stay ints).
    fixed: FreeMapping = Field(default_factory=dict)
    space: dict[Name, _Range] = Field(
        min_length=1, max_length=MAX_SEARCHED, examples=[{"fast": [2, 10], "slow": [12, 30]}]
    )
    constraints: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=MAX_CONSTRAINTS, examples=[["fast < slow"]]
    )
    method: Method = "grid"
    objective: Objective = "sharpe"
    # grid: points per parameter (ints: every integer when None); random / evolution: evaluations.
    steps: int | None = Field(default=None, ge=2, le=MAX_CANDIDATES)
    n: int = Field(default=200, ge=1, le=MAX_CANDIDATES)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    settings: BacktestSettings = Field(default_factory=BacktestSettings)
    walk_forward: WalkForwardSpec | None = None
    chunk_size: int = Field(default=100, ge=1, le=100_000)


class OptimizeRequest(SearchSpec):
    """A parameter search over one strategy's parameters."""

    optimization_id: str
    strategy_type: str


class Evaluation(BaseModel):
    """One parameter set and how it scored."""

    # An invalid or unscorable candidate scores -inf: keep it -Infinity in JSON (not null, which
    # no longer validates as a float and failed the workflow task decoding every ChunkResult).
    model_config = ConfigDict(ser_json_inf_nan="constants")

    params: dict[str, Any]
    score: float
    metrics: dict[str, float] = Field(default_factory=dict)


class OptimizePlan(BaseModel):
    """The candidates of a grid or random search (empty for the scipy searches), and the
    walk-forward windows as (train, test) half-open bar ranges."""

    candidates: list[dict[str, Any]] = Field(default_factory=list)
    windows: list[tuple[tuple[int, int], tuple[int, int]]] = Field(default_factory=list)
    bars: int = 0


class ChunkInput(BaseModel):
    """Evaluate one chunk of candidates."""

    request: OptimizeRequest
    chunk: int
    candidates: list[dict[str, Any]]


class ChunkResult(BaseModel):
    """The evaluations of one chunk, in candidate order."""

    chunk: int
    evaluations: list[Evaluation]


class SearchResult(BaseModel):
    """A scipy search (run whole in one activity): its best evaluations and how many it made."""

    evaluations: list[Evaluation]
    count: int = 0


class WalkForwardRow(BaseModel):
    """One walk-forward window: the parameters chosen in sample and how they did out of sample."""

    train: tuple[int, int]
    test: tuple[int, int]
    best_params: dict[str, Any]
    in_sample_score: float
    out_of_sample: dict[str, float]


class WindowInput(BaseModel):
    """Optimise on one walk-forward window's training bars, then test on its test bars."""

    request: OptimizeRequest
    train: tuple[int, int]
    test: tuple[int, int]


class BacktestProgress(BaseModel):
    """Answer of the backtest workflow's ``progress`` query."""

    done: int
    total: int


class OptimizeProgress(BaseModel):
    """Answer of the optimisation workflow's ``progress`` query."""

    optimization_id: str
    status: str
    done: int
    total: int
    best: Evaluation | None = None
    walk_forward: list[WalkForwardRow] = Field(default_factory=list)


class OptimizeRecord(BaseModel):
    """Progress or final state of an optimisation, written to the store."""

    optimization_id: str
    status: str
    done: int
    total: int
    best: Evaluation | None = None
    top: list[Evaluation] = Field(default_factory=list)
    walk_forward: list[WalkForwardRow] = Field(default_factory=list)
    error: str = ""
    final: bool = False
