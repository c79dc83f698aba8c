"""OptiCore's activities: backtests, chunks of a parameter search, scipy searches, walk-forward
windows, and their records. CPU work runs in a thread while the activity heartbeats, so a
worker that dies is noticed within the heartbeat timeout and the work resumes elsewhere.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from temporalio import activity

from activities.data_files import confined_file
from activities.deps import Deps, translate_errors, utcnow
from activities.marketdata import store_bars
from activities.opticore_contracts import (
    MAX_CANDIDATES,
    BacktestFailure,
    BacktestRequest,
    BacktestSettings,
    BacktestSummary,
    ChunkInput,
    ChunkResult,
    DataSpec,
    Evaluation,
    OptimizePlan,
    OptimizeRecord,
    OptimizeRequest,
    SearchResult,
    WalkForwardRow,
    WindowInput,
)
from asts.engine import backtest, backtest_type
from asts.registry import current
from exchanges.data import bundled_series
from store import repo
from trading import optimize
from trading.backtest import BacktestConfig, BacktestResult, Bars
from trading.bars_csv import detect_gaps, load_bars_csv
from trading.errors import InvalidInput
from trading.sizing import Sizing, choose_sizing

T = TypeVar("T")
HEARTBEAT_EVERY_S = 5.0
# Evaluations a scipy search returns to its workflow (the best ones; the count is returned too).
TOP_RETURNED = 20
# Points of the stored equity curve (the full curve stays with the engine's result).
EQUITY_POINTS = 2000
KEY_METRICS = ("total_return", "sharpe", "sortino", "calmar", "max_drawdown", "trades", "win_rate")
# Bars per year by bar interval, for annualised figures (trading days for daily bars).
SECONDS_PER_YEAR = 365.25 * 24 * 3600


@functools.lru_cache(maxsize=8)
def _load(kind: str, where: str, stamp: int, tz: str | None = None) -> Bars:
    if kind == "symbol":
        series = bundled_series()
        if where not in series:
            known = ", ".join(sorted(series))
            raise InvalidInput(f"no bundled series {where!r}; known: {known}")
        return Bars.from_candles(series[where].candles())
    return load_bars_csv(Path(where), tz=tz)


def load_bars(data: DataSpec) -> Bars:
    """The bars a request names (cached per file version), trimmed to the last N if asked."""
    if data.symbol is not None:
        bars = _load("symbol", data.symbol, 0)
    else:
        path = Path(data.csv_path or "")
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as e:
            raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from None
        bars = _load("csv", str(path), stamp, data.tz)
    return bars if data.last is None else bars.tail(data.last)


def sizing_for(strategy_type: str, settings: BacktestSettings, params: Mapping[str, Any]) -> Sizing:
    """The sizing of a backtest of these (raw) parameters under these settings."""
    named = current().get(strategy_type).size_of(params, named_only=True)
    return choose_sizing(named, given=settings.sizing, fraction=settings.fraction, units=settings.units)


def engine_config(settings: BacktestSettings, bars: Bars, sizing: Sizing | None = None) -> BacktestConfig:
    """The engine's configuration; annualisation follows the bars' own interval unless given."""
    per_year = settings.bars_per_year
    if per_year is None:
        gaps = np.diff(bars.ts.astype(np.int64))
        step = float(np.median(gaps)) / 1e9 if gaps.size else 86_400.0
        per_year = 252.0 if step >= 86_400 * 0.9 else SECONDS_PER_YEAR / max(step, 1.0)
    fields = settings.model_dump(exclude={"bars_per_year", "fraction", "sizing"})
    return BacktestConfig(
        bars_per_year=per_year,
        fraction=settings.fraction or 1.0,
        sizing=sizing or settings.sizing,
        **fields,
    )


def _finite(x: float) -> float:
    return float(x) if math.isfinite(float(x)) else 0.0


def key_metrics(result: BacktestResult) -> dict[str, float]:
    """The figures an optimisation keeps per evaluation."""
    m = result.metrics
    return {k: _finite(getattr(m, k)) for k in KEY_METRICS}


def score_of(result: BacktestResult, objective: str) -> float:
    """The objective's value (higher is better; not a number counts as the worst)."""
    value = float(optimize.OBJECTIVES[objective](result.metrics))
    return value if math.isfinite(value) else -math.inf


