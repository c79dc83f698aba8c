"""LLM calls as store rows: every call is recorded once by its key, whatever its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import activity

from activities.metrics import count_llm_calls, provider_of
from agents.llm import CallLog, LlmConfig


def call_rows(key: str, strategy_id: str | None, logs: Mapping[str, CallLog]) -> list[dict[str, Any]]:
    """Rows for ``repo.record_llm_calls``: one per call, keyed by attempt (a retried call cost tokens too)."""
    info = activity.info()
    run = info.workflow_run_id or "-"
    return [
        {
            # The run and attempt make it unique: a retried call, or a reset workflow's, cost tokens too.
            "call_key": f"{key}/{name}/{run}/{info.activity_id}/a{info.attempt}/{i}"[:200],
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
            "created_at": c.at,
        }
        for name, log in logs.items()
        for i, c in enumerate(log.calls)
    ]


def count_calls(llm: LlmConfig | None, logs: Mapping[str, CallLog]) -> None:
    """Count the calls of ``logs`` in the metrics, by the endpoint's host and the model."""
    count_llm_calls(logs, provider_of(llm.base_url if llm is not None else None))
