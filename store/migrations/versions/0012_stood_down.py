"""Which positions a protective exit closed: the strategy enters that direction again only once
its signal has left it (the backtest's rule).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the store's column type, so this file never changes meaning.
DIRECTION = sa.String(8)


def upgrade() -> None:
    """Add the column; no position from before was closed by an exit that counts."""
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("stood_down", DIRECTION, nullable=False, server_default=sa.text("''")))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("stood_down")
