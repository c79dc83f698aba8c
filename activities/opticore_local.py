"""Backtests and optimisations in this process, with no Temporal and no database (``asts backtest
--local``): the same engine, data loading, sizing and scoring as the activities, the same record."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from activities.opticore import (
    TOP_RETURNED,
    _candidates,
    _evaluator,
    _finite,
    _scipy,
    backtest_record,
    load_bars,
)
from activities.opticore_contracts import BacktestRequest, DataSpec, Evaluation, OptimizeRequest
from trading.backtest import Bars
from trading.errors import InvalidInput

Progress = Callable[[int, int], None]


def local_bars(data: DataSpec) -> Bars:
    """The bars of a local run: a bundled series or a CSV file (the store needs the stack)."""
    if data.store is not None:
        raise InvalidInput("a stored series (--from-store) is read through the API; give --data or --symbol")
    return load_bars(data)


def run_backtest_locally(req: BacktestRequest) -> dict[str, Any]:
    """A backtest here and now, answered as ``GET /backtests/{id}`` would answer it."""
    peers = {sym: local_bars(spec) for sym, spec in req.peers.items()}
    record = backtest_record(req, local_bars(req.data), peers)
    return {"id": req.backtest_id, "status": "done", "error": "", **record}


def run_optimization_locally(req: OptimizeRequest, progress: Progress | None = None) -> dict[str, Any]:
    """A grid, random or scipy search here and now, answered as ``GET /optimizations/{id}`` would."""
    if req.walk_forward is not None:
        raise InvalidInput("walk-forward runs through the API (a durable workflow); drop --local")
    evaluate = _evaluator(req, local_bars(req.data))
    if req.method in ("grid", "random"):
        candidates = _candidates(req)
        evals = []
        for i, c in enumerate(candidates):
            score, metrics = evaluate(c)
            evals.append(Evaluation(params=c, score=score, metrics=metrics))
            if progress is not None:
                progress(i + 1, len(candidates))
    else:
        evals = _scipy(req, evaluate)
    scored = sorted((e for e in evals if math.isfinite(e.score)), key=lambda e: e.score, reverse=True)
    best = scored[0] if scored else None
    return {
        "id": req.optimization_id,
        "status": "done" if best is not None else "failed",
        "error": "" if best is not None else "the strategy refused every parameter set",
        "done": len(evals),
        "total": len(evals),
        "best_params": best.params if best else None,
        "best_score": _finite(best.score) if best else None,
        "best_metrics": best.metrics if best else None,
        "top": [e.model_dump() | {"score": _finite(e.score)} for e in scored[:TOP_RETURNED]],
        "walk_forward": [],
    }
