"""Control: NeuroHub's global gate, strategy reduce-only/halt columns, order approvals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
ID = sa.String(64)
SHORT = sa.String(32)
NAME = sa.String(200)


def upgrade() -> None:
    """Add the control columns and tables (plain ADD COLUMN: no table rebuild on SQLite)."""
    op.add_column(
        "strategies", sa.Column("reduce_only", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("strategies", sa.Column("halt_id", ID, server_default=sa.text("''"), nullable=False))
    op.add_column("strategies", sa.Column("flatten", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("strategies", sa.Column("controls", sa.JSON(), nullable=True))

    op.create_table(
        "hub_gates",
        sa.Column("id", ID, nullable=False),
        sa.Column("state", SHORT, nullable=False),
        sa.Column("halt_id", ID, server_default=sa.text("''"), nullable=False),
        sa.Column("flatten", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("actor", NAME, server_default=sa.text("''"), nullable=False),
        sa.Column("changed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hub_gates"),
        sa.CheckConstraint("state IN ('active', 'reducing', 'halted')", name="ck_hub_gates_state"),
    )

    op.create_table(
        "approvals",
        sa.Column("id", ID, nullable=False),
        sa.Column("strategy_id", ID, nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("workflow_id", NAME, nullable=False),
        sa.Column("client_order_id", ID, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", SHORT, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("notional", MONEY, nullable=False),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("decided_at", UTC_TIME, nullable=True),
        sa.Column("decided_by", NAME, server_default=sa.text("''"), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name="fk_approvals_strategy_id_strategies"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired')", name="ck_approvals_status"
        ),
    )
    op.create_index("ix_approvals_status", "approvals", ["status"])
    op.create_index("ix_approvals_strategy_id", "approvals", ["strategy_id"])


def downgrade() -> None:
    """Drop what ``upgrade`` added."""
    op.drop_index("ix_approvals_strategy_id", table_name="approvals")
    op.drop_index("ix_approvals_status", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("hub_gates")
    with op.batch_alter_table("strategies") as batch:
        for column in ("controls", "flatten", "halt_id", "reduce_only"):
            batch.drop_column(column)
