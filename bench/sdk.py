"""The strategy SDK's costs, as ratios against baselines measured in the same run.

- A backtest through the SDK (``asts.engine.backtest_type``: the strategy's own signal function,
  its warm-up held) against the engine fed the rule's target codes directly (what a backtest cost
  before strategies went through the SDK), on 10^4 and 10^5 bars of the bundled check series
  extended by the same generator.
- The look-ahead and recursion checks of each built-in (what a first load of a new code version
  costs; later loads read the cached verdict), against one signal call on the checked window.
- A live decision (``Strategy.latest`` on the scan's window) against one signal call on it.

    python -m bench.sdk [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from asts.bars import Bars
from asts.builtin.agent import Agent
from asts.builtin.rsi_reversion import RsiReversion
from asts.builtin.sma_cross import SmaCross
from asts.checks import CHECKED_BARS, check_series, run_checks
from asts.engine import backtest_type
from asts.strategy import Strategy
from bench.report import machine_line, write_section
from trading.backtest import BacktestConfig, run_backtest
from trading.backtest import Bars as Columns
from trading.indicators import sma
from trading.rules import sma_cross_codes

CFG = BacktestConfig(commission=0.001)
PARAMS = {"fast": 10, "slow": 30}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median milliseconds of ``fn`` over ``runs`` calls, after one uncounted call."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def backtest_rows(sizes: list[int], runs: int) -> list[str]:
    rows = []
    for n in sizes:
        bars = check_series(n)

        def direct(cols: Columns = bars.columns) -> object:
            return run_backtest(cols, sma_cross_codes(sma(cols.close, 10), sma(cols.close, 30)), CFG)

        def sdk(b: Bars = bars) -> object:
            return backtest_type("sma_cross", b, PARAMS, CFG)

        base, ours = median_ms(direct, runs), median_ms(sdk, runs)
        rows.append(f"| sma_cross 10/30, {n:,} bars | {base:.2f} | {ours:.2f} | {ours / base:.2f}x |")
    return rows


def check_rows() -> list[str]:
    rows = []
    for strategy in (SmaCross, RsiReversion, Agent):
        p = strategy.parse_params({})
        warm = strategy.warmup_of(p)
        window = check_series().window(0, warm + CHECKED_BARS)
        one = median_ms(lambda s=strategy, w=window, q=p: s.targets(w, q), 5)  # type: ignore[misc]
        t = time.perf_counter()
        found = run_checks(strategy)
        secs = time.perf_counter() - t
        if found is not None:
            raise SystemExit(f"{strategy.name} fails its own checks: {found}")
        ms = secs * 1000
        rows.append(
            f"| {strategy.name} | {warm} | {len(window)} | {one:.2f} | {ms:,.0f} | {ms / one:,.0f}x |"
        )
    return rows


def live_rows(runs: int) -> list[str]:
    rows = []
    strategies: list[type[Strategy]] = [SmaCross, RsiReversion, Agent]
    for strategy in strategies:
        p = strategy.parse_params({})
        window = check_series().window(0, max(60, strategy.warmup_of(p) + 2))
        bars = Bars.from_columns(window.columns, "X/USD")
        one = median_ms(lambda s=strategy, b=bars, q=p: s.targets(b, q), runs)  # type: ignore[misc]
        live = median_ms(lambda s=strategy, b=bars, q=p: s.latest(b, q), runs)  # type: ignore[misc]
        rows.append(f"| {strategy.name} | {len(bars)} | {one:.3f} | {live:.3f} | {live / one:.2f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="write the section into this file")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    started = datetime.now(UTC)
    body = "\n".join(
        [
            machine_line(started),
            "",
            "A backtest through the SDK against the engine fed the rule's codes directly (the baseline):",
            "",
            "| backtest | direct engine, ms | through the SDK, ms | ratio |",
            "|---|---:|---:|---:|",
            *backtest_rows([10_000, 100_000], args.runs),
            "",
            "The look-ahead and recursion checks of each built-in with its defaults (uncached: the first "
            "load of a code version; later loads read the verdict), against one signal call on the checked "
            "bars:",
            "",
            "| strategy | warm-up | bars checked | one signal, ms | checks, ms | ratio |",
            "|---|---:|---:|---:|---:|---:|",
            *check_rows(),
            "",
            "A live decision (`latest`: the last bar off the warm-up window, the reason off the scan's "
            "window) against one signal call on the scan's window:",
            "",
            "| strategy | bars | one signal, ms | live decision, ms | ratio |",
            "|---|---:|---:|---:|---:|",
            *live_rows(args.runs),
        ]
    )
    print(body)
    if args.out is not None:
        write_section(args.out, "Strategy SDK (`bench/sdk.py`)", body)


if __name__ == "__main__":
    main()
