"""The change feed: orders are read by the time they were last written.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index ``orders.updated_at``."""
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_orders_updated_at", table_name="orders")
