"""OptiCore owners: who started each backtest and optimisation (the per-user quotas count them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
NAME = sa.String(200)
EMPTY = sa.text("''")
TABLES = ("backtests", "optimizations")


def upgrade() -> None:
    """Add the owner column to backtests and optimisations (rows from before: no owner)."""
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("created_by", NAME, nullable=False, server_default=EMPTY))


def downgrade() -> None:
    """Drop the owner columns."""
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("created_by")
