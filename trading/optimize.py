"""Parameter optimisation (grid, random, differential evolution, local minimisers) and walk-forward.

Everything here optimises a plain objective ``params -> float`` (higher is better) and knows
nothing of the backtester: a caller builds the objective, e.g. with ``metric_objective``. A
score of NaN or -inf marks an invalid set and ranks worst. Constraints are checked before the
objective is called, so it never sees an infeasible set; the scipy methods see a penalty instead.
Each distinct parameter set is evaluated once per run (scores are cached), so ``evaluations``
lists distinct sets in the order they were first evaluated.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, SupportsFloat, TypeVar, cast

import numpy as np
import scipy.optimize

from trading.errors import InvalidInput

Params = dict[str, Any]
Objective = Callable[[Params], float]
Constraint = Callable[[Mapping[str, Any]], bool]
Evaluation = tuple[Params, float]
Kind = Literal["int", "float"]
T = TypeVar("T")

# Largest grid enumerated unless the caller raises the cap.
MAX_GRID = 100_000
# Loss the scipy methods see for an infeasible or invalid set; real scores must stay well inside it.
_PENALTY = 1e10
# Random draws allowed per wanted candidate before the constraints are called too tight.
_DRAWS_PER_CANDIDATE = 100
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NAME = r"[A-Za-z_]\w*"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT_RE = re.compile(rf"^\s*({_NAME})\s*(<=|>=|<|>)\s*(?:({_NAME})|({_NUMBER}))\s*$")


def _real(name: str, what: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidInput(f"parameter {name!r}: {what} must be a finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True, slots=True)
class Param:
    """One tunable parameter: ``kind`` int or float, inclusive ``low..high``, optional grid ``step``."""

    name: str
    kind: Kind
    low: float
    high: float
    step: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(_NAME, self.name):
            raise InvalidInput(f"parameter name {self.name!r} must be an identifier (letters, digits, _)")
        if self.kind not in ("int", "float"):
            raise InvalidInput(f"parameter {self.name!r}: kind must be 'int' or 'float', got {self.kind!r}")
        low, high = _real(self.name, "low", self.low), _real(self.name, "high", self.high)
        if low > high:
            raise InvalidInput(f"parameter {self.name!r}: low {low:g} is above high {high:g}")
        step = None if self.step is None else _real(self.name, "step", self.step)
        if step is not None and step <= 0:
            raise InvalidInput(f"parameter {self.name!r}: step must be positive, got {step:g}")
        if self.kind == "int":
            for what, v in (("low", low), ("high", high), ("step", step)):
                if v is not None and not v.is_integer():
                    raise InvalidInput(
                        f"int parameter {self.name!r}: {what} must be a whole number, got {v:g}"
                    )
            object.__setattr__(self, "low", int(low))
            object.__setattr__(self, "high", int(high))
            object.__setattr__(self, "step", None if step is None else int(step))
        else:
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)
            object.__setattr__(self, "step", step)

    def snap(self, v: float) -> int | float:
        """The nearest allowed value to ``v``: clipped to the bounds, on the step lattice, int if int."""
        v = min(max(float(v), self.low), self.high)
        if self.step is not None:
            k = round((v - self.low) / self.step)
            v = self.low + k * self.step
            if v > self.high + 1e-12 * max(1.0, abs(self.high)):
                v -= self.step
        return round(v) if self.kind == "int" else float(round(v, 12))

    def lattice_size(self) -> int:
        """How many values the step lattice ``low, low + step, ...`` (not above ``high``) holds."""
        step = self.step if self.step is not None else 1
        return int((self.high - self.low) / step + 1e-9) + 1

    def values(self, points: int | None = None, *, limit: int = MAX_GRID) -> list[int | float]:
        """Grid values: the step lattice, else ``points`` evenly spaced, else every integer."""
        if self.step is None and points is not None:
            if isinstance(points, bool) or not isinstance(points, int) or points < 1:
                raise InvalidInput(f"points_per_param must be an integer >= 1, got {points!r}")
            count = points
        elif self.step is None and self.kind == "float":
            raise InvalidInput(f"float parameter {self.name!r} needs a step or points_per_param for a grid")
        else:
            count = self.lattice_size()
        if count > limit:
            raise InvalidInput(f"parameter {self.name!r} has {count} grid values, above the limit of {limit}")
        if self.step is None and points is not None:
            raw = [float(v) for v in np.linspace(self.low, self.high, points)]
        else:
            raw = [self.low + i * (self.step or 1) for i in range(count)]
        return list(dict.fromkeys(self.snap(v) for v in raw))


@dataclass(frozen=True, slots=True)
class Comparison:
    """A parsed constraint ``left op right``, where ``right`` is a parameter name or a number."""

    left: str
    op: str
    right: str | float

    def _rhs(self, params: Mapping[str, Any]) -> Any:
        return params[self.right] if isinstance(self.right, str) else self.right

    def __call__(self, params: Mapping[str, Any]) -> bool:
        return bool(_OPS[self.op](params[self.left], self._rhs(params)))

    def violation(self, params: Mapping[str, Any]) -> float:
        """0 when the comparison holds, else 1 plus the distance between the two sides."""
        return 0.0 if self(params) else 1.0 + abs(float(params[self.left]) - float(self._rhs(params)))

    def __str__(self) -> str:
        return (
            f"{self.left} {self.op} {self.right if isinstance(self.right, str) else format(self.right, 'g')}"
        )


def parse_constraint(text: str, names: Sequence[str]) -> Comparison:
    """Parse ``"fast < slow"`` or ``"lower <= 40"`` (ops < <= > >=); nothing is evaluated."""
    if not isinstance(text, str):
        raise InvalidInput(f"constraint must be a string like 'fast < slow', got {text!r}")
    m = _CONSTRAINT_RE.match(text)
    if not m:
        raise InvalidInput(
            f"constraint {text!r} must be 'name op name-or-number' with op one of <, <=, >, >="
        )
    left, op, right_name, right_num = m.groups()
    for n in (left, right_name):
        if n is not None and n not in names:
            raise InvalidInput(
                f"constraint {text!r}: unknown parameter {n!r} (parameters: {', '.join(names)})"
            )
    return Comparison(left, op, right_name if right_name is not None else float(right_num))


@dataclass(frozen=True)
class Space:
    """The parameters to search and the constraints every candidate set must satisfy."""

    params: Sequence[Param]
    constraints: Sequence[Constraint] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if not self.params:
            raise InvalidInput("a search space needs at least one parameter")
        seen = [p.name for p in self.params]
        dupes = sorted({n for n in seen if seen.count(n) > 1})
        if dupes:
            raise InvalidInput(f"parameter names must be unique: {', '.join(dupes)} repeated")

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [p.name for p in self.params]

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any], constraints: Sequence[str | Constraint] = ()) -> Space:
        """Build from ``{"fast": [2, 50], "x": [0.0, 1.0, 0.1]}`` and constraints like ``"fast < slow"``.

        A value is ``[low, high]`` or ``[low, high, step]`` (int when low and high are ints) or a
        mapping with ``low``, ``high`` and optional ``kind`` and ``step``.
        """
        if not isinstance(spec, Mapping):
            raise InvalidInput(f"search space must be a mapping of name -> [low, high], got {spec!r}")
        params = [_parse_param(name, raw) for name, raw in spec.items()]
        names = [p.name for p in params]
        parsed = [parse_constraint(c, names) if isinstance(c, str) else c for c in constraints]
        return cls(params, parsed)

    def feasible(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` satisfies every constraint."""
        return all(c(params) for c in self.constraints)

    def violation(self, params: Mapping[str, Any]) -> float:
        """Total constraint violation (0 when feasible); opaque callables count 1 each."""
        return sum(
            c.violation(params) if isinstance(c, Comparison) else (0.0 if c(params) else 1.0)
            for c in self.constraints
        )

    def snap(self, x: Sequence[float]) -> Params:
        """A raw vector (one value per parameter) as an allowed parameter set."""
        return {p.name: p.snap(v) for p, v in zip(self.params, x, strict=True)}


