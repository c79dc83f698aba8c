"""Initial schema: strategies, orders, fills, positions, decisions, risk events, PnL snapshots.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(64)
SHORT = sa.String(32)
NAME = sa.String(200)
SYMBOL = sa.String(64)


def _id_column() -> sa.Column[int]:
    """An auto-incrementing surrogate primary key."""
    return sa.Column("id", BIG_ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "strategies",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("exchange", sa.String(64), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("interval_s", sa.Double(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("status_reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("workflow_id", NAME, nullable=False),
        sa.Column("placements", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_strategies"),
        sa.CheckConstraint("status IN ('running', 'halted', 'stopped')", name="ck_strategies_status"),
    )

    op.create_table(
        "orders",
        _id_column(),
        sa.Column("client_order_id", ID, nullable=False),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("side", SHORT, nullable=False),
        sa.Column("type", SHORT, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("filled_qty", MONEY, nullable=False),
        sa.Column("avg_price", MONEY, nullable=True),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("venue_order_id", NAME, nullable=True),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        sa.ForeignKeyConstraint(["strategy_id"], ["strategies.id"], name="fk_orders_strategy_id_strategies"),
    )
    op.create_index("ix_orders_strategy_id", "orders", ["strategy_id"])

    op.create_table(
        "fills",
        _id_column(),
        sa.Column("fill_id", NAME, nullable=False),
        sa.Column("client_order_id", ID, nullable=False),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("side", SHORT, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("ts", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("fill_id", name="uq_fills_fill_id"),
    )
    op.create_index("ix_fills_client_order_id", "fills", ["client_order_id"])
    op.create_index("ix_fills_strategy_id", "fills", ["strategy_id"])

    op.create_table(
        "positions",
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("avg_price", MONEY, nullable=False),
        sa.Column("realised_pnl", MONEY, nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "symbol", name="pk_positions"),
    )

    op.create_table(
        "decisions",
        _id_column(),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("target", SHORT, nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("signal", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.UniqueConstraint("strategy_id", "cycle", "symbol", name="uq_decisions_strategy_id_cycle_symbol"),
    )

    op.create_table(
        "risk_events",
        _id_column(),
        sa.Column("event_key", NAME, nullable=False),
        sa.Column("strategy_id", ID, nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("symbol", SYMBOL, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_risk_events"),
        sa.UniqueConstraint("event_key", name="uq_risk_events_event_key"),
    )
    op.create_index("ix_risk_events_strategy_id", "risk_events", ["strategy_id"])
    op.create_index("ix_risk_events_kind", "risk_events", ["kind"])

    op.create_table(
        "pnl_snapshots",
        _id_column(),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("ts", UTC_TIME, nullable=False),
        sa.Column("realised", MONEY, nullable=False),
        sa.Column("unrealised", MONEY, nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("equity", MONEY, nullable=False),
        sa.Column("exposure", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pnl_snapshots"),
        sa.UniqueConstraint("strategy_id", "cycle", name="uq_pnl_snapshots_strategy_id_cycle"),
    )
    op.create_index("ix_pnl_snapshots_strategy_id_ts", "pnl_snapshots", ["strategy_id", "ts"])


def downgrade() -> None:
    """Drop every table."""
    op.drop_table("pnl_snapshots")
    op.drop_table("risk_events")
    op.drop_table("decisions")
    op.drop_table("positions")
    op.drop_table("fills")
    op.drop_table("orders")
    op.drop_table("strategies")