async def _cpu(
    fn: Callable[[], T], progress: Callable[[], Any] | None = None, *, stop: threading.Event | None = None
) -> T:
    """Run ``fn`` in a thread; heartbeat while it runs (with ``progress()`` as details).

    A thread cannot be killed: when the activity is cancelled (or times out), ``stop`` is set
    and ``fn``'s loop is expected to end at its next check.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY_S)
            if done:
                return task.result()
            activity.heartbeat(progress() if progress is not None else None)
    except asyncio.CancelledError:
        if stop is not None:
            stop.set()
        raise


def _evaluator(
    req: OptimizeRequest, bars: Bars
) -> Callable[[dict[str, Any]], tuple[float, dict[str, float]]]:
    kind = current().get(req.strategy_type)
    cfgs: dict[Sizing, BacktestConfig] = {}  # one per sizing: a searched size changes it

    def evaluate(candidate: dict[str, Any]) -> tuple[float, dict[str, float]]:
        params = {**req.fixed, **candidate}
        try:
            kind.parse_params(params)
        except InvalidInput:
            return -math.inf, {}
        sizing = sizing_for(req.strategy_type, req.settings, params)
        if sizing not in cfgs:
            cfgs[sizing] = engine_config(req.settings, bars, sizing)
        result = backtest(kind, bars, params, cfgs[sizing])
        return score_of(result, req.objective), key_metrics(result)

    return evaluate


def _space(req: OptimizeRequest) -> optimize.Space:
    return optimize.Space.from_mapping(req.space, req.constraints)


def _candidates(req: OptimizeRequest) -> list[dict[str, Any]]:
    """The parameter sets of a grid or random search (empty for the scipy searches)."""
    if req.method == "grid":
        return optimize.grid_candidates(
            _space(req), points_per_param=req.steps, max_candidates=MAX_CANDIDATES
        )
    if req.method == "random":
        return optimize.random_candidates(_space(req), req.n, seed=req.seed)
    return []


class OptiCoreActivities:
    """Backtest and optimisation activities (registered on the backtest queue's worker)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _bars(self, data: DataSpec) -> Bars:
        """The bars a request names; a market-data store series is read from the database.

        A CSV file must be under the data directory: checked here again, whatever the API did.
        """
        if data.csv_path is not None:
            path = confined_file(data.csv_path, self.deps.data_path)
            data = data.model_copy(update={"csv_path": str(path)})
        if data.store is None:
            return load_bars(data)
        bars = await store_bars(self.deps, data.store)
        return bars if data.last is None else bars.tail(data.last)

    @activity.defn(name="run_backtest")
    @translate_errors
    async def run_backtest(self, req: BacktestRequest) -> BacktestSummary:
        """Run one backtest and store its metrics, trades and equity curve."""
        bars = await self._bars(req.data)
        peers = {sym: await self._bars(spec) for sym, spec in req.peers.items()}
        # The API gives settings.sizing (it keeps the params normalised, a size filled in).
        record = await _cpu(lambda: backtest_record(req, bars, peers))
        async with self.deps.transaction() as s:
            await repo.finish_backtest(s, id=req.backtest_id, status="done", now=utcnow(), **record)
        return BacktestSummary(
            backtest_id=req.backtest_id,
            metrics=record["metrics"],
            trades=len(record["trades"]),
            bars=len(bars.close),
        )

    @activity.defn(name="fail_backtest")
    @translate_errors
    async def fail_backtest(self, inp: BacktestFailure) -> None:
        """Store why a backtest failed (or that it was cancelled)."""
        status = "cancelled" if inp.cancelled else "failed"
        async with self.deps.transaction() as s:
            await repo.finish_backtest(s, id=inp.backtest_id, status=status, now=utcnow(), error=inp.error)

    @activity.defn(name="plan_optimization")
    @translate_errors
    async def plan_optimization(self, req: OptimizeRequest) -> OptimizePlan:
        """The candidates of a grid or random search, and the walk-forward windows."""
        bars = await self._bars(req.data)
        current().get(req.strategy_type)  # an unknown type fails here
        _space(req)  # a bad space or constraint fails here, before any chunk runs
        candidates = _candidates(req) if req.walk_forward is None else []
        windows = []
        if req.walk_forward is not None:
            wf = req.walk_forward
            found = optimize.walk_forward_windows(
                len(bars.close), train=wf.train, test=wf.test, step=wf.step, anchored=wf.anchored
            )
            windows = [((w.train_start, w.train_end), (w.test_start, w.test_end)) for w in found]
        return OptimizePlan(candidates=candidates, windows=windows, bars=len(bars.close))

    @activity.defn(name="evaluate_chunk")
    @translate_errors
    async def evaluate_chunk(self, inp: ChunkInput) -> ChunkResult:
        """Backtest each candidate of a chunk; a retry resumes after the last heartbeat."""
        details = activity.info().heartbeat_details
        done: list[Evaluation] = [Evaluation.model_validate(e) for e in (details[0] if details else [])]
        evaluate = _evaluator(inp.request, await self._bars(inp.request.data))
        stop = threading.Event()

        def rest() -> None:
            for candidate in inp.candidates[len(done) :]:
                if stop.is_set():
                    return
                score, metrics = evaluate(candidate)
                done.append(Evaluation(params=candidate, score=score, metrics=metrics))

        await _cpu(rest, lambda: [e.model_dump() for e in list(done)], stop=stop)
        return ChunkResult(chunk=inp.chunk, evaluations=done)

    @activity.defn(name="search_optimization")
    @translate_errors
    async def search_optimization(self, req: OptimizeRequest) -> SearchResult:
        """A scipy search (differential evolution, L-BFGS-B, Nelder-Mead), whole, with heartbeats."""
        evaluate = _evaluator(req, await self._bars(req.data))
        stop = threading.Event()
        found = await _cpu(lambda: _scipy(req, evaluate, stop), stop=stop)
        best = sorted((e for e in found if math.isfinite(e.score)), key=lambda e: e.score, reverse=True)
        return SearchResult(evaluations=best[:TOP_RETURNED], count=len(found))

    @activity.defn(name="walk_forward_window")
    @translate_errors
    async def walk_forward_window(self, inp: WindowInput) -> WalkForwardRow:
        """Optimise on the window's training bars, then backtest the best on its test bars."""
        req = inp.request
        bars = await self._bars(req.data)
        train, test = bars.slice(*inp.train), bars.slice(*inp.test)

        def run() -> WalkForwardRow:
            evaluate = _evaluator(req, train)
            if req.method in ("grid", "random"):
                evals = [
                    Evaluation(params=c, score=s, metrics=m)
                    for c in _candidates(req)
                    for s, m in [evaluate(c)]
                ]
            else:
                evals = _scipy(req, evaluate)
            best = max(evals, key=lambda e: e.score)
            if not math.isfinite(best.score):  # the strategy refused every set: nothing to test
                return WalkForwardRow(
                    train=inp.train, test=inp.test, best_params={}, in_sample_score=0.0, out_of_sample={}
                )
            params = {**req.fixed, **best.params}
            cfg = engine_config(req.settings, test, sizing_for(req.strategy_type, req.settings, params))
            out = backtest_type(req.strategy_type, test, params, cfg)
            return WalkForwardRow(
                train=inp.train,
                test=inp.test,
                best_params=best.params,
                in_sample_score=_finite(best.score),
                out_of_sample={**key_metrics(out), "score": _finite(score_of(out, req.objective))},
            )

        return await _cpu(run)

    @activity.defn(name="record_optimization")
    @translate_errors
    async def record_optimization(self, rec: OptimizeRecord) -> None:
        """Store an optimisation's progress, or its final tables."""
        values: dict[str, Any] = {
            "status": rec.status,
            "done": rec.done,
            "total": rec.total,
            "error": rec.error,
        }
        if rec.best is not None:
            values |= {
                "best_params": rec.best.params,
                "best_score": _finite(rec.best.score),
                "best_metrics": rec.best.metrics,
            }
        values["top"] = [e.model_dump() | {"score": _finite(e.score)} for e in rec.top]
        values["walk_forward"] = [r.model_dump() for r in rec.walk_forward]
        if rec.final:
            values["finished_at"] = utcnow()
        async with self.deps.transaction() as s:
            await repo.update_optimization(s, id=rec.optimization_id, **values)


def _scipy(
    req: OptimizeRequest,
    evaluate: Callable[[dict[str, Any]], tuple[float, dict[str, float]]],
    stop: threading.Event | None = None,
) -> list[Evaluation]:
    evals: list[Evaluation] = []

    def objective(params: dict[str, Any]) -> float:
        if stop is not None and stop.is_set():
            raise InvalidInput("search cancelled")
        score, metrics = evaluate(params)
        evals.append(Evaluation(params=params, score=score, metrics=metrics))
        return score

    space = _space(req)
    if req.method == "differential_evolution":
        # scipy evaluates about popsize x dimensions per generation: n bounds the total.
        per_generation = 15 * max(1, len(space.names))
        optimize.differential_evolution(
            space, objective, maxiter=max(1, req.n // per_generation - 1), seed=req.seed
        )
    else:
        method = "L-BFGS-B" if req.method == "lbfgsb" else "Nelder-Mead"
        optimize.minimize(space, objective, method=method, seed=req.seed)
    return evals


def backtest_record(
    req: BacktestRequest, bars: Bars, peers: Mapping[str, Bars] | None = None
) -> dict[str, Any]:
    """Run one backtest (with the series of the peers its strategy reads): its metrics, trades,
    equity curve and conventions, as the store keeps them."""
    cfg = engine_config(req.settings, bars, sizing_for(req.strategy_type, req.settings, req.params))
    result = backtest(current().get(req.strategy_type), bars, req.params, cfg, peers=peers or None)
    return {
        "metrics": {k: _finite(v) for k, v in vars(result.metrics).items()},
        "trades": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in vars(t).items()}
            for t in result.trades
        ],
        "equity": equity_curve(bars, result.equity),
        "conventions": result.conventions + gap_note(bars),
    }


