"""Indicators against hand-computed values."""

import math
from decimal import Decimal

import numpy as np
import pytest

from trading.errors import InvalidInput
from trading.indicators import rsi, sma, to_floats


def test_sma_hand_computed() -> None:
    out = sma([1.0, 2.0, 3.0, 4.0, 6.0], 3)
    assert np.isnan(out[:2]).all()
    assert out[2:].tolist() == pytest.approx([2.0, 3.0, 13.0 / 3.0])


def test_sma_window_one_is_identity_and_long_window_is_all_nan() -> None:
    assert sma([5.0, 7.0], 1).tolist() == [5.0, 7.0]
    assert np.isnan(sma([5.0, 7.0], 3)).all()
    assert len(sma([], 2)) == 0


def test_rsi_wilder_hand_computed() -> None:
    # deltas +1 +1 -1 +1 +1; seed gain 1 / loss 0, then Wilder smoothing with period 2.
    out = rsi([1.0, 2.0, 3.0, 2.0, 3.0, 4.0], 2)
    assert np.isnan(out[:2]).all()
    assert out[2:].tolist() == pytest.approx([100.0, 50.0, 75.0, 87.5])


def test_rsi_extremes() -> None:
    assert rsi([5.0, 4.0, 3.0, 2.0], 2)[-1] == 0.0
    assert rsi([1.0, 2.0, 3.0, 4.0], 2)[-1] == 100.0
    assert rsi([3.0, 3.0, 3.0, 3.0], 2)[-1] == 50.0  # no movement at all reads as neutral


def test_rsi_too_short_is_all_nan() -> None:
    assert np.isnan(rsi([1.0, 2.0], 2)).all()


@pytest.mark.parametrize("bad", [0, -3])
def test_windows_must_be_positive(bad: int) -> None:
    with pytest.raises(InvalidInput):
        sma([1.0, 2.0], bad)
    with pytest.raises(InvalidInput):
        rsi([1.0, 2.0], bad)


def test_to_floats() -> None:
    out = to_floats([Decimal("1.5"), Decimal("2")])
    assert out.dtype == np.float64 and out.tolist() == [1.5, 2.0]
    assert not any(math.isnan(v) for v in out)
