"""Technical indicators over float arrays (numpy); prices are converted at this boundary only."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]


def to_floats(values: Sequence[Decimal]) -> FloatArray:
    """Decimals to a float array for indicator maths."""
    return np.array([float(v) for v in values], dtype=np.float64)


def _check_window(name: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInput(f"{name} must be an integer >= 1, got {n!r}")


def sma(values: Sequence[float] | FloatArray, n: int) -> FloatArray:
    """Simple moving average over ``n`` values; NaN where fewer than ``n`` values are available."""
    _check_window("n", n)
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if x.size >= n:
        csum = np.cumsum(np.concatenate(([0.0], x)))
        out[n - 1 :] = (csum[n:] - csum[:-n]) / n
    return out


def rsi(values: Sequence[float] | FloatArray, period: int) -> FloatArray:
    """Relative Strength Index with Wilder smoothing; NaN for the first ``period`` values.

    100 when the window had gains but no losses; 50 when prices did not move at all
    (no gains and no losses), so a stale market does not read as overbought.
    """
    _check_window("period", period)
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if x.size <= period:
        return out
    delta = np.diff(x)
    gains = np.clip(delta, 0.0, None)
    losses = np.clip(-delta, 0.0, None)
    avg_gain = float(gains[:period].mean())
    avg_loss = float(losses[:period].mean())
    out[period] = _rsi_value(avg_gain, avg_loss)
    for i in range(period, delta.size):
        avg_gain = (avg_gain * (period - 1) + gains[i]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i]) / period
        out[i + 1] = _rsi_value(avg_gain, avg_loss)
    return out


def _rsi_value(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
