"""Keyword-only repository functions; they flush but never commit (the caller owns the transaction).

Writes keyed by a natural unique key are idempotent through ``INSERT ... ON CONFLICT``
(SQLite and PostgreSQL share the syntax), so a retried activity never duplicates a
row. Reads refresh rows already in the session (``populate_existing``), so they never
return values made stale by an ``UPDATE`` or upsert statement.

Money columns are text on SQLite: never compare, sort or aggregate them in SQL.
"""

from store.repo.journal import (
    daily_pnl_base,
    latest_pnl,
    list_decisions,
    list_events,
    list_pnl,
    peak_equity,
    record_decision,
    record_event,
    record_pnl,
)
from store.repo.strategies import (
    claim_placement,
    create_strategy,
    get_strategy,
    list_strategies,
    lock_gates,
    set_strategy_params,
    set_strategy_status,
)
from store.repo.trades import (
    get_order,
    get_positions,
    list_fills,
    list_orders,
    record_fill,
    unfinished_orders,
    upsert_order,
    upsert_position,
)

__all__ = [
    "claim_placement",
    "create_strategy",
    "daily_pnl_base",
    "get_order",
    "get_positions",
    "get_strategy",
    "latest_pnl",
    "list_decisions",
    "list_events",
    "list_fills",
    "list_orders",
    "list_pnl",
    "list_strategies",
    "lock_gates",
    "peak_equity",
    "record_decision",
    "record_event",
    "record_fill",
    "record_pnl",
    "set_strategy_params",
    "set_strategy_status",
    "unfinished_orders",
    "upsert_order",
    "upsert_position",
]
