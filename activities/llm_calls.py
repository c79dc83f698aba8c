"""LLM calls as store rows: every call is recorded once by its key, whatever its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import activity

from agents.llm import CallLog


def call_rows(key: str, strategy_id: str | None, logs: Mapping[str, CallLog]) -> list[dict[str, Any]]:
    """Rows for ``repo.record_llm_calls``: one per call, keyed by attempt (a retried call cost tokens too)."""
    attempt = activity.info().attempt
    return [
        {
            "call_key": f"{key}/{name}/a{attempt}/{i}",
            "strategy_id": strategy_id,
            "decision_key": f"{key}/{name}",
            "purpose": c.purpose,
            "model": c.model,
            "prompt_hash": c.prompt_hash,
            "tokens_in": c.tokens_in,
            "tokens_out": c.tokens_out,
            "cost": c.cost,
            "latency_ms": c.latency_ms,
            "ok": c.ok,
            "error": c.error[:2000],
        }
        for name, log in logs.items()
        for i, c in enumerate(log.calls)
    ]