def _parse_param(name: str, raw: Any) -> Param:
    if isinstance(raw, Mapping):
        extra = set(raw) - {"low", "high", "kind", "step"}
        if extra or "low" not in raw or "high" not in raw:
            raise InvalidInput(
                f"parameter {name!r} must have low and high (optional kind, step); got keys {sorted(raw)}"
            )
        low, high, kind, step = raw["low"], raw["high"], raw.get("kind"), raw.get("step")
    elif isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) in (2, 3):
        low, high, kind, step = raw[0], raw[1], None, raw[2] if len(raw) == 3 else None
    else:
        raise InvalidInput(f"parameter {name!r} must be [low, high] or [low, high, step], got {raw!r}")
    if kind is None:
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
        kind = "int" if ints else "float"
    return Param(name, cast(Kind, kind), low, high, step)  # Param validates kind


@dataclass(frozen=True)
class OptimizeResult:
    """Best set and score, every distinct evaluation in order, the method and the seed used."""

    best_params: Params
    best_score: float
    evaluations: list[Evaluation]
    n_evaluations: int
    method: str
    seed: int | None


def _clean(score: Any) -> float:
    try:
        s = float(score)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"objective must return a number, got {score!r}") from e
    return -math.inf if math.isnan(s) else s


def best_of(evaluations: Sequence[tuple[Mapping[str, Any], float]]) -> tuple[Params, float]:
    """The highest-scoring set (the first on ties); NaN and -inf never win."""
    best: tuple[Params, float] | None = None
    for params, score in evaluations:
        s = _clean(score)
        if s > -math.inf and (best is None or s > best[1]):
            best = (dict(params), s)
    if best is None:
        raise InvalidInput(f"no valid parameter set: all {len(evaluations)} evaluations scored NaN or -inf")
    return best


