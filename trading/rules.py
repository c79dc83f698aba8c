"""The built-in strategies' rules as pure array maths, and the target codes the backtester reads.

One int8 code per bar: ``CODE_FLAT``, ``CODE_LONG``, ``CODE_HOLD``. The strategies themselves
(``asts.builtin``) and the optimiser's SMA grid both call these rules, so a grid evaluation
is the strategy's own rule.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trading.indicators import FloatArray
from trading.models import Target

# Largest position size accepted (base units): beyond it, amounts leave NUMERIC(38, 18).
MAX_SIZE = Decimal("1e12")

# Relative SMA gaps smaller than this are float noise (cumulative sums), read as equal.
_EQUAL_GAP = 1e-12

# Target codes of the vectorised rules: one int8 per bar.
CODE_FLAT = 0
CODE_LONG = 1
CODE_HOLD = 2  # keep whatever is held (also every warm-up bar)
TargetCodes = npt.NDArray[np.int8]
# The Target of each code (index by code) and the code of each Target.
CODE_TARGETS = (Target.FLAT, Target.LONG, Target.HOLD)
TARGET_CODES = {t: np.int8(i) for i, t in enumerate(CODE_TARGETS)}


def sma_cross_codes(fast: FloatArray, slow: FloatArray) -> TargetCodes:
    """The ``sma_cross`` rule on aligned SMA series: LONG where fast is above slow, FLAT below,
    HOLD where they are equal (relative gap under ``_EQUAL_GAP``) or not yet defined (NaN)."""
    with np.errstate(invalid="ignore"):
        gap = (fast - slow) / slow
        codes = np.where(fast > slow, CODE_LONG, CODE_FLAT).astype(np.int8)
        codes[~(np.abs(gap) >= _EQUAL_GAP)] = CODE_HOLD
    return codes


def rsi_reversion_codes(r: FloatArray, lower: float, upper: float) -> TargetCodes:
    """The ``rsi_reversion`` rule on an RSI series: LONG below ``lower``, FLAT above ``upper``,
    HOLD in between and where the RSI is not yet defined (NaN)."""
    codes = np.full(r.shape, CODE_HOLD, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        codes[r < lower] = CODE_LONG
        codes[r > upper] = CODE_FLAT
    return codes
