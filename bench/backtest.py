"""Backtesting speed: our engine against backtesting.py (the baseline) and vectorbt, same trades.

One run, one seeded synthetic hourly series (``make_bars``): a single ``sma_cross`` backtest
(fast 10, slow 30) on 10^4, 10^5 and 10^6 bars, and a 1,000-combination grid on 10^5 bars,
every figure single-threaded. The three are set up to trade identically, and the run checks
trade by trade that they did. The settings that make them agree:

- next-open fills: ours and backtesting.py by default; vectorbt's ``from_signals`` fills at
  ``price`` on the signal's bar, so its signals are shifted one bar (``fshift(1)``), ``price=open``;
- backtesting.py starts ``next()`` one bar after its indicators' NaN warm-up (our first signal
  is a bar earlier), so its indicator is fast - slow with the warm-up read as 0 (equal: hold);
- sizes: ours is floor(fraction x equity / price), the commission on top; the other two divide
  by price x (1 + commission), so they get fraction x (1 + commission);
- an open position at the end is valued at the last close (``close_at_end=False``,
  ``finalize_trades=False``, vectorbt's default).

backtesting.py runs in a forked child with a timeout; on the grid it runs a spread-out subset
(``Backtest.optimize`` also runs one ``Backtest.run`` per combination) and is extrapolated.
vectorbt's numba JIT is measured apart from its warm figures.

    python -m bench.backtest [--quick] [--out BENCHMARKS.md]

Needs the ``bench`` extra (``pip install -e ".[bench]"``). ``--quick`` runs a smaller version
and only prints its section unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from asts.builtin.sma_cross import grid as sma_cross_grid
from asts.engine import backtest_type
from bench.report import machine_line, write_section
from trading.backtest import BacktestConfig, BacktestResult, Bars

T = TypeVar("T")
Pair = tuple[int, int]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

SEED = 20_261_125
FAST, SLOW = 10, 30
CASH = 1_000_000.0
COMMISSION = 0.002
FRACTION = 0.99
THEIR_FRACTION = FRACTION * (1 + COMMISSION)  # see the module docstring: same whole units as ours
HOUR_NS = 3_600 * 10**9
CFG = BacktestConfig(
    cash=CASH,
    commission=COMMISSION,
    fraction=FRACTION,
    units="whole",
    direction="long",
    close_at_end=False,
    bars_per_year=24 * 365,
)
# Combinations per vectorbt call: of 1, 2, 5, 10, 25, 50, 100 and 250 tried here, 2 to 10 were the
# fastest (within noise); all 1,000 at once ran out of this machine's 23 GB.
VBT_CHUNK = 10
TOLERANCE = 1e-9  # relative difference of final equity accepted as float rounding
OURS_RUNS = {10**4: 20, 10**5: 10, 10**6: 3}  # timed runs per size (the median is reported)
BT_RUNS = {10**4: 3, 10**5: 3, 10**6: 1}
VBT_RUNS = {10**4: 10, 10**5: 5, 10**6: 3}


@dataclass(frozen=True)
class Outcome:
    """A backtest's trades as bar indices (exit -1 while open) and whole sizes, and its final equity."""

    entry: IntArray
    exit: IntArray
    size: FloatArray
    final: float
    sharpe: float = math.nan  # ours and vectorbt (backtesting.py's is defined differently)


@dataclass(frozen=True)
class Timed:
    """Median seconds over ``runs`` runs (None: skipped, with ``note`` saying why)."""

    seconds: float | None
    runs: int
    note: str = ""