class _Run:
    """Evaluates sets for one optimisation run, caching scores and recording them in order."""

    def __init__(self, space: Space, objective: Objective) -> None:
        self.space, self.objective = space, objective
        self.cache: dict[tuple[Any, ...], float] = {}
        self.evaluations: list[Evaluation] = []

    def score(self, params: Params) -> float:
        key = tuple(params[n] for n in self.space.names)
        if key not in self.cache:
            self.cache[key] = _clean(self.objective(dict(params)))
            self.evaluations.append((dict(params), self.cache[key]))
        return self.cache[key]

    def loss(self, params: Params) -> float:
        """What the scipy methods minimise: minus the score, or a penalty for an infeasible set."""
        if not self.space.feasible(params):
            return _PENALTY + self.space.violation(params)
        return float(np.clip(-self.score(params), -_PENALTY, _PENALTY))

    def result(self, method: str, seed: int | None) -> OptimizeResult:
        if not self.evaluations:
            raise InvalidInput(f"{method} found no parameter set that satisfies the constraints")
        params, score = best_of(self.evaluations)
        return OptimizeResult(params, score, self.evaluations, len(self.evaluations), method, seed)


def _seed(seed: int | None) -> int:
    return secrets.randbits(32) if seed is None else seed


def grid_candidates(
    space: Space,
    *,
    points_per_param: int | None = None,
    steps: Mapping[str, float] | None = None,
    max_candidates: int = MAX_GRID,
) -> list[Params]:
    """Every feasible grid point, in lexicographic order of the parameters.

    Each parameter's values come from ``steps[name]``, else its own step, else
    ``points_per_param`` evenly spaced values, else (ints only) every integer.
    """
    steps = dict(steps or {})
    unknown = sorted(set(steps) - set(space.names))
    if unknown:
        raise InvalidInput(f"steps given for unknown parameters: {', '.join(unknown)}")
    axes = [
        Param(p.name, p.kind, p.low, p.high, steps.get(p.name, p.step)).values(
            points_per_param, limit=max_candidates
        )
        for p in space.params
    ]
    total = math.prod(len(a) for a in axes)
    if total > max_candidates:
        raise InvalidInput(f"grid has {total} points, above the limit of {max_candidates}; use coarser steps")
    out = [dict(zip(space.names, combo, strict=True)) for combo in itertools.product(*axes)]
    return [c for c in out if space.feasible(c)]


