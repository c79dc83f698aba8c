"""Order types: stop, stop-limit and trailing orders with time in force, reduce-only, OCO groups,
and which of a strategy's orders are its protective exits.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
ID = sa.String(64)
SHORT = sa.String(32)
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
EMPTY = sa.text("''")
_COLUMNS = ("stop_price", "trail_amount", "trail_fraction", "tif", "reduce_only", "oco_group", "exit_kind")


def upgrade() -> None:
    """Add the columns; orders from before are plain GTC orders and no exits."""
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("stop_price", MONEY, nullable=True))
        batch.add_column(sa.Column("trail_amount", MONEY, nullable=True))
        batch.add_column(sa.Column("trail_fraction", MONEY, nullable=True))
        batch.add_column(sa.Column("tif", SHORT, nullable=False, server_default=sa.text("'gtc'")))
        batch.add_column(sa.Column("reduce_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("oco_group", ID, nullable=True))
        batch.add_column(sa.Column("exit_kind", SHORT, nullable=False, server_default=EMPTY))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("orders") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
