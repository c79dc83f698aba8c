"""Market data: closed OHLCV bars per venue, symbol and timeframe.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
SHORT = sa.String(32)
NAME = sa.String(200)
SYMBOL = sa.String(64)


def upgrade() -> None:
    """Create the candles table; its primary key also serves every range read of one series."""
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(64), nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("timeframe", SHORT, nullable=False),
        sa.Column("ts", UTC_TIME, nullable=False),
        sa.Column("open", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("close", MONEY, nullable=False),
        sa.Column("volume", MONEY, nullable=False),
        sa.Column("source", NAME, nullable=False),
        sa.Column("ingested_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "timeframe", "ts", name="pk_candles"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("candles")
