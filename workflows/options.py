"""Timeouts, retry policies, task queues and workflow-id formats, named once."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

TASK_QUEUE = "asts"

# Failure types that retrying cannot fix (class names from trading.errors).
NON_RETRYABLE = [
    "DomainError",
    "InvalidInput",
    "UnknownSymbol",
    "UnknownStrategyType",
    "InvalidOrder",
    "InsufficientBalance",
    "OrderNotFound",
    "IllegalTransition",
    "TradingHalted",
    "DuplicateClientOrderId",
    "AuthenticationFailed",
    "VenueRejected",
]

# Reading market data: quick, retried a few times, then the cycle gives up.
MARKET_DATA_TIMEOUT = timedelta(seconds=15)
MARKET_DATA_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=5,
    non_retryable_error_types=NON_RETRYABLE,
)

# Agent analysis: may ask an LLM several times (debate, repair), each call bounded by its own
# timeout; after the last attempt an unreachable model makes the decision a hold.
ANALYSE_TIMEOUT = timedelta(minutes=5)
ANALYSE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE,
)

# Store-only steps (risk, reconcile, status): retried until they succeed, quickly.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=20,
    non_retryable_error_types=NON_RETRYABLE,
)

# NeuroHub telling every strategy about a control: one activity, Updates sent in parallel.
# Its timeout is the command's acknowledgement timeout plus this margin.
NOTIFY_TIMEOUT = timedelta(seconds=60)
# One notification round: a batch per channel, each request within its own 10 s timeout.
NOTIFY_DELIVERY_TIMEOUT = timedelta(minutes=5)
NOTIFY_DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE,
)
# How long a breaker's halt waits for the strategy's acknowledgement.
BREAKER_ACK_TIMEOUT = timedelta(seconds=60)

# Placing, syncing and cancelling orders: idempotent by client order id, so retried.
ORDER_TIMEOUT = timedelta(seconds=30)
# The protect step reads, cancels and places several exits per symbol.
PROTECT_TIMEOUT = timedelta(seconds=120)
# Exits ASTS holds are checked this often between cycles (one ticker request per symbol), by an
# activity that heartbeats twice a second; the SDK sends them at most every 0.8 heartbeat
# timeouts, so a halt's cancel reaches it within about 2.4 s.
HELD_EXIT_POLL_S = 1.0
WATCH_EXITS_HEARTBEAT = timedelta(seconds=3)
WATCH_EXITS_MARGIN = PROTECT_TIMEOUT  # after its deadline: the last round's exit being sent
ORDER_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=30,
    non_retryable_error_types=NON_RETRYABLE,
)

# A resting order is polled from this interval, doubling up to the maximum, until it is
# terminal or its time in force ends.
ORDER_POLL_INTERVAL = timedelta(seconds=1)
ORDER_POLL_MAX_INTERVAL = timedelta(seconds=30)
DEFAULT_TIME_IN_FORCE = timedelta(minutes=5)

# A cycle has no timeout of its own: every step's retries are bounded, and its orders
# end by their time in force. Cutting a cycle short could leave an order in flight while
# the next cycle, seeing no position yet, sized a second one.
# Rebuilding a venue's orders after a restart: one call per unfinished order, then open orders.
VENUE_RECONCILE_TIMEOUT = timedelta(minutes=5)
# It heartbeats per order: a run whose worker died is retried elsewhere within this.
VENUE_RECONCILE_HEARTBEAT = timedelta(seconds=20)

# After a cancel, the order is read again until the venue reports it terminal.
CANCEL_CONFIRM_POLLS = 10

# DataSpider: reading one feed (fetch, parse, store). A 5xx or a network error is retried
# a few times; a 4xx, a missing file or an unparseable feed is not (InvalidInput).
INGEST_TIMEOUT = timedelta(seconds=60)
INGEST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=20),
    maximum_attempts=4,
    non_retryable_error_types=NON_RETRYABLE,
)
# The schedule that runs IngestWorkflow every ``news_interval_s``; its runs are named after it.
NEWS_SCHEDULE_ID = "dataspider"
# A scheduled or manual ingest run gives up after this long (its feeds' retries are bounded well within).
INGEST_RUN_TIMEOUT = timedelta(minutes=10)


def strategy_workflow_id(strategy_id: str) -> str:
    """Workflow id of a strategy's long-running workflow."""
    return f"strategy-{strategy_id}"


def analysis_workflow_id(analysis_id: str) -> str:
    """Workflow id of one analysis outside any strategy."""
    return f"analysis-{analysis_id}"


def cycle_workflow_id(strategy_id: str, cycle: int) -> str:
    """Workflow id of one cycle of a strategy."""
    return f"cycle-{strategy_id}-{cycle}"


def ingest_workflow_id(run: str) -> str:
    """Workflow id of a manual (unscheduled) news ingest run."""
    return f"ingest-{run}"


def order_workflow_id(client_order_id: str) -> str:
    """Workflow id of the workflow that owns one order."""
    return f"order-{client_order_id}"


# --- OptiCore: backtests and optimisations -----------------------------------------------

# One backtest: CPU work on the backtest queue; bad input is not retried.
BACKTEST_TIMEOUT = timedelta(minutes=30)
BACKTEST_HEARTBEAT = timedelta(seconds=20)  # activities heartbeat every 5 s while they compute
BACKTEST_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=NON_RETRYABLE,
)
# Chunks of an optimisation evaluated at once (each on the backtest queue).
PARALLEL_CHUNKS = 2


def backtest_queue(task_queue: str) -> str:
    """The task queue of CPU-bound backtest work, away from execution."""
    return f"{task_queue}-backtest"


def backtest_workflow_id(backtest_id: str) -> str:
    """Workflow id of one backtest."""
    return f"backtest-{backtest_id}"


def optimization_workflow_id(optimization_id: str) -> str:
    """Workflow id of one optimisation."""
    return f"optimization-{optimization_id}"


# --- Market data: backfilling OHLCV into the store ------------------------------------------

# One series' backfill: pages stored one by one, so a retry resumes where the store ends. It
# heartbeats after every page; a venue request that hangs longer than the heartbeat is retried.
BACKFILL_TIMEOUT = timedelta(hours=2)
BACKFILL_HEARTBEAT = timedelta(seconds=120)
BACKFILL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=6,
    non_retryable_error_types=NON_RETRYABLE,
)
# The schedule that runs MarketDataWorkflow every ``market_data_interval_s``; its runs are named after it.
MARKETDATA_SCHEDULE_ID = "marketdata"
# A scheduled or manual run gives up after this long.
MARKETDATA_RUN_TIMEOUT = timedelta(hours=6)


def marketdata_workflow_id(run: str) -> str:
    """Workflow id of a manual (unscheduled) market-data run."""
    return f"marketdata-{run}"
