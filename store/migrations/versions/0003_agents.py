"""Agents: decision records in full, LLM calls (budgets), DataSpider news items.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the store's column types, so this file never changes meaning.
MONEY = sa.Numeric(38, 18).with_variant(sa.Text(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(64)
SHORT = sa.String(32)
NAME = sa.String(200)
SYMBOL = sa.String(64)


def _default(value: str) -> sa.TextClause:
    return sa.text(value)


def upgrade() -> None:
    """Widen ``decisions`` (ad-hoc analyses have no strategy) and add the agent tables."""
    # Nullability changes rebuild the table on SQLite (batch mode); PostgreSQL alters in place.
    with op.batch_alter_table("decisions") as b:
        b.alter_column("strategy_id", existing_type=ID, nullable=True)
        b.alter_column("cycle", existing_type=sa.Integer(), nullable=True)
        b.add_column(sa.Column("analysis_id", ID, nullable=True))
        b.add_column(sa.Column("mode", SHORT, server_default=_default("'analysts'"), nullable=False))
        b.add_column(sa.Column("as_of", UTC_TIME, nullable=True))
        b.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
        b.add_column(sa.Column("output", sa.JSON(), nullable=True))
        b.add_column(sa.Column("model", NAME, server_default=_default("''"), nullable=False))
        b.add_column(sa.Column("prompt_hash", ID, server_default=_default("''"), nullable=False))
        b.add_column(sa.Column("tokens_in", sa.Integer(), server_default=_default("0"), nullable=False))
        b.add_column(sa.Column("tokens_out", sa.Integer(), server_default=_default("0"), nullable=False))
        b.add_column(sa.Column("cost", MONEY, server_default=_default("0"), nullable=False))
        b.add_column(sa.Column("latency_ms", sa.Double(), server_default=_default("0"), nullable=False))
        b.add_column(sa.Column("error", sa.Text(), server_default=_default("''"), nullable=False))
        b.create_unique_constraint("uq_decisions_analysis_id", ["analysis_id"])

    op.create_table(
        "llm_calls",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("call_key", NAME, nullable=False),
        sa.Column("strategy_id", ID, nullable=True),
        sa.Column("decision_key", NAME, nullable=False),
        sa.Column("purpose", SHORT, nullable=False),
        sa.Column("model", NAME, nullable=False),
        sa.Column("prompt_hash", ID, nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), server_default=_default("''"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_llm_calls"),
        sa.UniqueConstraint("call_key", name="uq_llm_calls_call_key"),
    )
    op.create_index("ix_llm_calls_strategy_id_created_at", "llm_calls", ["strategy_id", "created_at"])

    op.create_table(
        "news_items",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("content_hash", ID, nullable=False),
        sa.Column("source", NAME, nullable=False),
        sa.Column("guid", sa.Text(), server_default=_default("''"), nullable=False),
        sa.Column("url", sa.Text(), server_default=_default("''"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), server_default=_default("''"), nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=False),
        sa.Column("ingested_at", UTC_TIME, nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.Double(), nullable=False),
        sa.Column("sentiment_method", SHORT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_news_items"),
        sa.UniqueConstraint("content_hash", name="uq_news_items_content_hash"),
    )
    op.create_index("ix_news_items_published_at", "news_items", ["published_at"])
    op.create_table(
        "news_symbols",
        sa.Column("news_id", BIG_ID, nullable=False),
        sa.Column("symbol", SYMBOL, nullable=False),
        sa.Column("published_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("news_id", "symbol", name="pk_news_symbols"),
        sa.ForeignKeyConstraint(["news_id"], ["news_items.id"], name="fk_news_symbols_news_id_news_items"),
    )
    op.create_index("ix_news_symbols_symbol_published_at", "news_symbols", ["symbol", "published_at"])


def downgrade() -> None:
    """Drop what ``upgrade`` added (ad-hoc decisions go with the columns that key them)."""
    op.drop_index("ix_news_symbols_symbol_published_at", table_name="news_symbols")
    op.drop_table("news_symbols")
    op.drop_index("ix_news_items_published_at", table_name="news_items")
    op.drop_table("news_items")
    op.drop_index("ix_llm_calls_strategy_id_created_at", table_name="llm_calls")
    op.drop_table("llm_calls")
    op.execute("DELETE FROM decisions WHERE strategy_id IS NULL OR cycle IS NULL")
    with op.batch_alter_table("decisions") as b:
        b.drop_constraint("uq_decisions_analysis_id", type_="unique")
        for col in (
            "error",
            "latency_ms",
            "cost",
            "tokens_out",
            "tokens_in",
            "prompt_hash",
            "model",
            "output",
            "inputs",
            "as_of",
            "mode",
            "analysis_id",
        ):
            b.drop_column(col)
        b.alter_column("cycle", existing_type=sa.Integer(), nullable=False)
        b.alter_column("strategy_id", existing_type=ID, nullable=False)
