"""Keyword-only repository functions; they flush but never commit (the caller owns the transaction).

Writes keyed by a natural unique key are idempotent through ``INSERT ... ON CONFLICT``
(SQLite and PostgreSQL share the syntax), so a retried activity never duplicates a
row. Reads refresh rows already in the session (``populate_existing``), so they never
return values made stale by an ``UPDATE`` or upsert statement.

Money columns are text on SQLite: never compare, sort or aggregate them in SQL.
"""

from store.repo.control import (
    admit_placement,
    create_approval,
    decide_approval,
    ensure_hub_gate,
    get_approval,
    get_hub_gate,
    hub_gate_of,
    list_approvals,
    set_hub_gate,
    strategy_gate_of,
)
from store.repo.journal import (
    cycle_decisions,
    daily_pnl_base,
    get_decision,
    latest_pnl,
    list_decisions,
    list_events,
    list_pnl,
    llm_spend,
    peak_equity,
    record_decision,
    record_event,
    record_llm_calls,
    record_pnl,
)
from store.repo.news import add_news_items, get_news_items, list_news, news_as_of, stored_hashes
from store.repo.opticore import (
    create_backtest,
    create_optimization,
    finish_backtest,
    get_backtest,
    get_optimization,
    update_optimization,
)
from store.repo.strategies import (
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
    order_counts,
    record_fill,
    unfinished_orders,
    upsert_order,
    upsert_position,
)

__all__ = [
    "add_news_items",
    "admit_placement",
    "create_approval",
    "create_backtest",
    "create_optimization",
    "create_strategy",
    "cycle_decisions",
    "daily_pnl_base",
    "decide_approval",
    "ensure_hub_gate",
    "finish_backtest",
    "get_approval",
    "get_backtest",
    "get_decision",
    "get_hub_gate",
    "get_news_items",
    "get_optimization",
    "get_order",
    "get_positions",
    "get_strategy",
    "hub_gate_of",
    "latest_pnl",
    "list_approvals",
    "list_decisions",
    "list_events",
    "list_fills",
    "list_news",
    "list_orders",
    "list_pnl",
    "list_strategies",
    "llm_spend",
    "lock_gates",
    "news_as_of",
    "order_counts",
    "peak_equity",
    "record_decision",
    "record_event",
    "record_fill",
    "record_llm_calls",
    "record_pnl",
    "set_hub_gate",
    "set_strategy_params",
    "set_strategy_status",
    "stored_hashes",
    "strategy_gate_of",
    "unfinished_orders",
    "update_optimization",
    "upsert_order",
    "upsert_position",
]