def gap_note(bars: Bars) -> str:
    """A sentence on the gaps in the bars (reported, not fatal): how many, and the largest."""
    gaps = detect_gaps(bars.ts)
    if not gaps:
        return " Data: no gaps in the bars."
    big = max(gaps, key=lambda g: g.missing_bars)
    after = str(np.datetime64(big.after_ts, "ns"))[:19]
    return (
        f" Data: {len(gaps)} gap(s) in the bars (weekends of weekday-only series excepted); the largest, "
        f"{big.missing_bars} missing bar(s) after {after}Z."
    )


def equity_curve(bars: Bars, equity: Any) -> dict[str, Any]:
    """At most EQUITY_POINTS points of the equity curve and its drawdown, with their times."""
    eq = np.asarray(equity, dtype=np.float64)
    idx: list[int] = (
        np.unique(np.linspace(0, len(eq) - 1, num=min(EQUITY_POINTS, len(eq))).astype(int)).tolist()
        if len(eq)
        else []
    )
    peak = np.maximum.accumulate(eq) if len(eq) else eq
    dd = np.where(peak > 0, eq / peak - 1.0, 0.0) if len(eq) else eq
    ts = bars.ts.astype("datetime64[ns]")
    return {
        "ts": [str(ts[i])[:19] + "Z" for i in idx],
        "equity": [round(float(eq[i]), 6) for i in idx],
        "drawdown": [round(float(dd[i]), 6) for i in idx],
    }
