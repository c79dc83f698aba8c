"""Strategies that see the future, or their past beyond their warm-up: what the checks must refuse."""

from __future__ import annotations

import numpy as np

from asts import Bars, Field, Int, Params, Signal, Strategy, indicators


class PeekParams(Params):
    """No parameters but the lag."""

    lag: Int = Field(default=1, ge=1)


class PeeksOneBarAhead(Strategy):
    """Long when the next close is higher: it reads the bar after the one it decides."""

    name = "peeks_ahead"
    params_model = PeekParams

    def warmup(self, p: PeekParams) -> int:
        return 2

    def signal(self, bars: Bars, p: PeekParams) -> Signal:
        nxt = np.append(bars.close[p.lag :], [np.nan] * p.lag)
        return Signal.where(long=nxt > bars.close, flat=nxt < bars.close)


class NormalisesByTheWholeSeries(Strategy):
    """Long above the series' mean close: the mean of the whole series is the future's too."""

    name = "whole_series_mean"

    def warmup(self, p: Params) -> int:
        return 1

    def signal(self, bars: Bars, p: Params) -> Signal:
        z = bars.close / bars.close.mean()
        return Signal.where(long=z > 1, flat=z < 1, indicators={"z": z})


class TooShortWarmup(Strategy):
    """A 10/30 SMA cross that declares a warm-up of 5 bars."""

    name = "short_warmup"

    def warmup(self, p: Params) -> int:
        return 5

    def signal(self, bars: Bars, p: Params) -> Signal:
        fast, slow = indicators.sma(bars.close, 10), indicators.sma(bars.close, 30)
        return Signal.where(long=fast > slow, flat=fast < slow)


class EmaFromTheStart(Strategy):
    """An EMA cross whose EMAs remember every bar since the series began, with a 30-bar warm-up."""

    name = "ema_memory"

    def warmup(self, p: Params) -> int:
        return 30

    def signal(self, bars: Bars, p: Params) -> Signal:
        fast, slow = indicators.ema(bars.close, 10), indicators.ema(bars.close, 30)
        return Signal.where(long=fast > slow, flat=fast < slow, indicators={"fast_ema": fast})


class Remembers(Strategy):
    """Keeps a counter on its class between calls: asked twice, it answers differently."""

    name = "remembers"
    calls = 0

    def warmup(self, p: Params) -> int:
        return 1

    def signal(self, bars: Bars, p: Params) -> Signal:
        type(self).calls += 1
        flip = type(self).calls % 2 == 0
        return Signal.where(long=np.full(len(bars), flip), flat=np.full(len(bars), not flip))
