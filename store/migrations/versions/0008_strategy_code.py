"""Strategy code versions: the source of every strategy version that traded, and the version
each strategy runs and each decision was taken by.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
ID = sa.String(64)
SHORT = sa.String(32)
EMPTY = sa.text("''")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``strategy_code`` and the ``code_version`` columns (rows from before: no version)."""
    op.create_table(
        "strategy_code",
        sa.Column("version", ID, primary_key=True),
        sa.Column("name", ID, nullable=False),
        sa.Column("source", SHORT, nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_strategy_code"),
    )
    for table in ("strategies", "decisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("code_version", ID, nullable=False, server_default=EMPTY))


def downgrade() -> None:
    """Drop them."""
    for table in ("strategies", "decisions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("code_version")
    op.drop_table("strategy_code")
