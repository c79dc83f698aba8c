"""Factories for test inputs (small, explicit, overridable)."""

from __future__ import annotations

import secrets
from typing import Any

from activities.contracts import StrategyConfig
from activities.deps import Deps, utcnow
from activities.status import record_strategy
from store import repo
from workflows.options import strategy_workflow_id


def make_config(**overrides: Any) -> StrategyConfig:
    """A strategy config that trades soon on the bundled data."""
    sid = overrides.pop("strategy_id", "t" + secrets.token_hex(4))
    fields: dict[str, Any] = {
        "strategy_id": sid,
        "name": "test",
        "type": "sma_cross",
        "exchange": "paper",
        "symbols": ["MSFT/USD"],
        "interval_s": 0.2,
        "params": {"fast": 2, "slow": 5, "size": "10"},
        "risk": {},
        # No NeuroHub unless a test starts one: a hub of another test must never be reached.
        "hub_id": f"nohub-{sid}",
    }
    fields.update(overrides)
    return StrategyConfig(**fields)


async def insert_strategy(deps: Deps, config: StrategyConfig, status: str = "running") -> None:
    """Record the strategy as the API would before starting its workflow."""
    async with deps.sessions.begin() as s:
        await record_strategy(s, config, workflow_id=strategy_workflow_id(config.strategy_id), now=utcnow())
        if status != "running":
            await repo.set_strategy_status(
                s, strategy_id=config.strategy_id, status=status, reason="", now=utcnow()
            )
