"""Indicators over float arrays, for signal functions: each value uses only its bar and the ones before.

Every function returns an array as long as its input, NaN where the window is not yet full,
so a comparison with it reads as neither true nor false there (``Signal.where`` holds).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from trading.errors import InvalidInput
from trading.indicators import rsi

__all__ = [
    "crossed_above",
    "crossed_below",
    "ema",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "rsi",
    "shift",
    "sma",
]

FloatArray = npt.NDArray[np.float64]


def _window(name: str, n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInput(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def _rolling(values: npt.ArrayLike, n: int, how: str) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    n = _window("n", n)
    out = np.full(x.shape, np.nan)
    if x.size >= n:
        view = sliding_window_view(x, n)
        if how == "max":
            out[n - 1 :] = view.max(axis=1)
        elif how == "min":
            out[n - 1 :] = view.min(axis=1)
        else:
            out[n - 1 :] = view.std(axis=1)
    return out


def sma(values: npt.ArrayLike, n: int) -> FloatArray:
    """Simple moving average of the last ``n`` values; NaN until ``n`` exist and on any window
    holding a NaN (a peer's closes aligned to other times have gaps), the values after it unharmed."""
    x = np.asarray(values, dtype=np.float64)
    n = _window("n", n)
    out = np.full(x.shape, np.nan)
    if x.size < n:
        return out
    missing = np.isnan(x)
    csum = np.cumsum(np.concatenate(([0.0], np.where(missing, 0.0, x))))
    gaps = np.cumsum(np.concatenate(([0], missing.astype(np.int64))))
    out[n - 1 :] = (csum[n:] - csum[:-n]) / n
    out[n - 1 :][(gaps[n:] - gaps[:-n]) > 0] = np.nan
    return out


def rolling_max(values: npt.ArrayLike, n: int) -> FloatArray:
    """Highest of the last ``n`` values."""
    return _rolling(values, n, "max")


def rolling_min(values: npt.ArrayLike, n: int) -> FloatArray:
    """Lowest of the last ``n`` values."""
    return _rolling(values, n, "min")


def rolling_std(values: npt.ArrayLike, n: int) -> FloatArray:
    """Population standard deviation of the last ``n`` values."""
    return _rolling(values, n, "std")


def ema(values: npt.ArrayLike, n: int) -> FloatArray:
    """Exponential moving average (alpha ``2 / (n + 1)``), seeded with the SMA of the first ``n`` values.

    It remembers every value since the seed, so a strategy using it needs a warm-up several
    times ``n`` for its signal not to depend on where the window starts (the recursion check).
    """
    x = np.asarray(values, dtype=np.float64)
    n = _window("n", n)
    out = np.full(x.shape, np.nan)
    if x.size < n:
        return out
    alpha = 2.0 / (n + 1.0)
    level = float(x[:n].mean())
    out[n - 1] = level
    for i in range(n, x.size):
        level += alpha * (float(x[i]) - level)
        out[i] = level
    return out


def shift(values: npt.ArrayLike, k: int = 1) -> FloatArray:
    """The value ``k`` bars earlier (NaN for the first ``k``); ``k`` must not be negative (the future)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InvalidInput(f"shift takes k >= 0 bars into the past, got {k!r}")
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if k < x.size:
        out[k:] = x[: x.size - k]
    return out


def crossed_above(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True on the bars where ``a`` went from at or below ``b`` to above it."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (x > y) & (shift(x) <= shift(y))


def crossed_below(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True on the bars where ``a`` went from at or above ``b`` to below it."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (x < y) & (shift(x) >= shift(y))
