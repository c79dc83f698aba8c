"""Optimisers on constructed objectives with known optima, spaces and constraints, walk-forward."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from trading.errors import InvalidInput
from trading.optimize import (
    OBJECTIVES,
    Comparison,
    OptimizeResult,
    Param,
    Space,
    WalkForwardRow,
    Window,
    best_of,
    differential_evolution,
    evaluate_candidates,
    get_objective,
    grid,
    grid_candidates,
    metric_objective,
    minimize,
    parse_constraint,
    random_candidates,
    random_search,
    walk_forward,
    walk_forward_windows,
)


def smooth(p: dict[str, Any]) -> float:
    """Optimum at fast=17, x=0.3 (score 0)."""
    return -((p["fast"] - 17) ** 2) - 100 * (p["x"] - 0.3) ** 2


def pulled(p: dict[str, Any]) -> float:
    """Unconstrained optimum fast=30, slow=21; under fast < slow it is fast=25, slow=26, x=0.3 (-50)."""
    return -((p["fast"] - 30) ** 2) - (p["slow"] - 21) ** 2 - 100 * (p["x"] - 0.3) ** 2


def smooth_space() -> Space:
    return Space.from_mapping({"fast": [2, 50], "x": [0.0, 1.0]})


def pulled_space() -> Space:
    return Space.from_mapping({"fast": [2, 50], "slow": [10, 60], "x": [0.0, 1.0]}, ["fast < slow"])


def assert_at_optimum(r: OptimizeResult, ints: dict[str, int], x: float, score: float) -> None:
    assert {k: r.best_params[k] for k in ints} == ints
    assert all(type(r.best_params[k]) is int for k in ints)
    assert r.best_params["x"] == pytest.approx(x, abs=2e-3)
    assert r.best_score == pytest.approx(score, abs=1e-3)


# --- methods find known optima -------------------------------------------------------------


def test_grid_finds_constrained_optimum() -> None:
    r = grid(pulled_space(), pulled, steps={"x": 0.1})
    assert r.best_params == {"fast": 25, "slow": 26, "x": 0.3} and r.best_score == -50.0
    assert r.method == "grid" and r.seed is None
    assert all(p["fast"] < p["slow"] for p, _ in r.evaluations)  # the objective never saw an infeasible set
    assert r.n_evaluations == len(r.evaluations) == len(grid_candidates(pulled_space(), steps={"x": 0.1}))


def test_random_search_gets_near_the_optimum() -> None:
    r = random_search(smooth_space(), smooth, 3000, seed=7)
    assert r.best_params["fast"] == 17 and r.best_params["x"] == pytest.approx(0.3, abs=0.02)
    assert r.method == "random" and r.seed == 7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_differential_evolution_finds_constrained_optimum(seed: int) -> None:
    r = differential_evolution(pulled_space(), pulled, seed=seed)
    assert_at_optimum(r, {"fast": 25, "slow": 26}, 0.3, -50.0)
    assert all(p["fast"] < p["slow"] for p, _ in r.evaluations)
    assert r.method == "differential_evolution" and r.seed == seed


@pytest.mark.parametrize("method", ["L-BFGS-B", "Nelder-Mead"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_methods_find_int_and_float_optimum(method: str, seed: int) -> None:
    r = minimize(smooth_space(), smooth, method=method, seed=seed)
    assert_at_optimum(r, {"fast": 17}, 0.3, 0.0)
    assert r.method == f"minimize:{method}"


@pytest.mark.parametrize("method", ["l-bfgs-b", "nelder-mead"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_local_methods_stay_feasible_and_near_a_constrained_optimum(method: str, seed: int) -> None:
    # A local method slides along a diagonal wall (fast < slow) only roughly: within one step of it.
    r = minimize(pulled_space(), pulled, method=method, seed=seed, starts=8)
    assert r.best_params["fast"] < r.best_params["slow"]
    assert r.best_score >= -52.5


def test_local_methods_respect_bounds_and_round_ints() -> None:
    space = Space.from_mapping({"n": [3, 9], "x": [-1.0, 1.0]})
    seen: list[dict[str, Any]] = []

    def climb(p: dict[str, Any]) -> float:  # optimum beyond both upper bounds
        seen.append(p)
        return p["n"] + p["x"]

    for method in ("L-BFGS-B", "Nelder-Mead"):
        r = minimize(space, climb, method=method, seed=3)
        assert r.best_params == {"n": 9, "x": 1.0}
    assert all(type(p["n"]) is int and 3 <= p["n"] <= 9 and -1.0 <= p["x"] <= 1.0 for p in seen)


def test_unknown_local_method() -> None:
    with pytest.raises(InvalidInput, match="unknown local method 'bfgs'"):
        minimize(smooth_space(), smooth, method="bfgs")


# --- determinism, invalid scores, results ----------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        lambda s: random_search(pulled_space(), pulled, 50, seed=s),
        lambda s: differential_evolution(pulled_space(), pulled, seed=s, maxiter=5),
        lambda s: minimize(pulled_space(), pulled, seed=s, starts=2),
        lambda s: minimize(pulled_space(), pulled, method="Nelder-Mead", seed=s, starts=2),
    ],
)
def test_same_seed_same_run(run: Any) -> None:
    a, b, c = run(11), run(11), run(12)
    assert a.evaluations == b.evaluations and a.best_params == b.best_params
    assert a.evaluations != c.evaluations


def test_no_seed_records_the_one_drawn_so_a_run_can_be_repeated() -> None:
    r = random_search(smooth_space(), smooth, 20)
    assert isinstance(r.seed, int)
    assert random_search(smooth_space(), smooth, 20, seed=r.seed).evaluations == r.evaluations


def test_nan_and_minus_inf_rank_worst() -> None:
    def picky(p: dict[str, Any]) -> float:
        return {1: math.nan, 2: -math.inf, 3: -5.0, 4: float("nan")}[p["n"]]

    r = grid(Space.from_mapping({"n": [1, 4]}), picky)
    assert r.best_params == {"n": 3} and r.best_score == -5.0
    assert [s for _, s in r.evaluations][:2] == [-math.inf, -math.inf]


def test_all_invalid_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="all 3 evaluations scored NaN or -inf"):
        grid(Space.from_mapping({"n": [1, 3]}), lambda p: math.nan)


def test_objective_must_return_a_number() -> None:
    with pytest.raises(InvalidInput, match="objective must return a number"):
        grid(Space.from_mapping({"n": [1, 3]}), lambda p: "high")  # type: ignore[arg-type,return-value]


def test_repeated_sets_are_evaluated_once() -> None:
    calls: list[dict[str, Any]] = []

    def count(p: dict[str, Any]) -> float:
        calls.append(p)
        return float(p["n"])

    space = Space.from_mapping({"n": [1, 3]})
    r = evaluate_candidates(space, count, [{"n": 1}, {"n": 2}, {"n": 1}], method="chunk")
    assert len(calls) == r.n_evaluations == 2 and r.best_params == {"n": 2}


def test_best_of_first_wins_ties_and_skips_invalid() -> None:
    evals = [({"a": 1}, math.nan), ({"a": 2}, 3.0), ({"a": 3}, 3.0), ({"a": 4}, -math.inf)]
    assert best_of(evals) == ({"a": 2}, 3.0)
    with pytest.raises(InvalidInput):
        best_of([])


# --- candidates ------------------------------------------------------------------------------


def test_grid_candidates_steps_points_and_every_int() -> None:
    space = Space([Param("n", "int", 1, 3), Param("x", "float", 0.0, 1.0)])
    assert [c["x"] for c in grid_candidates(space, points_per_param=3)][:3] == [0.0, 0.5, 1.0]
    assert [c["n"] for c in grid_candidates(space, points_per_param=2)] == [1, 1, 3, 3]
    assert len(grid_candidates(space, steps={"x": 0.25})) == 3 * 5
    assert grid_candidates(space, steps={"x": 0.1})[3] == {"n": 1, "x": 0.3}  # no float noise
    stepped = Space([Param("n", "int", 10, 200, step=20)])
    assert [c["n"] for c in grid_candidates(stepped)] == list(range(10, 200, 20))


def test_grid_candidates_errors() -> None:
    space = Space([Param("n", "int", 1, 3), Param("x", "float", 0.0, 1.0)])
    with pytest.raises(InvalidInput, match="float parameter 'x' needs a step or points_per_param"):
        grid_candidates(space)
    with pytest.raises(InvalidInput, match="unknown parameters: y"):
        grid_candidates(space, steps={"y": 1})
    with pytest.raises(InvalidInput, match="grid has 15 points, above the limit of 10"):
        grid_candidates(space, points_per_param=5, max_candidates=10)
    huge = Space.from_mapping({"n": [0, 10**12]})  # refused before any value list is built
    with pytest.raises(InvalidInput, match="'n' has 1000000000001 grid values, above the limit"):
        grid_candidates(huge)


def test_grid_candidates_drop_infeasible_sets() -> None:
    space = Space.from_mapping({"fast": [1, 4], "slow": [1, 4]}, ["fast < slow"])
    cands = grid_candidates(space)
    assert len(cands) == 6 and all(c["fast"] < c["slow"] for c in cands)


def test_random_candidates_feasible_in_bounds_and_seeded() -> None:
    space = Space.from_mapping({"fast": [2, 50], "slow": [10, 60], "x": [0.0, 1.0, 0.25]}, ["fast < slow"])
    cands = random_candidates(space, 200, seed=5)
    assert len(cands) == 200 and cands == random_candidates(space, 200, seed=5)
    assert all(c["fast"] < c["slow"] and 2 <= c["fast"] <= 50 and 10 <= c["slow"] <= 60 for c in cands)
    assert {c["x"] for c in cands} == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert all(type(c["fast"]) is int for c in cands)


def test_random_candidates_with_impossible_constraints() -> None:
    space = Space.from_mapping({"a": [1, 5]}, ["a > 10"])
    with pytest.raises(InvalidInput, match="too little of the space"):
        random_candidates(space, 3, seed=1)
    with pytest.raises(InvalidInput, match="n must be an integer >= 1"):
        random_candidates(space, 0)


def test_differential_evolution_with_no_feasible_set() -> None:
    space = Space.from_mapping({"a": [1, 5]}, ["a > 10"])
    with pytest.raises(InvalidInput, match="no parameter set that satisfies the constraints"):
        differential_evolution(space, lambda p: 1.0, seed=1, maxiter=2)


# --- spaces and constraints ------------------------------------------------------------------


def test_space_from_mapping_infers_kinds_and_steps() -> None:
    space = Space.from_mapping(
        {"fast": [2, 50], "x": [0, 1.5], "y": [0.0, 1.0, 0.1], "z": {"low": 1, "high": 5, "kind": "float"}}
    )
    assert space.params == (
        Param("fast", "int", 2, 50),
        Param("x", "float", 0.0, 1.5),
        Param("y", "float", 0.0, 1.0, 0.1),
        Param("z", "float", 1.0, 5.0),
    )
    assert space.names == ["fast", "x", "y", "z"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a": [5, 1]}, "low 5 is above high 1"),
        ({"a": [1]}, "must be \\[low, high\\] or \\[low, high, step\\]"),
        ({"a": "1..5"}, "must be \\[low, high\\]"),
        ({"a": [1, True]}, "high must be a finite number"),
        ({"a": [0.0, math.inf]}, "high must be a finite number"),
        ({"a": [1, 5, 0]}, "step must be positive"),
        ({"a": {"low": 1, "high": 2.5, "kind": "int"}}, "high must be a whole number"),
        ({"a": {"low": 1, "high": 2, "kind": "bool"}}, "kind must be 'int' or 'float'"),
        ({"a": {"low": 1}}, "must have low and high"),
        ({"a b": [1, 2]}, "must be an identifier"),
        ({}, "at least one parameter"),
    ],
)
def test_space_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Space.from_mapping(spec)


def test_duplicate_parameter_names() -> None:
    with pytest.raises(InvalidInput, match="a repeated"):
        Space([Param("a", "int", 1, 2), Param("a", "int", 1, 3)])


@pytest.mark.parametrize(
    ("text", "parsed", "holds", "fails"),
    [
        ("fast < slow", Comparison("fast", "<", "slow"), {"fast": 1, "slow": 2}, {"fast": 2, "slow": 2}),
        ("fast<=slow", Comparison("fast", "<=", "slow"), {"fast": 2, "slow": 2}, {"fast": 3, "slow": 2}),
        (" slow > fast ", Comparison("slow", ">", "fast"), {"fast": 1, "slow": 2}, {"fast": 2, "slow": 2}),
        ("fast >= 2.5", Comparison("fast", ">=", 2.5), {"fast": 3, "slow": 0}, {"fast": 2, "slow": 0}),
        ("fast < -1e1", Comparison("fast", "<", -10.0), {"fast": -11, "slow": 0}, {"fast": -10, "slow": 0}),
    ],
)
def test_constraint_parsing(
    text: str, parsed: Comparison, holds: dict[str, Any], fails: dict[str, Any]
) -> None:
    c = parse_constraint(text, ["fast", "slow"])
    assert c == parsed
    assert c(holds) and not c(fails)
    assert c.violation(holds) == 0.0 and c.violation(fails) >= 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast < slw", "unknown parameter 'slw' \\(parameters: fast, slow\\)"),
        ("fst < 3", "unknown parameter 'fst'"),
        ("fast == slow", "must be 'name op name-or-number'"),
        ("fast < slow + 1", "must be 'name op name-or-number'"),
        ("__import__('os') < 1", "must be 'name op name-or-number'"),
        ("3 < fast", "must be 'name op name-or-number'"),
        ("", "must be 'name op name-or-number'"),
    ],
)
def test_constraint_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_constraint(text, ["fast", "slow"])


def test_constraint_must_be_text() -> None:
    with pytest.raises(InvalidInput, match="constraint must be a string"):
        parse_constraint(3, ["a"])  # type: ignore[arg-type]


def test_space_mixes_parsed_and_callable_constraints() -> None:
    space = Space.from_mapping({"a": [1, 9], "b": [1, 9]}, ["a < b", lambda p: (p["a"] + p["b"]) % 2 == 0])
    assert space.feasible({"a": 1, "b": 3}) and not space.feasible({"a": 1, "b": 2})
    assert space.violation({"a": 3, "b": 1}) == 3.0  # 1 + |3 - 1| for the comparison; parity holds


# --- objectives ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeMetrics:
    sharpe: float = 1.5
    sortino: float = 2.0
    calmar: float = 0.8
    total_return: float = 0.2
    max_drawdown: float = -0.25


def test_registered_objectives_read_metrics() -> None:
    m = FakeMetrics()
    assert {name: f(m) for name, f in OBJECTIVES.items()} == {
        "sharpe": 1.5,
        "sortino": 2.0,
        "calmar": 0.8,
        "return": 0.2,
        "return_over_drawdown": pytest.approx(0.8),
    }
    assert get_objective("return_over_drawdown")(FakeMetrics(max_drawdown=0.0)) == pytest.approx(20.0)


def test_custom_and_unknown_objectives() -> None:
    custom = get_objective(lambda m: m.sharpe - m.max_drawdown)
    assert custom(FakeMetrics()) == 1.75
    with pytest.raises(InvalidInput, match="unknown objective 'alpha'; use one of sharpe, sortino"):
        get_objective("alpha")


def test_metric_objective_runs_then_scores() -> None:
    def run(p: dict[str, Any]) -> FakeMetrics:
        return FakeMetrics(sharpe=-abs(p["n"] - 4))

    r = grid(Space.from_mapping({"n": [1, 9]}), metric_objective(run, "sharpe"))
    assert r.best_params == {"n": 4}


# --- walk-forward ----------------------------------------------------------------------------


def test_rolling_windows() -> None:
    ws = walk_forward_windows(100, train=40, test=20)
    assert ws == [Window(0, 40, 40, 60), Window(20, 60, 60, 80), Window(40, 80, 80, 100)]


def test_anchored_windows() -> None:
    ws = walk_forward_windows(100, train=40, test=20, anchored=True)
    assert ws == [Window(0, 40, 40, 60), Window(0, 60, 60, 80), Window(0, 80, 80, 100)]


@pytest.mark.parametrize("anchored", [False, True])
@pytest.mark.parametrize(
    ("n_bars", "train", "test", "step"),
    [(100, 40, 20, None), (101, 30, 7, 5), (250, 50, 25, 40), (60, 50, 10, 3)],
)
def test_windows_invariants(n_bars: int, train: int, test: int, step: int | None, anchored: bool) -> None:
    ws = walk_forward_windows(n_bars, train=train, test=test, step=step, anchored=anchored)
    assert ws
    step = step or test
    for k, w in enumerate(ws):
        assert w.test_start == w.train_end == train + k * step  # test follows its training, no overlap
        assert w.test_end - w.test_start == test and w.test_end <= n_bars
        assert w.train_start == (0 if anchored else w.train_end - train)
    assert ws[-1].test_end + step > n_bars  # no further whole window fits


def test_default_step_tiles_test_windows_exactly() -> None:
    ws = walk_forward_windows(107, train=30, test=10)
    tested = [i for w in ws for i in range(w.test_start, w.test_end)]
    assert tested == list(range(30, 100))  # 7 trailing bars do not fill a test window


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_bars": 59, "train": 40, "test": 20}, "at least train \\+ test = 60 bars, got 59"),
        ({"n_bars": 100, "train": 0, "test": 20}, "train must be an integer >= 1"),
        ({"n_bars": 100, "train": 10, "test": 2.5}, "test must be an integer >= 1"),
        ({"n_bars": 100, "train": 10, "test": 5, "step": 0}, "step must be an integer >= 1"),
    ],
)
def test_window_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        walk_forward_windows(**kwargs)


def test_walk_forward_calls_with_the_window_ranges() -> None:
    ws = walk_forward_windows(100, train=40, test=20)
    optimised: list[tuple[int, int]] = []
    scored: list[tuple[int, int, dict[str, Any]]] = []

    def optimise_on(start: int, end: int) -> tuple[dict[str, Any], float]:
        optimised.append((start, end))
        return {"n": end}, float(start)

    def score_on(start: int, end: int, params: dict[str, Any]) -> str:
        scored.append((start, end, params))
        return f"{start}-{end}"

    rows = walk_forward(ws, optimise_on, score_on)
    assert optimised == [(0, 40), (20, 60), (40, 80)]
    assert scored == [(40, 60, {"n": 40}), (60, 80, {"n": 60}), (80, 100, {"n": 80})]
    assert rows[1] == WalkForwardRow(ws[1], {"n": 60}, 20.0, "60-80")


def test_walk_forward_with_a_real_optimiser() -> None:
    # The best window length on each training range is its own length: params follow the data.
    space = Space.from_mapping({"n": [1, 200]})
    ws = walk_forward_windows(90, train=30, test=30, anchored=True)

    def optimise_on(start: int, end: int) -> tuple[dict[str, Any], float]:
        r = grid(space, lambda p: -abs(p["n"] - (end - start)))
        return r.best_params, r.best_score

    rows = walk_forward(ws, optimise_on, lambda s, e, p: p["n"] - (e - s))
    assert [(r.best_params["n"], r.out_of_sample) for r in rows] == [(30, 0), (60, 30)]
