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

# Agent analysis: may call an LLM later, so a longer budget.
ANALYSE_TIMEOUT = timedelta(seconds=60)
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
# How long a breaker's halt waits for the strategy's acknowledgement.
BREAKER_ACK_TIMEOUT = timedelta(seconds=60)

# Placing, syncing and cancelling orders: idempotent by client order id, so retried.
ORDER_TIMEOUT = timedelta(seconds=30)
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
# After a cancel, the order is read again until the venue reports it terminal.
CANCEL_CONFIRM_POLLS = 10


def strategy_workflow_id(strategy_id: str) -> str:
    """Workflow id of a strategy's long-running workflow."""
    return f"strategy-{strategy_id}"


def cycle_workflow_id(strategy_id: str, cycle: int) -> str:
    """Workflow id of one cycle of a strategy."""
    return f"cycle-{strategy_id}-{cycle}"


def order_workflow_id(client_order_id: str) -> str:
    """Workflow id of the workflow that owns one order."""
    return f"order-{client_order_id}"