def random_candidates(space: Space, n: int, *, seed: int | None = None) -> list[Params]:
    """``n`` feasible sets drawn uniformly (on the step lattice where given); repeats are possible."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInput(f"n must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    out: list[Params] = []
    for _ in range(n * _DRAWS_PER_CANDIDATE):
        cand: Params = {}
        for p in space.params:
            if p.step is not None:
                cand[p.name] = p.snap(p.low + int(rng.integers(p.lattice_size())) * p.step)
            elif p.kind == "int":
                cand[p.name] = int(rng.integers(int(p.low), int(p.high) + 1))
            else:
                cand[p.name] = float(rng.uniform(p.low, p.high))
        if space.feasible(cand):
            out.append(cand)
            if len(out) == n:
                return out
    raise InvalidInput(
        f"only {len(out)} of {n * _DRAWS_PER_CANDIDATE} random draws satisfied the constraints; "
        "they leave too little of the space"
    )


def evaluate_candidates(
    space: Space, objective: Objective, candidates: Sequence[Params], *, method: str, seed: int | None = None
) -> OptimizeResult:
    """Score given candidates in order (infeasible ones are skipped) and pick the best."""
    run = _Run(space, objective)
    for c in candidates:
        if space.feasible(c):
            run.score(dict(c))
    return run.result(method, seed)


def grid(
    space: Space,
    objective: Objective,
    *,
    points_per_param: int | None = None,
    steps: Mapping[str, float] | None = None,
    max_candidates: int = MAX_GRID,
) -> OptimizeResult:
    """Exhaustive search over ``grid_candidates``."""
    cands = grid_candidates(
        space, points_per_param=points_per_param, steps=steps, max_candidates=max_candidates
    )
    return evaluate_candidates(space, objective, cands, method="grid")


def random_search(space: Space, objective: Objective, n: int, *, seed: int | None = None) -> OptimizeResult:
    """Score ``n`` random feasible sets; the seed used (drawn when None) is in the result."""
    seed = _seed(seed)
    return evaluate_candidates(
        space, objective, random_candidates(space, n, seed=seed), method="random", seed=seed
    )


def differential_evolution(
    space: Space,
    objective: Objective,
    *,
    seed: int | None = None,
    maxiter: int = 100,
    popsize: int = 15,
    tol: float = 0.01,
) -> OptimizeResult:
    """scipy's differential evolution; int parameters through ``integrality``, constraints as a penalty."""
    seed = _seed(seed)
    run = _Run(space, objective)
    scipy.optimize.differential_evolution(
        lambda x: run.loss(space.snap(x)),
        [(p.low, p.high) for p in space.params],
        rng=np.random.default_rng(seed),
        integrality=[p.kind == "int" for p in space.params],
        maxiter=maxiter,
        popsize=popsize,
        tol=tol,
        polish=False,
    )
    return run.result("differential_evolution", seed)


_LOCAL_METHODS = {"l-bfgs-b": "L-BFGS-B", "nelder-mead": "Nelder-Mead"}


def minimize(
    space: Space,
    objective: Objective,
    *,
    method: str = "L-BFGS-B",
    starts: int = 5,
    seed: int | None = None,
    maxiter: int = 200,
) -> OptimizeResult:
    """Local search (L-BFGS-B or Nelder-Mead) from ``starts`` random feasible sets.

    The search runs on the unit cube, so every parameter has the same scale; values are snapped
    (ints rounded) before each evaluation. L-BFGS-B gets one-sided finite differences that move
    int and stepped parameters by one step and step back from a constraint rather than into it.
    """
    name = _LOCAL_METHODS.get(str(method).lower())
    if name is None:
        raise InvalidInput(
            f"unknown local method {method!r}; use one of {', '.join(_LOCAL_METHODS.values())}"
        )
    seed = _seed(seed)
    run = _Run(space, objective)
    lows = np.array([p.low for p in space.params], dtype=np.float64)
    spans = np.array([p.high - p.low for p in space.params], dtype=np.float64)
    discrete = [p.kind == "int" or p.step is not None for p in space.params]
    eps = np.array(
        [
            1.0 if span == 0 else (p.step or 1) / span if d else 1e-6
            for p, span, d in zip(space.params, spans, discrete, strict=True)
        ]
    )

    def at(u: Any) -> Params:
        return space.snap(lows + np.clip(u, 0.0, 1.0) * spans)

    def loss(u: Any) -> float:
        return run.loss(at(u))

    def side(u: Any, i: int, d: float) -> float | None:
        v = u.copy()
        v[i] += d
        return loss(v) if 0.0 <= v[i] <= 1.0 and space.feasible(at(v)) else None

    def loss_and_grad(u: Any) -> tuple[float, Any]:
        # Central differences for discrete parameters (a forward one never sees an integer
        # optimum); one-sided at a wall, where the gradient may only point away from it.
        f0, grad = loss(u), np.zeros_like(u)
        for i, h in enumerate(eps):
            fwd = side(u, i, h)
            back = side(u, i, -h) if fwd is None or discrete[i] else None
            if fwd is not None and back is not None:
                grad[i] = (fwd - back) / (2 * h)
            elif fwd is not None:
                grad[i] = min((fwd - f0) / h, 0.0) if discrete[i] else (fwd - f0) / h
            elif back is not None:
                grad[i] = max((f0 - back) / h, 0.0)
        return f0, grad

    bounds = [(0.0, 1.0)] * len(space.params)
    for start in random_candidates(space, starts, seed=seed):
        x0 = np.array([start[p.name] for p in space.params], dtype=np.float64)
        u0 = np.divide(x0 - lows, spans, out=np.zeros_like(x0), where=spans > 0)
        if name == "L-BFGS-B":
            scipy.optimize.minimize(
                loss_and_grad, u0, jac=True, method=name, bounds=bounds, options={"maxiter": maxiter}
            )
        else:
            simplex = [u0] + [
                u0 + np.eye(len(u0))[i] * (0.25 if u0[i] <= 0.75 else -0.25) for i in range(len(u0))
            ]
            options = {"initial_simplex": np.array(simplex), "maxiter": maxiter}
            scipy.optimize.minimize(loss, u0, method=name, bounds=bounds, options=options)
    return run.result(f"minimize:{name}", seed)


