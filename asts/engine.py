"""Backtests of SDK strategies: the strategy's own signal over the whole series, then the engine.

The signal is the one the live cycle reads (:meth:`asts.Strategy.targets`, warm-up bars held),
so a backtest trades exactly the targets the strategy would have decided bar by bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asts.bars import Bars
from asts.registry import StrategyType, current
from asts.strategy import Strategy
from trading.backtest import BacktestConfig, BacktestResult, run_backtest
from trading.backtest import Bars as Columns

__all__ = ["backtest", "backtest_type", "targets_of"]


def _cls(strategy: StrategyType | type[Strategy]) -> type[Strategy]:
    return strategy.cls if isinstance(strategy, StrategyType) else strategy


def _bars(bars: Bars | Columns) -> Bars:
    return bars if isinstance(bars, Bars) else Bars.from_columns(bars)


def targets_of(strategy: StrategyType | type[Strategy], bars: Bars | Columns, params: Any = None) -> Any:
    """The target code of every bar (what the backtester reads)."""
    cls = _cls(strategy)
    return cls.targets(_bars(bars), cls.parse_params(params)).target


def backtest(
    strategy: StrategyType | type[Strategy],
    bars: Bars | Columns,
    params: Mapping[str, Any] | None = None,
    cfg: BacktestConfig | None = None,
    peers: Mapping[str, Bars | Columns] | None = None,
) -> BacktestResult:
    """Backtest a strategy over ``bars`` with raw parameters (validated as the live code does);
    ``peers``, the other symbols' series its signal reads (``bars.peer``), are cut to each window."""
    b = _bars(bars)
    if peers:
        given = {sym: _bars(p) for sym, p in peers.items()}
        b = Bars(
            symbol=b.symbol, columns=b.columns, peers={sym: Bars(sym, p.columns) for sym, p in given.items()}
        )
    return run_backtest(b.columns, targets_of(strategy, b, params), cfg or BacktestConfig())


def backtest_type(
    name: str, bars: Bars | Columns, params: Mapping[str, Any] | None, cfg: BacktestConfig
) -> BacktestResult:
    """Backtest the loaded strategy type ``name``."""
    return backtest(current().get(name), bars, params, cfg)
