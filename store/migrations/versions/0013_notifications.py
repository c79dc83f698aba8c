"""What each notification channel has sent of the events and fills.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
ID = sa.String(64)
SHORT = sa.String(32)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, autoincrement=True),
        sa.Column("channel", ID, nullable=False),
        sa.Column("source", SHORT, nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("status", SHORT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint(
            "channel", "source", "source_id", name="uq_notifications_channel_source_source_id"
        ),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("notifications")