def make_bars(n: int, seed: int = SEED) -> Bars:
    """Hourly OHLCV: log returns = regime drift (+-0.04%/bar, flips 1/300) + clustered volatility."""
    rng = np.random.default_rng(seed)
    drift = np.where(np.cumsum(rng.random(n) < 1 / 300) % 2 == 0, 4e-4, -4e-4)
    vol = 0.004 * np.exp(lfilter([0.3 * np.sqrt(1 - 0.995**2)], [1.0, -0.995], rng.standard_normal(n)))
    log_price = lfilter([1.0], [1.0, -(1 - 1e-4)], drift + vol * rng.standard_normal(n))
    close = 100.0 * np.exp(log_price)
    open_ = np.concatenate(([100.0], close[:-1] * np.exp(0.1 * vol[1:] * rng.standard_normal(n - 1))))
    high = np.maximum(open_, close) * np.exp(0.5 * vol * np.abs(rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-0.5 * vol * np.abs(rng.standard_normal(n)))
    volume = np.round(1_000 * np.exp(rng.standard_normal(n)))
    ts = np.datetime64("2000-01-01", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * HOUR_NS
    return Bars(ts, open_, high, low, close, volume)


def grid_pairs(quick: bool) -> list[Pair]:
    """Every (fast, slow) of the grid; each fast is below each slow."""
    fasts, slows = (range(2, 22, 2), range(55, 105, 5)) if quick else (range(2, 52, 2), range(55, 255, 5))
    return [(f, s) for f in fasts for s in slows]


def timed(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    """Median seconds of ``runs`` calls, and the last call's result."""
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    if out is None:
        raise ValueError(f"timed needs runs >= 1 and a result, got runs={runs}")
    return statistics.median(times), out


def in_child(fn: Callable[[], T], timeout: float) -> tuple[T | None, str]:
    """``fn()`` in a forked child, killed after ``timeout`` seconds: (result, "") or (None, why)."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def target() -> None:
        send.send(fn())

    proc = ctx.Process(target=target, daemon=True)
    gc.collect()
    gc.freeze()  # the child neither scans nor copies the parent's objects
    proc.start()
    gc.unfreeze()
    send.close()
    try:
        if not recv.poll(timeout):
            return None, f"skipped: over the {timeout:.0f} s timeout"
        return recv.recv(), ""
    except EOFError:
        return None, f"skipped: the child exited with code {proc.exitcode}"
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()


# --- ours -------------------------------------------------------------------------------------


def ours_outcome(bars: Bars, res: BacktestResult) -> Outcome:
    """Our trades as bar indices."""
    tr = res.trades
    entry = np.searchsorted(bars.ts, np.array([t.entry_ts for t in tr], dtype=np.int64))
    exits = np.array([-1 if t.exit_ts is None else t.exit_ts for t in tr], dtype=np.int64)
    exit_ = np.where(exits < 0, -1, np.searchsorted(bars.ts, exits))
    size = np.array([t.size for t in tr], dtype=np.float64)
    m = res.metrics
    return Outcome(entry.astype(np.int64), exit_.astype(np.int64), size, m.final_equity, m.sharpe)


def ours_single(bars: Bars, runs: int) -> tuple[float, Outcome]:
    """Our single backtest: median seconds and outcome."""
    params = {"fast": FAST, "slow": SLOW}
    secs, res = timed(lambda: backtest_type("sma_cross", bars, params, CFG), runs)
    return secs, ours_outcome(bars, res)


# --- backtesting.py ---------------------------------------------------------------------------


def _sma_gap(close: FloatArray, fast: int, slow: int) -> FloatArray:
    """fast SMA - slow SMA by pandas rolling means (backtesting.py's own SMA), warm-up as 0."""
    import pandas as pd

    x = pd.Series(close)
    return (x.rolling(fast).mean() - x.rolling(slow).mean()).fillna(0.0).to_numpy()


def bt_strategy() -> Any:
    """The sma_cross rule as a ``backtesting.Strategy`` (its conventions: see the module docstring)."""
    from backtesting import Strategy

    class SmaCross(Strategy):
        fast = FAST
        slow = SLOW

        def init(self) -> None:
            self.gap = self.I(_sma_gap, self.data.Close, self.fast, self.slow)

        def next(self) -> None:
            g = self.gap[-1]
            if g > 0:
                if not self.position:
                    self.buy(size=THEIR_FRACTION)
            elif g < 0 and self.position:
                self.position.close()

    return SmaCross


def bt_outcome(stats: Any) -> Outcome:
    """backtesting.py's closed trades plus the ones still open."""
    closed, still = stats["_trades"], stats["_strategy"].trades
    entry = [*closed["EntryBar"].tolist(), *(t.entry_bar for t in still)]
    exit_ = [*closed["ExitBar"].tolist(), *(-1 for _ in still)]
    size = [*closed["Size"].tolist(), *(t.size for t in still)]
    order = np.argsort(entry, kind="stable")
    return Outcome(
        np.array(entry, dtype=np.int64)[order],
        np.array(exit_, dtype=np.int64)[order],
        np.array(size, dtype=np.float64)[order],
        float(stats["Equity Final [$]"]),
    )


def bt_runs(bars: Bars, pair: Pair, runs: int) -> tuple[float, Outcome]:
    """Median seconds of ``Backtest(...).run(...)`` over ``runs`` runs, and the outcome."""
    import pandas as pd
    from backtesting import Backtest

    warnings.simplefilter("ignore")  # "trades remain open": on purpose (close_at_end=False)
    df = pd.DataFrame(
        {"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close, "Volume": bars.volume},
        index=pd.DatetimeIndex(bars.ts.astype("datetime64[ns]")),
    )
    strategy, times = bt_strategy(), []
    Backtest(df.iloc[:1_000], strategy, cash=CASH).run()  # untimed: first-call costs in this process
    for _ in range(runs):
        t = time.perf_counter()
        stats = Backtest(df, strategy, cash=CASH, commission=COMMISSION, finalize_trades=False).run(
            fast=pair[0], slow=pair[1]
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times), bt_outcome(stats)


# --- vectorbt ---------------------------------------------------------------------------------


def vbt_run(bars: Bars, pairs: Sequence[Pair]) -> tuple[float, list[Outcome]]:
    """vectorbt over ``pairs``, ``VBT_CHUNK`` combinations per call: the seconds spent in vectorbt
    and each pair's outcome (its trades read off the clock)."""
    import pandas as pd
    import vectorbt as vbt

    index = pd.DatetimeIndex(bars.ts.astype("datetime64[ns]"))
    close, open_ = pd.Series(bars.close, index=index), pd.Series(bars.open, index=index)
    spent, outs = 0.0, []
    for lo in range(0, len(pairs), VBT_CHUNK):
        part = pairs[lo : lo + VBT_CHUNK]
        t = time.perf_counter()
        fast = vbt.MA.run(close, [f for f, _ in part], short_name="fast", run_unique=True)
        slow = vbt.MA.run(close, [s for _, s in part], short_name="slow", run_unique=True)
        pf = vbt.Portfolio.from_signals(
            close,
            fast.ma_above(slow).vbt.signals.fshift(1),  # decided at the close, filled at the next open
            fast.ma_below(slow).vbt.signals.fshift(1),
            price=open_,
            fees=COMMISSION,
            size=THEIR_FRACTION,
            size_type="percent",
            size_granularity=1.0,
            init_cash=CASH,
            direction="longonly",
            freq="1h",
        )
        final = np.atleast_1d(np.asarray(pf.final_value(), dtype=np.float64))
        sharpe = np.atleast_1d(np.asarray(pf.sharpe_ratio(), dtype=np.float64))
        pf.max_drawdown()
        spent += time.perf_counter() - t
        rec = pf.trades.values
        for col in range(len(part)):
            r = rec[rec["col"] == col]
            r = r[np.argsort(r["entry_idx"], kind="stable")]
            exit_ = np.where(r["status"] == 0, -1, r["exit_idx"]).astype(np.int64)
            entry, size = r["entry_idx"].astype(np.int64), r["size"].astype(np.float64)
            outs.append(Outcome(entry, exit_, size, float(final[col]), float(sharpe[col])))
    return spent, outs


def jit_probe() -> None:
    """Print the seconds of vectorbt's first call in this process (``--jit-probe``)."""
    bars = make_bars(1_000)
    t = time.perf_counter()
    vbt_run(bars, [(FAST, SLOW)])
    print(f"{time.perf_counter() - t:.1f}")


def vbt_jit(timeout: float) -> str:
    """vectorbt's import, its first calls in this process (numba cache empty) beyond a warm call,
    and its first call in a new process once numba's on-disk cache is filled."""
    t = time.perf_counter()
    import vectorbt  # noqa: F401

    imported = time.perf_counter() - t
    tiny = make_bars(1_000)
    extra = []
    for pairs in ([(FAST, SLOW)], [(2, 55), (4, 60), (FAST, SLOW)]):
        first = timed(partial(vbt_run, tiny, pairs), 1)[0]
        extra.append(first - timed(partial(vbt_run, tiny, pairs), 3)[0])
    try:
        # This Python running this module: a fixed argv, no shell.
        probe = subprocess.run(  # nosec B603
            [sys.executable, "-m", "bench.backtest", "--jit-probe"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        cached = probe.stdout.split()[-1] + " s"
    except (subprocess.SubprocessError, IndexError) as e:
        cached = f"not measured ({type(e).__name__})"
    return (
        f"vectorbt's JIT (numba), apart from the table: `import vectorbt` {imported:.1f} s; in a process "
        f"with an empty numba cache its first call took {extra[0]:.1f} s longer than a warm one (single "
        f"backtest) and the grid's multi-column path {extra[1]:.1f} s more; in a new process with numba's "
        f"on-disk cache filled, the first call took {cached} (1,000 bars, import excluded)."
    )


# --- agreement and report ---------------------------------------------------------------------


def agree(a: Outcome, b: Outcome) -> tuple[bool, bool, bool, float]:
    """Same number of trades; same entry and exit bars; same sizes; relative final-equity gap."""
    same_n = a.entry.size == b.entry.size
    same_bars = same_n and bool(np.array_equal(a.entry, b.entry) and np.array_equal(a.exit, b.exit))
    same_sizes = same_n and bool(np.array_equal(a.size, b.size))
    return same_n, same_bars, same_sizes, abs(a.final / b.final - 1)


def agreement_line(what: str, ours: Sequence[Outcome], theirs: Sequence[Outcome]) -> str:
    """A table row: how many backtests agree on each count, and the largest final-equity gap."""
    checks = [agree(a, b) for a, b in zip(ours, theirs, strict=True)]
    k = len(checks)
    counts = [sum(c[i] for c in checks) for i in range(3)]
    gap = max(c[3] for c in checks)
    ok = all(c == k for c in counts) and gap <= TOLERANCE
    trades = sum(o.entry.size for o in ours)
    same = " | ".join(f"{c:,}/{k:,}" for c in counts)
    return f"| {what} | {k:,} | {trades:,} | {same} | {gap:.1e} | {'yes' if ok else '**no**'} |"


def sig(x: float) -> str:
    """Three significant digits, keeping trailing zeros (1.00, 2.50, 30.0)."""
    return f"{x:.2f}" if 1 <= x < 10 else f"{x:.1f}" if 10 <= x < 100 else f"{x:.3g}"


def si(x: float) -> str:
    """A rate with a k or M suffix."""
    return f"{x / 1e6:.3g} M" if x >= 1e6 else f"{x / 1e3:.3g} k" if x >= 1e3 else f"{x:.3g}"


def table_row(lib: str, test: str, n: int, combos: int, t: Timed, bt: float | None, vbt: float | None) -> str:
    """A table row; ``bt`` and ``vbt`` are those libraries' bar-combinations/s on the same test."""
    if t.seconds is None:
        return f"| {lib} | {test} | {n:,} | {combos:,} | | {t.note} | | | |"
    rate = n * combos / t.seconds
    secs = sig(t.seconds) + (f" ({t.note})" if t.note else "")
    vs = " | ".join(sig(rate / r) if r else "" for r in (bt, vbt))
    return f"| {lib} | {test} | {n:,} | {combos:,} | {t.runs} | {secs} | {si(rate)} | {vs} |"


def sma_precision(bars: Bars) -> str:
    """How far our cumulative-sum SMA drifts from a direct window sum, against the closest
    fast/slow gap; and what it makes of exact ties when prices are rounded to cents."""
    import pandas as pd

    from trading.indicators import sma
    from trading.rules import CODE_HOLD, sma_cross_codes

    x = bars.close
    direct = {w: np.convolve(x, np.ones(w), "valid") / w for w in (FAST, SLOW)}
    ours = max(float(np.max(np.abs(sma(x, w)[w - 1 :] / direct[w] - 1))) for w in (FAST, SLOW))
    rolling = pd.Series(x).rolling(SLOW).mean().to_numpy()[SLOW - 1 :]
    theirs = float(np.max(np.abs(rolling / direct[SLOW] - 1)))
    gap = float(np.min(np.abs(direct[FAST][SLOW - FAST :] / direct[SLOW] - 1)))
    cents = np.round(x * 100)
    sums = {w: np.convolve(cents.astype(np.int64), np.ones(w, dtype=np.int64), "valid") for w in (FAST, SLOW)}
    ties = np.flatnonzero(SLOW * sums[FAST][SLOW - FAST :] == FAST * sums[SLOW]) + SLOW - 1
    codes = sma_cross_codes(sma(cents / 100, FAST), sma(cents / 100, SLOW))
    held = int(np.sum(codes[ties] == CODE_HOLD))
    text = (
        f"SMA precision over {len(bars):,} bars: ours (one cumulative sum, `trading.indicators.sma`) is up "
        f"to {ours:.1e} (relative) off a direct window sum, pandas' rolling mean {theirs:.1e}. The closest "
        f"fast/slow gap here is {gap:.1e}, so no decision was near that noise. With the closes rounded to "
        f"cents there would be {ties.size} exact fast = slow ties; our `sma_cross` reads {held} of them as "
        "equal (HOLD)"
    )
    if held == ties.size:
        return text + "."
    return text + (
        ", the others as long or flat: the engine's equality tolerance (a relative gap under 1e-12) is "
        "below its own SMA noise on a series this long, so trades at such ties depend on rounding."
    )


# --- the run ----------------------------------------------------------------------------------

Key = tuple[str, int]  # ("single" | "grid", bars)
Measured = dict[Key, tuple[Timed, dict[Pair, Outcome]]]


def measure_ours(full: Bars, sizes: Sequence[int], grid_bars: Bars, pairs: Sequence[Pair]) -> Measured:
    """Our single backtests and our grid (``sma_cross_grid``, one call)."""
    out: Measured = {}
    for n in sizes:
        runs = OURS_RUNS[n]
        secs, res = ours_single(full.slice(0, n), runs)
        out["single", n] = (Timed(secs, runs), {(FAST, SLOW): res})
    t = time.perf_counter()
    grid = sma_cross_grid(grid_bars, pairs, CFG)
    secs = time.perf_counter() - t
    out["grid", len(grid_bars)] = (Timed(secs, 1), {p: ours_outcome(grid_bars, grid[p]) for p in pairs})
    return out


def measure_bt(
    full: Bars,
    sizes: Sequence[int],
    grid_bars: Bars,
    pairs: Sequence[Pair],
    subset: Sequence[Pair],
    timeout: float,
) -> Measured:
    """backtesting.py, each measurement in a forked child with a timeout; on the grid a subset of
    the combinations, one child each, within twice the timeout in all, extrapolated to all pairs."""
    out: Measured = {}
    bt_runs(full.slice(0, 1_000), (FAST, SLOW), 1)  # imports and first-call costs, in the parent
    for n in sizes:
        res, note = in_child(partial(bt_runs, full.slice(0, n), (FAST, SLOW), BT_RUNS[n]), timeout)
        out["single", n] = (
            (Timed(res[0], BT_RUNS[n]), {(FAST, SLOW): res[1]}) if res else (Timed(None, 0, note), {})
        )
    times, outs, deadline = [], {}, time.monotonic() + 2 * timeout
    for p in subset:
        res, note = in_child(partial(bt_runs, grid_bars, p, 1), timeout)
        if res is None:
            break
        times.append(res[0])
        outs[p] = res[1]
        if time.monotonic() > deadline:
            note = "stopped at the time budget"
            break
    k = len(times)
    if k:
        est = Timed(statistics.median(times) * len(pairs), k, f"{k} of {len(pairs):,} run, extrapolated")
    else:
        est = Timed(None, 0, note)
    out["grid", len(grid_bars)] = (est, outs)
    return out


def measure_vbt(full: Bars, sizes: Sequence[int], grid_bars: Bars, pairs: Sequence[Pair]) -> Measured:
    """vectorbt, warm: single backtests and the whole grid."""
    out: Measured = {}
    for n in sizes:
        runs = [vbt_run(full.slice(0, n), [(FAST, SLOW)]) for _ in range(VBT_RUNS[n])]
        out["single", n] = (
            Timed(statistics.median(r[0] for r in runs), len(runs)),
            {(FAST, SLOW): runs[-1][1][0]},
        )
    secs, outs = vbt_run(grid_bars, pairs)
    out["grid", len(grid_bars)] = (Timed(secs, 1), dict(zip(pairs, outs, strict=True)))
    return out


def run(quick: bool) -> str:
    """Every measurement, then the section's text."""
    sizes = (10**4, 10**5) if quick else (10**4, 10**5, 10**6)
    timeout = 60.0 if quick else 180.0
    pairs = grid_pairs(quick)
    subset = pairs[:: len(pairs) // (5 if quick else 20)]
    full = make_bars(max(sizes))
    grid_bars = full.slice(0, 10**4 if quick else 10**5)
    # Library by library: backtesting.py's children are forked before numba is imported.
    ours = measure_ours(full, sizes, grid_bars, pairs)
    bt = measure_bt(full, sizes, grid_bars, pairs, subset, timeout)
    jit = vbt_jit(timeout)
    vbt = measure_vbt(full, sizes, grid_bars, pairs)

    table, agreement = [], []
    for key in ours:
        test, n = key
        combos = len(ours[key][1])
        rates = [n * combos / t.seconds if t.seconds else None for t in (bt[key][0], vbt[key][0])]
        for lib, m in (("backtesting.py", bt), ("vectorbt (warm)", vbt), ("ours", ours)):
            table.append(table_row(lib, test, n, combos, m[key][0], *rates))
        for lib, m in (("backtesting.py", bt), ("vectorbt", vbt)):
            if m[key][1]:
                mine = [ours[key][1][p] for p in m[key][1]]
                what = f"{test}, {n:,} bars: ours vs {lib}"
                agreement.append(agreement_line(what, mine, list(m[key][1].values())))
    ours_grid, vbt_grid = ours["grid", len(grid_bars)][1], vbt["grid", len(grid_bars)][1]
    sharpe_gap = max(
        abs(ours_grid[p].sharpe - o.sharpe) / max(abs(o.sharpe), 1e-12) for p, o in vbt_grid.items()
    )
    return report(pairs, table, agreement, jit, sharpe_gap, sma_precision(full))


TABLE = ["library", "test", "bars", "combinations", "runs", "seconds", "bar-combinations/s"]
TABLE += ["vs backtesting.py", "vs vectorbt (warm)"]
AGREEMENT = ["comparison", "backtests", "our trades", "same count", "same entry/exit bars", "same sizes"]
AGREEMENT += ["max final-equity gap", "agreed"]


def head(cols: list[str], text: int) -> str:
    """A markdown table head, the first ``text`` columns left-aligned and the rest right."""
    return f"| {' | '.join(cols)} |\n|{'---|' * text}{'---:|' * (len(cols) - text)}"


def report(
    pairs: Sequence[Pair], table: list[str], agreement: list[str], jit: str, sharpe_gap: float, precision: str
) -> str:
    """The section's text below the machine line."""
    versions = ", ".join(f"{p} {version(p)}" for p in ("backtesting", "vectorbt", "numba", "pandas", "numpy"))
    (f0, s0), (f1, s1) = pairs[0], pairs[-1]
    setup = (
        f"{versions}; every figure single-threaded and measured in this one run. Bars: one seeded "
        "synthetic hourly series (`make_bars`: a random walk with trending regimes and clustered "
        f"volatility); the smaller sizes are its first bars. `sma_cross` fast {FAST} / slow {SLOW}; the "
        f"grid: fast {f0}..{f1} x slow {s0}..{s1}, {len(pairs):,} combinations."
    )
    conventions = (
        "Conventions, the same in all three: a signal on bar t's close fills at bar t+1's open "
        "(vectorbt: signals shifted one bar, `price=open`); long while fast SMA > slow SMA, flat below, "
        "hold when equal or warming up (backtesting.py: its indicator is fast - slow with the warm-up "
        "read as 0, since it starts `next()` a bar after the warm-up); commission "
        f"{COMMISSION} x notional on entry and on exit; cash {CASH:,.0f}; whole units, floor({FRACTION} "
        "x equity / open): backtesting.py and vectorbt divide by price x (1 + commission), so they are "
        f"given {THEIR_FRACTION:.5f}; a position open at the end is valued at the last close."
    )
    timing = (
        "Time: median per backtest, from each library's own input (built beforehand) to trades and "
        "figures: ours and backtesting.py all their statistics, vectorbt final value, Sharpe ratio and "
        f"max drawdown, {VBT_CHUNK} combinations per call (its fastest here; the full grid's 1,000 at "
        "once ran out of this machine's 23 GB). backtesting.py runs in a forked child with a "
        "timeout, after an untimed warm-up; on the grid it runs a spread-out subset, one "
        "`Backtest.run` each (as `Backtest.optimize` does), extrapolated. Ratios: bar-combinations/s "
        "over the other's on the same test (> 1: faster)."
    )
    same = (
        "Same trades: entry and exit bars (an open trade has none), sizes, final equity; agreed when "
        f"every count is equal and the final-equity gap is within {TOLERANCE:g} (float rounding: the "
        "libraries sum in different orders)."
    )
    fill = partial(textwrap.fill, width=96, break_on_hyphens=False)
    return "\n".join(
        [
            fill(setup),
            "",
            fill(conventions),
            "",
            fill(timing),
            "",
            head(TABLE, 2),
            *table,
            "",
            fill(jit),
            "",
            fill(same),
            "",
            head(AGREEMENT, 1),
            *agreement,
            "",
            fill(
                f"Sharpe ratio, ours vs vectorbt, over the whole grid: largest relative gap {sharpe_gap:.1e}."
            ),
            "",
            fill(precision),
        ]
    )


def main(quick: bool, out: Path | None) -> None:
    started = datetime.now(UTC)
    cache_dir = tempfile.mkdtemp(prefix="bench-numba-")
    os.environ["NUMBA_CACHE_DIR"] = cache_dir  # set before numba's import: its JIT starts cold
    os.environ["TQDM_DISABLE"] = "1"  # backtesting.py's progress bar
    try:
        body = machine_line(started) + "\n" + run(quick)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    title = "Backtesting (`bench/backtest.py`)"
    print(write_section(out, title, body) if out else f"## {title}\n\n{body}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 bars, a 100-combination grid")
    parser.add_argument("--out", type=Path, default=None, help="default BENCHMARKS.md; with --quick: print")
    parser.add_argument("--jit-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.jit_probe:
        jit_probe()
    else:
        main(args.quick, args.out or (None if args.quick else Path("BENCHMARKS.md")))