class Metrics(Protocol):
    """What the metric objectives read from a backtest's metrics (the engine is not imported)."""

    @property
    def sharpe(self) -> SupportsFloat: ...
    @property
    def sortino(self) -> SupportsFloat: ...
    @property
    def calmar(self) -> SupportsFloat: ...
    @property
    def total_return(self) -> SupportsFloat: ...
    @property
    def max_drawdown(self) -> SupportsFloat: ...


MetricObjective = Callable[[Any], float]

# Smallest drawdown (fraction) ``return_over_drawdown`` divides by, so a run without one cannot win alone.
DRAWDOWN_FLOOR = 0.01


def _return_over_drawdown(m: Metrics) -> float:
    return float(m.total_return) / max(abs(float(m.max_drawdown)), DRAWDOWN_FLOOR)


OBJECTIVES: dict[str, MetricObjective] = {
    "sharpe": lambda m: float(m.sharpe),
    "sortino": lambda m: float(m.sortino),
    "calmar": lambda m: float(m.calmar),
    "return": lambda m: float(m.total_return),
    "return_over_drawdown": _return_over_drawdown,
}


def get_objective(objective: str | MetricObjective) -> MetricObjective:
    """A registered metric objective by name, or a custom ``metrics -> float`` callable as is."""
    if callable(objective):
        return objective
    if objective not in OBJECTIVES:
        raise InvalidInput(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[objective]


def metric_objective(
    run: Callable[[Params], Metrics], objective: str | MetricObjective = "sharpe"
) -> Objective:
    """An optimiser objective: run (e.g. backtest) a parameter set, then score its metrics."""
    score = get_objective(objective)
    return lambda params: score(run(params))


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward split: half-open ``[train_start, train_end)`` then ``[test_start, test_end)``."""

    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class WalkForwardRow(Generic[T]):
    """One window's in-sample winner and its out-of-sample result."""

    window: Window
    best_params: Params
    in_sample_score: float
    out_of_sample: T


def walk_forward_windows(
    n_bars: int, *, train: int, test: int, step: int | None = None, anchored: bool = False
) -> list[Window]:
    """Train/test windows over ``n_bars`` bars; each test range starts where its training ends.

    Window ``k`` tests ``[train + k*step, train + k*step + test)``; it trains on the ``train``
    bars before that (rolling) or on everything from bar 0 (anchored). ``step`` defaults to
    ``test``, so test ranges tile without overlap; only whole test windows are made, so up to
    ``step - 1`` trailing bars may be untested.
    """
    for what, v in (("n_bars", n_bars), ("train", train), ("test", test), ("step", step)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise InvalidInput(f"walk-forward {what} must be an integer >= 1, got {v!r}")
    step = test if step is None else step
    if n_bars < train + test:
        raise InvalidInput(f"walk-forward needs at least train + test = {train + test} bars, got {n_bars}")
    out = []
    for test_start in range(train, n_bars - test + 1, step):
        out.append(Window(0 if anchored else test_start - train, test_start, test_start, test_start + test))
    return out


def walk_forward(
    windows: Sequence[Window],
    optimise_on: Callable[[int, int], tuple[Params, float]],
    score_on: Callable[[int, int, Params], T],
) -> list[WalkForwardRow[T]]:
    """Optimise on each training range, then score the winner on the test range that follows."""
    rows = []
    for w in windows:
        params, in_sample = optimise_on(w.train_start, w.train_end)
        rows.append(WalkForwardRow(w, dict(params), in_sample, score_on(w.test_start, w.test_end, params)))
    return rows
