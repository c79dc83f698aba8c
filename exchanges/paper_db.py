"""SQLite schema and row mapping of the paper exchange's state file (amounts as exact TEXT)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading.models import Fill, OrderStatus, OrderType, Side, TimeInForce, VenueOrder

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    asset TEXT PRIMARY KEY,
    total TEXT NOT NULL,
    reserved TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    qty TEXT NOT NULL,
    price TEXT,
    status TEXT NOT NULL,
    filled_qty TEXT NOT NULL,
    avg_price TEXT,
    fee TEXT NOT NULL,
    reserved_asset TEXT,
    reserved TEXT NOT NULL,
    created_tick INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    fee TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_order ON fills (order_id);
"""

# Columns added after the first release, with their definitions; ``upgrade`` adds the missing
# ones to a state file written by an older version (its orders keep the defaults: plain GTC).
ORDER_COLUMNS_ADDED = (
    ("stop_price", "TEXT"),  # stop / stop_limit trigger; a trailing stop's current level
    ("trail_amount", "TEXT"),
    ("trail_fraction", "TEXT"),
    ("trail_best", "TEXT"),  # a trailing stop's best price so far
    ("tif", "TEXT NOT NULL DEFAULT 'gtc'"),
    ("reduce_only", "INTEGER NOT NULL DEFAULT 0"),
    ("oco_group", "TEXT"),
    ("checked_tick", "INTEGER"),  # the last tick matched against (NULL: created_tick)
    ("expires_tick", "INTEGER"),  # DAY orders: the first tick at which they are expired
    ("triggered_at", "TEXT"),
)


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the columns a state file of an older version lacks (under the write lock, so processes
    opening the file together add each once)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(orders)")}
        for name, definition in ORDER_COLUMNS_ADDED:
            if name not in have:
                conn.execute(f"ALTER TABLE orders ADD COLUMN {name} {definition}")
        conn.execute("CREATE INDEX IF NOT EXISTS orders_oco ON orders (oco_group)")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def dec(text: str) -> Decimal:
    """A stored amount back as Decimal."""
    return Decimal(text)


def ts_text(ts: datetime) -> str:
    """Fixed-width UTC text with microseconds, so stored timestamps sort as text."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> datetime:
    """A stored timestamp back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def venue_order_id(order_id: int) -> str:
    """The venue's id for an order row."""
    return f"paper-{order_id:08d}"


def opt_dec(text: str | None) -> Decimal | None:
    """A stored optional amount back as Decimal (None stays None)."""
    return Decimal(text) if text is not None else None


def load_order(conn: sqlite3.Connection, row: sqlite3.Row) -> VenueOrder:
    """Build a VenueOrder (with its fills) from an ``orders`` row."""
    side = Side(row["side"])
    fills = tuple(
        Fill(
            client_order_id=row["client_order_id"],
            symbol=row["symbol"],
            side=side,
            qty=dec(f["qty"]),
            price=dec(f["price"]),
            fee=dec(f["fee"]),
            ts=parse_ts(f["ts"]),
            fill_id=f["fill_id"],
        )
        for f in conn.execute("SELECT * FROM fills WHERE order_id = ? ORDER BY ts, fill_id", [row["id"]])
    )
    return VenueOrder(
        client_order_id=row["client_order_id"],
        venue_order_id=venue_order_id(row["id"]),
        symbol=row["symbol"],
        side=side,
        type=OrderType(row["type"]),
        qty=dec(row["qty"]),
        price=opt_dec(row["price"]),
        status=OrderStatus(row["status"]),
        filled_qty=dec(row["filled_qty"]),
        avg_price=opt_dec(row["avg_price"]),
        fee=dec(row["fee"]),
        created_at=parse_ts(row["created_at"]),
        updated_at=parse_ts(row["updated_at"]),
        reason=row["reason"],
        fills=tuple(fills),
        stop_price=opt_dec(row["stop_price"]),
        trail_amount=opt_dec(row["trail_amount"]),
        trail_fraction=opt_dec(row["trail_fraction"]),
        tif=TimeInForce(row["tif"]),
        reduce_only=bool(row["reduce_only"]),
        oco_group=row["oco_group"],
        triggered_at=parse_ts(row["triggered_at"]) if row["triggered_at"] else None,
    )


def to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round ``value`` to a multiple of ``step`` in the given direction."""
    return (value / step).to_integral_value(rounding=rounding) * step


def balance_rows(conn: sqlite3.Connection) -> list[Any]:
    """Every balance row as (asset, total, reserved) text, sorted by asset."""
    return conn.execute("SELECT asset, total, reserved FROM balances ORDER BY asset").fetchall()


def balance(conn: sqlite3.Connection, asset: str) -> tuple[Decimal, Decimal]:
    """(total, reserved) of one asset; zeros when the account never held it."""
    row = conn.execute("SELECT total, reserved FROM balances WHERE asset = ?", [asset]).fetchone()
    return (dec(row["total"]), dec(row["reserved"])) if row else (Decimal(0), Decimal(0))


def add_balance(conn: sqlite3.Connection, asset: str, total: Decimal, reserved: Decimal) -> None:
    """Add deltas to an asset's total and reserved amounts (exact Decimal arithmetic)."""
    old_total, old_reserved = balance(conn, asset)
    conn.execute(
        "INSERT INTO balances (asset, total, reserved) VALUES (?, ?, ?)"
        " ON CONFLICT(asset) DO UPDATE SET total = excluded.total, reserved = excluded.reserved",
        [asset, str(old_total + total), str(old_reserved + reserved)],
    )
