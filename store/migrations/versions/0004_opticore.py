"""OptiCore: backtests and optimisations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
UTC_TIME = sa.DateTime(timezone=True)
ID = sa.String(64)
SHORT = sa.String(32)
NAME = sa.String(200)


def upgrade() -> None:
    """Create the backtest and optimisation tables."""
    op.create_table(
        "backtests",
        sa.Column("id", ID, nullable=False),
        sa.Column("workflow_id", NAME, nullable=False),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("trades", sa.JSON(), nullable=True),
        sa.Column("equity", sa.JSON(), nullable=True),
        sa.Column("conventions", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("error", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtests"),
    )
    op.create_table(
        "optimizations",
        sa.Column("id", ID, nullable=False),
        sa.Column("workflow_id", NAME, nullable=False),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("best_params", sa.JSON(), nullable=True),
        sa.Column("best_score", sa.Double(), nullable=True),
        sa.Column("best_metrics", sa.JSON(), nullable=True),
        sa.Column("top", sa.JSON(), nullable=True),
        sa.Column("walk_forward", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_optimizations"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("optimizations")
    op.drop_table("backtests")
