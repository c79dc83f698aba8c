"""Protective exits ASTS holds itself, for venues that cannot hold them (no such order type, or
no one-cancels-the-other group that large).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
ID = sa.String(64)
SHORT = sa.String(32)
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "held_exits",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("client_order_id", ID, nullable=False),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("oco_group", ID, nullable=False),
        sa.Column("kind", SHORT, nullable=False),
        sa.Column("side", SHORT, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("stop_price", MONEY, nullable=True),
        sa.Column("trail_fraction", MONEY, nullable=True),
        sa.Column("best_price", MONEY, nullable=True),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_held_exits"),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name="fk_held_exits_strategy_id_strategies"
        ),
        sa.UniqueConstraint("client_order_id", name="uq_held_exits_client_order_id"),
    )
    op.create_index("ix_held_exits_strategy_id", "held_exits", ["strategy_id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_held_exits_strategy_id", table_name="held_exits")
    op.drop_table("held_exits")
