"""Small factories for store tests: explicit defaults, every field overridable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store import repo
from store.models import StrategyRow

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


async def add_strategy(session: AsyncSession, strategy_id: str = "s1a2b3c4", **overrides: Any) -> StrategyRow:
    """Create a running strategy."""
    fields: dict[str, Any] = {
        "id": strategy_id,
        "name": "test",
        "type": "sma_cross",
        "exchange": "paper",
        "symbols": ["BTC/USDT"],
        "interval_s": 60.0,
        "params": {"fast": 5, "slow": 20},
        "risk": {"max_position": "1"},
        "workflow_id": f"strategy-{strategy_id}",
        "now": T0,
    }
    fields.update(overrides)
    return await repo.create_strategy(session, **fields)


def order_fields(
    strategy_id: str = "s1a2b3c4", cycle: int = 1, leg: int = 0, **overrides: Any
) -> dict[str, Any]:
    """Keyword arguments of ``repo.upsert_order`` for a new limit buy."""
    fields: dict[str, Any] = {
        "client_order_id": f"{strategy_id}-c{cycle}-l{leg}",
        "strategy_id": strategy_id,
        "cycle": cycle,
        "leg": leg,
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "qty": Decimal("0.5"),
        "price": Decimal("42000.10"),
        "status": "new",
        "filled_qty": Decimal(0),
        "avg_price": None,
        "fee": Decimal(0),
        "venue_order_id": None,
        "reason": "",
        "now": T0,
    }
    fields.update(overrides)
    return fields


def fill_fields(fill_id: str = "f1", strategy_id: str = "s1a2b3c4", **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``repo.record_fill``."""
    fields: dict[str, Any] = {
        "fill_id": fill_id,
        "client_order_id": f"{strategy_id}-c1-l0",
        "strategy_id": strategy_id,
        "symbol": "BTC/USDT",
        "side": "buy",
        "qty": Decimal("0.25"),
        "price": Decimal("42000.1"),
        "fee": Decimal("0.01"),
        "ts": T0,
    }
    fields.update(overrides)
    return fields


def pnl_fields(strategy_id: str = "s1a2b3c4", cycle: int = 1, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``repo.record_pnl``; ``ts`` follows the cycle by default."""
    fields: dict[str, Any] = {
        "strategy_id": strategy_id,
        "cycle": cycle,
        "ts": at(60 * cycle),
        "realised": Decimal("1.5"),
        "unrealised": Decimal("-0.25"),
        "fees": Decimal("0.1"),
        "equity": Decimal("10000"),
        "exposure": Decimal("2500"),
    }
    fields.update(overrides)
    return fields
