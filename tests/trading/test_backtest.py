"""The backtest engine: every fill convention on small hand-computed series, validation, and
agreement with a slow bar-by-bar simulation of the same rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from trading.backtest import (
    BacktestConfig,
    BacktestResult,
    Bars,
    Trade,
    run_backtest,
)
from trading.errors import InvalidInput
from trading.models import Candle, OrderType, Side
from trading.triggers import Resting, first_event

DAY = 86_400 * 10**9
CODES = {"F": 0, "L": 1, ".": 2}


def make_bars(
    opens: list[float],
    closes: list[float] | None = None,
    highs: list[float] | None = None,
    lows: list[float] | None = None,
) -> Bars:
    """Bars one day apart; closes default to the opens, high/low to the open/close range."""
    c = closes if closes is not None else opens
    h = highs if highs is not None else [max(a, b) for a, b in zip(opens, c, strict=True)]
    lo = lows if lows is not None else [min(a, b) for a, b in zip(opens, c, strict=True)]
    n = len(opens)
    return Bars(
        np.arange(n, dtype=np.int64) * DAY,
        np.array(opens),
        np.array(h),
        np.array(lo),
        np.array(c),
        np.ones(n),
    )


def codes(spec: str) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Targets from a string: L long, F flat, . hold."""
    return np.array([CODES[ch] for ch in spec], dtype=np.int8)


def run(bars: Bars, targets: str, **cfg: Any) -> BacktestResult:
    return run_backtest(bars, codes(targets), BacktestConfig(cash=1000.0, **cfg))


def only(result: BacktestResult) -> Trade:
    assert len(result.trades) == 1, result.trades
    return result.trades[0]


# Timing: bar t's target fills at bar t+1's open ---------------------------------------------

RISING = make_bars([10, 20, 30, 40, 50], [11, 21, 31, 41, 51])


def test_target_fills_at_next_open() -> None:
    r = run(RISING, "L.F..")
    t = only(r)
    assert (t.entry_ts, t.exit_ts, t.side, t.exit_reason) == (1 * DAY, 3 * DAY, "long", "signal")
    assert (t.entry_price, t.exit_price, t.size) == (20.0, 40.0, 50.0)
    assert t.pnl == pytest.approx(50 * (40 - 20))
    # marked at each close while held; cash once out
    assert r.equity.tolist() == pytest.approx([1000, 1050, 1550, 2000, 2000])
    assert r.metrics.exposure == pytest.approx(2 / 5)  # bars 1 and 2
    assert t.entry_time == datetime(1970, 1, 2, tzinfo=UTC) and t.exit_time == datetime(
        1970, 1, 4, tzinfo=UTC
    )


def test_last_bars_target_is_never_filled() -> None:
    r = run(RISING, "....L")
    assert r.trades == [] and r.equity.tolist() == [1000.0] * 5


def test_hold_keeps_and_repeated_long_adds_nothing() -> None:
    assert only(run(RISING, "LLL.F")).exit_ts == 4 * DAY
    assert only(run(RISING, "L....")).exit_reason == "end"


# Costs ------------------------------------------------------------------------------------


def test_commission_on_entry_and_on_exit() -> None:
    r = run(RISING, "L.F..", commission=0.01, fraction=0.5)
    t = only(r)
    assert t.size == 25 and t.commission == pytest.approx(0.01 * 25 * 20 + 0.01 * 25 * 40)  # 5 + 10
    assert t.pnl == pytest.approx(500 - 15)
    assert r.equity.tolist() == pytest.approx([1000, 1020, 1270, 1485, 1485])
    assert r.metrics.commissions == pytest.approx(15)


def test_all_the_equity_buys_what_the_cash_pays_for_with_its_commission() -> None:
    t = only(run(RISING, "L.F..", commission=0.01))
    assert t.size == pytest.approx(1000 / (20 * 1.01))  # not 50, which would cost 1010
    assert t.size * 20 * 1.01 == pytest.approx(1000)


def test_slippage_moves_long_fills_against_the_trader() -> None:
    t = only(run(RISING, "L.F..", slippage_bps=100))
    assert (t.entry_price, t.exit_price) == (pytest.approx(20.2), pytest.approx(39.6))
    assert t.size == pytest.approx(1000 / 20.2)
    assert t.pnl == pytest.approx(1000 / 20.2 * (39.6 - 20.2))


def test_slippage_moves_short_fills_against_the_trader() -> None:
    falling = make_bars([10, 20, 18, 16, 15], [11, 19, 17, 15.5, 14])
    short, long = run(falling, "F.L..", slippage_bps=100, direction="long_short").trades
    assert short.side == "short" and (short.entry_price, short.exit_price) == (
        pytest.approx(19.8),  # sold lower
        pytest.approx(16.16),  # bought back higher
    )
    assert short.pnl == pytest.approx(1000 / 19.8 * (19.8 - 16.16))
    cash = 1000 + short.pnl
    assert long.side == "long" and long.entry_ts == short.exit_ts == 3 * DAY
    assert (long.entry_price, long.size) == (pytest.approx(16.16), pytest.approx(cash / 16.16))
    assert (long.exit_price, long.exit_reason) == (pytest.approx(14 * 0.99), "end")


# Size -------------------------------------------------------------------------------------

STEP = make_bars([30, 30, 45, 45])


def test_fractional_units() -> None:
    t = only(run(STEP, "L.F."))
    assert t.size == pytest.approx(1000 / 30) and t.pnl == pytest.approx(500)


def test_whole_units_are_floored() -> None:
    t = only(run(STEP, "L.F.", units="whole"))
    assert (t.size, t.pnl) == (33.0, pytest.approx(33 * 15))
    half = only(run(STEP, "L.F.", units="whole", fraction=0.5))
    assert half.size == 16.0  # floor(500 / 30)


def test_zero_whole_units_means_no_trade() -> None:
    r = run_backtest(STEP, codes("L.F."), BacktestConfig(cash=20.0, units="whole"))
    assert r.trades == [] and r.equity.tolist() == [20.0] * 4


def test_size_compounds_on_equity_at_the_fill() -> None:
    first, second = run(make_bars([10, 10, 20, 20, 40, 40]), "LF.L..", fraction=0.5).trades
    assert first.size == 50 and first.pnl == pytest.approx(500)  # 0.5 * 1000 / 10
    assert second.size == pytest.approx(0.5 * 1500 / 40)


# Direction --------------------------------------------------------------------------------

ZIGZAG = make_bars([10, 10, 20, 10, 10])


def test_long_short_reversal_exits_then_enters_at_the_same_open() -> None:
    r = run(ZIGZAG, "LF.L.", direction="long_short")
    a, b, c = r.trades
    assert (a.side, a.entry_ts, a.exit_ts, a.pnl) == ("long", DAY, 2 * DAY, pytest.approx(1000))
    assert (b.side, b.entry_ts, b.exit_ts, b.size) == ("short", 2 * DAY, 4 * DAY, pytest.approx(100))
    assert b.pnl == pytest.approx(100 * (20 - 10))
    assert (c.side, c.entry_ts, c.size, c.exit_reason) == ("long", 4 * DAY, pytest.approx(300), "end")
    assert r.equity.tolist() == pytest.approx([1000, 1000, 2000, 3000, 3000])


def test_long_only_flat_means_no_position() -> None:
    r = run(ZIGZAG, "LF.L.")
    assert [(t.side, t.entry_ts, t.exit_ts) for t in r.trades] == [
        ("long", DAY, 2 * DAY),
        ("long", 4 * DAY, 4 * DAY),
    ]
    assert r.equity.tolist() == pytest.approx([1000, 1000, 2000, 2000, 2000])


# Stops and targets ------------------------------------------------------------------------


def stop_bars(bar2: tuple[float, float, float, float], bar1_low: float = 99) -> Bars:
    """Entry at 100 on bar 1 (size 10 for 1000 cash); bar 2 is (open, high, low, close)."""
    o2, h2, l2, c2 = bar2
    return make_bars([100, 100, o2, 99], [100, 100, c2, 99], [100, 101, h2, 99], [100, bar1_low, l2, 99])


def test_stop_fills_at_the_stop_price() -> None:
    r = run(stop_bars((99, 100, 94, 96)), "LLLL", stop_loss=0.05)
    t = only(r)  # repeated LONG targets after the stop: no re-entry
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("stop_loss", 2 * DAY, pytest.approx(95))
    assert t.pnl == pytest.approx(-50)
    assert r.equity.tolist() == pytest.approx([1000, 1000, 950, 950])
    assert r.metrics.exposure == pytest.approx(2 / 4)  # the entry bar and the stop bar


def test_stop_gapped_through_fills_at_the_open() -> None:
    t = only(run(stop_bars((90, 91, 88, 90)), "L...", stop_loss=0.05))
    assert (t.exit_reason, t.exit_price, t.pnl) == ("stop_loss", 90.0, pytest.approx(-100))


def test_stop_is_assumed_when_a_bar_touches_stop_and_target() -> None:
    t = only(run(stop_bars((100, 106, 94, 100)), "L...", stop_loss=0.05, take_profit=0.05))
    assert (t.exit_reason, t.exit_price) == ("stop_loss", pytest.approx(95))


def test_take_profit_fills_at_its_price_even_after_a_gap() -> None:
    t = only(run(stop_bars((101, 106, 100, 104)), "L...", stop_loss=0.05, take_profit=0.05))
    assert (t.exit_reason, t.exit_ts, t.exit_price, t.pnl) == (
        "take_profit",
        2 * DAY,
        pytest.approx(105),
        pytest.approx(50),
    )
    gap = only(run(stop_bars((108, 110, 107, 109)), "L...", take_profit=0.05))
    assert (gap.exit_reason, gap.exit_price) == ("take_profit", pytest.approx(105))  # not the 108 open


def test_entry_bars_range_counts_for_the_stop() -> None:
    r = run(stop_bars((99, 100, 98, 99), bar1_low=94), "L...", stop_loss=0.05)
    t = only(r)
    assert (t.exit_reason, t.entry_ts, t.exit_ts, t.exit_price) == ("stop_loss", DAY, DAY, pytest.approx(95))
    assert r.equity.tolist() == pytest.approx([1000, 950, 950, 950])


def test_stop_and_target_levels_come_from_the_entry_fill_with_slippage() -> None:
    # entry 100 * 1.01 = 101; stop 101 * 0.95 = 95.95 touched by the 95.9 low; sold 1% lower
    t = only(run(stop_bars((99, 100, 95.9, 99)), "L...", stop_loss=0.05, slippage_bps=100))
    assert (t.exit_reason, t.exit_price) == ("stop_loss", pytest.approx(95.95 * 0.99))


def test_after_a_stop_reentry_needs_a_new_target_change() -> None:
    bars = make_bars([100, 100, 96, 96, 96, 97], lows=[100, 94, 96, 96, 96, 97])
    r = run(bars, "LLLFL.", stop_loss=0.05)
    first, second = r.trades
    assert (first.exit_reason, first.exit_ts) == ("stop_loss", DAY)
    assert (second.entry_ts, second.entry_price, second.exit_reason) == (5 * DAY, 97.0, "end")


# Trailing stops: trading.triggers' rule, bar for bar ---------------------------------------

# (open, high, low, close): a rally to 106, a fall, then a gap down to 90
MOVES = [
    (100, 101, 99, 100),
    (100, 102, 99, 101),
    (101, 106, 100, 105),
    (105, 105, 101, 102),
    (102, 103, 97, 98),
    (90, 92, 89, 91),
    (91, 96, 90, 95),
]


def moves(rows: list[tuple[float, float, float, float]] = MOVES) -> Bars:
    o, h, lo, c = (list(col) for col in zip(*rows, strict=True))
    return make_bars(o, c, h, lo)


def venue_trailing_fill(side: Side, fraction: str, entry_bar: int) -> tuple[int, Decimal]:
    """Where the same trailing stop fills by the venues' rules, from the entry bar's open on."""
    bars = [Candle(datetime(2024, 1, 1, tzinfo=UTC), *(Decimal(x) for x in r), Decimal(1)) for r in MOVES]
    order = Resting(
        OrderType.TRAILING_STOP, side, trail_fraction=Decimal(fraction), reference=bars[entry_bar].open
    )
    hit = first_event(order, bars[entry_bar:])
    assert hit is not None
    return entry_bar + hit.index, hit.price


def test_trailing_stop_follows_the_best_price_as_the_venue_does() -> None:
    t = only(run(moves(), "L......", trailing=0.03))
    # entered at bar 1's open (100): levels 97, 98.94 (best 102), then 102.82 (best 106) on bar 3
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("trailing_stop", 3 * DAY, pytest.approx(102.82))
    bar, price = venue_trailing_fill(Side.SELL, "0.03", 1)
    assert (bar * DAY, float(price)) == (t.exit_ts, pytest.approx(t.exit_price))


def test_trailing_stop_gapped_through_fills_at_the_open() -> None:
    t = only(run(moves(), "L......", trailing=0.1))  # 95.4 under the 106 best; bar 5 opens at 90
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("trailing_stop", 5 * DAY, 90.0)
    assert venue_trailing_fill(Side.SELL, "0.1", 1) == (5, Decimal(90))


def test_of_two_stops_touched_on_one_bar_the_nearer_fills() -> None:
    trailing = only(run(moves(), "L......", stop_loss=0.01, trailing=0.005))  # 99.5 above 99
    assert (trailing.exit_reason, trailing.exit_price) == ("trailing_stop", pytest.approx(99.5))
    fixed = only(run(moves(), "L......", stop_loss=0.005, trailing=0.01))
    assert (fixed.exit_reason, fixed.exit_price) == ("stop_loss", pytest.approx(99.5))


def test_short_trailing_stop_follows_the_lowest_price() -> None:
    falling = [(100, 101, 99, 100), (100, 100, 96, 97), (97, 98, 90, 91), (91, 96, 90, 95)]
    t = only(run(moves(falling), "F...", direction="long_short", trailing=0.05))
    # short at 100: level 105, then 100.8 (best 96), then 94.5 (best 90): bar 3's high 96 is through it
    assert (t.side, t.exit_reason, t.exit_ts, t.exit_price) == (
        "short",
        "trailing_stop",
        3 * DAY,
        pytest.approx(94.5),
    )


def test_trailing_must_be_a_fraction() -> None:
    with pytest.raises(InvalidInput, match="trailing must be a fraction"):
        BacktestConfig(trailing=1.0)


def test_short_stop_is_above_and_target_below() -> None:
    stop = only(run(stop_bars((101, 106, 100, 104)), "F...", direction="long_short", stop_loss=0.05))
    assert (stop.side, stop.exit_reason, stop.exit_price, stop.pnl) == (
        "short",
        "stop_loss",
        pytest.approx(105),
        pytest.approx(-50),
    )
    gap = only(run(stop_bars((108, 110, 107, 109)), "F...", direction="long_short", stop_loss=0.05))
    assert gap.exit_price == 108.0  # opened beyond the stop: the (worse) open
    take = only(run(stop_bars((99, 100, 94, 96)), "F...", direction="long_short", take_profit=0.05))
    assert (take.exit_reason, take.exit_price, take.pnl) == (
        "take_profit",
        pytest.approx(95),
        pytest.approx(50),
    )


def test_a_signal_exit_at_the_open_comes_before_that_bars_stop() -> None:
    t = only(run(stop_bars((99, 100, 90, 96)), "LF..", stop_loss=0.05))
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("signal", 2 * DAY, 99.0)


# End of data ------------------------------------------------------------------------------

END = make_bars([10, 10, 12], [10, 11, 13])


def test_open_position_is_closed_at_the_last_close() -> None:
    r = run(END, "L..", commission=0.01, close_at_end=True, fraction=0.5)
    t = only(r)
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("end", 2 * DAY, 13.0)
    assert t.commission == pytest.approx(5 + 6.5) and t.pnl == pytest.approx(150 - 11.5)
    assert r.equity.tolist() == pytest.approx([1000, 1045, 1138.5])
    assert r.metrics.win_rate == 1.0 and r.metrics.exposure == pytest.approx(2 / 3)


def test_open_position_can_be_reported_open() -> None:
    r = run(END, "L..", commission=0.01, close_at_end=False, fraction=0.5)
    t = only(r)
    assert (t.exit_reason, t.exit_ts, t.exit_price) == ("open", None, None)
    assert t.commission == pytest.approx(5) and t.pnl == pytest.approx(150 - 5)
    assert r.equity.tolist() == pytest.approx([1000, 1045, 1145])
    assert r.metrics.trades == 1 and r.metrics.win_rate == 0.0  # no closed trade yet
    assert r.metrics.exposure == pytest.approx(2 / 3)


@pytest.mark.parametrize("targets", ["....", "FFFF", "...L"])
def test_no_trades(targets: str) -> None:
    r = run(STEP, targets)
    m = r.metrics
    assert r.trades == [] and r.equity.tolist() == [1000.0] * 4
    assert (m.final_equity, m.total_return, m.sharpe, m.sortino, m.calmar, m.max_drawdown) == (
        1000,
        0,
        0,
        0,
        0,
        0,
    )
    assert (m.trades, m.win_rate, m.profit_factor, m.exposure, m.commissions) == (0, 0, 0, 0, 0)
    assert m.buy_and_hold_return == pytest.approx(0.5)


def test_no_new_trade_once_equity_is_gone() -> None:
    bars = make_bars([10, 10, 30, 30, 30, 30])
    r = run(bars, "F.L.F.", direction="long_short")  # short at 10, bought back at 30: equity -1000
    assert len(r.trades) == 1 and r.trades[0].pnl == pytest.approx(-2000)
    assert r.equity[-1] == pytest.approx(-1000) and r.metrics.annual_return == -1.0


def test_conventions_are_stated_with_the_runs_figures() -> None:
    text = run(RISING, "L.F..", commission=0.001, slippage_bps=5, stop_loss=0.02).conventions
    assert "bar t+1's open" in text and "0.001" in text and "5 bps" in text and "Stop-loss 0.02" in text
    assert "\n" not in text


# Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cash", 0),
        ("cash", -5.0),
        ("cash", float("nan")),
        ("cash", True),
        ("commission", 1.0),
        ("commission", -0.01),
        ("slippage_bps", -1),
        ("slippage_bps", 10_000),
        ("fraction", 0),
        ("fraction", 1.5),
        ("units", "lots"),
        ("direction", "short"),
        ("stop_loss", 0),
        ("stop_loss", 1.0),
        ("take_profit", 0),
        ("take_profit", "0.1"),
        ("bars_per_year", 0),
        ("close_at_end", "yes"),
    ],
)
def test_invalid_config(field: str, value: Any) -> None:
    with pytest.raises(InvalidInput, match=field):
        BacktestConfig(**{field: value})


def bars_kwargs(n: int = 3) -> dict[str, Any]:
    ones = np.full(n, 10.0)
    return {
        "ts": np.arange(n, dtype=np.int64),
        "open": ones,
        "high": ones + 1,
        "low": ones - 1,
        "close": ones,
        "volume": np.ones(n),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"close": np.full(2, 10.0)}, "differ in length"),
        ({"ts": np.array([0, 2, 2])}, "strictly increasing; bar 2"),
        ({"ts": np.array([0.0, 1.0, 2.0])}, "ts must be int64"),
        ({"open": np.array([10.0, -1.0, 10.0])}, "open must be positive"),
        ({"close": np.array([10.0, 10.0, np.nan])}, "close must be positive finite prices; bar 2"),
        ({"high": np.array([10.0, 9.5, 11.0])}, "bar 1 has open or close outside"),
        ({"low": np.array([9.0, 9.0, 10.5])}, "bar 2 has open or close outside"),
        ({"volume": np.array([1.0, -1.0, 1.0])}, "volume must be finite"),
        ({"close": np.ones((3, 1))}, "one-dimensional"),
        ({"close": ["a", "b", "c"]}, "close must be numbers"),
        (
            {k: np.array([]) for k in ("open", "high", "low", "close", "volume")}
            | {"ts": np.array([], np.int64)},
            "at least one bar",
        ),
    ],
)
def test_invalid_bars(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Bars(**(bars_kwargs() | change))


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (np.array([1, 2], dtype=np.int8), "one code per bar"),
        (np.array([1, 3, 2]), "codes 0"),
        (np.array([1, -1, 2]), "codes 0"),
        (np.array([1.0, 0.0, 2.0]), "integer codes"),
    ],
)
def test_invalid_targets(targets: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        run_backtest(Bars(**bars_kwargs()), targets, BacktestConfig())


def test_bars_accept_datetime64_and_are_read_only() -> None:
    kw = bars_kwargs() | {"ts": np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]")}
    bars = Bars(**kw)
    assert bars.ts.dtype == np.int64 and bars.ts[1] - bars.ts[0] == DAY
    with pytest.raises(ValueError):
        bars.close[0] = 1.0


def test_bars_from_candles_slice_and_tail() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    candles = [
        Candle(
            t0 + timedelta(hours=i),
            Decimal(10 + i),
            Decimal(11 + i),
            Decimal(9 + i),
            Decimal("10.5") + i,
            Decimal(100),
        )
        for i in range(4)
    ]
    bars = Bars.from_candles(candles)
    assert (
        len(bars) == 4
        and bars.ts[0] == int(t0.timestamp()) * 10**9
        and bars.close.tolist() == [10.5, 11.5, 12.5, 13.5]
    )
    assert (
        bars.slice(1, 3).close.tolist() == [11.5, 12.5] and bars.tail(2).ts.tolist() == bars.ts[2:].tolist()
    )
    assert len(bars.tail(10)) == 4
    with pytest.raises(InvalidInput, match="at least one bar"):
        Bars.from_candles([])


# The engine against a slow, obvious bar-by-bar simulation of the same rules -----------------


def simulate(
    bars: Bars, targets: np.ndarray[Any, Any], cfg: BacktestConfig
) -> tuple[list[tuple[Any, ...]], list[float]]:
    """Walk bar by bar: fills at the open, then stops/targets within the bar, then mark, then signal."""
    o, h, lo, c = bars.open.tolist(), bars.high.tolist(), bars.low.tolist(), bars.close.tolist()
    n, slip, fee = len(c), cfg.slippage_bps / 1e4, cfg.commission
    cash, wanted, next_wanted = cfg.cash, 0, 0
    pos: dict[str, Any] | None = None
    trades: list[tuple[Any, ...]] = []
    equity: list[float] = []

    def close_at(t: int, price: float, why: str) -> None:
        nonlocal cash, pos
        assert pos is not None
        s, size, pe = pos["side"], pos["size"], pos["pe"]
        px = price * (1 - s * slip)
        fees = fee * size * pe + fee * size * px
        pnl = s * size * (px - pe) - fees
        cash += pnl
        trades.append((pos["t"], t, s, size, pe, px, pnl, fees, why))
        pos = None

    for t in range(n):
        if t > 0 and next_wanted != wanted:
            wanted = next_wanted
            if pos is not None:
                close_at(t, o[t], "signal")
            if wanted != 0 and cash > 0:
                pe = o[t] * (1 + wanted * slip)
                size = min(cfg.fraction * cash / pe, cash / (pe * (1 + fee)))  # the commission paid too
                if cfg.units == "whole":
                    size = math.floor(size + 1e-9)
                if size > 0:
                    pos = {"t": t, "side": wanted, "size": size, "pe": pe}
        if pos is not None:
            s, pe = pos["side"], pos["pe"]
            worst, best = (lo[t], h[t]) if s > 0 else (h[t], lo[t])
            stop = pe * (1 - s * cfg.stop_loss) if cfg.stop_loss else None
            take = pe * (1 + s * cfg.take_profit) if cfg.take_profit else None
            if stop is not None and s * (worst - stop) <= 0:
                close_at(t, min(stop, o[t]) if s > 0 else max(stop, o[t]), "stop_loss")
            elif take is not None and s * (best - take) >= 0:
                close_at(t, take, "take_profit")
        if pos is not None and t == n - 1 and cfg.close_at_end:
            close_at(t, c[t], "end")
        if pos is None:
            equity.append(cash)
        else:
            equity.append(
                cash - fee * pos["size"] * pos["pe"] + pos["side"] * pos["size"] * (c[t] - pos["pe"])
            )
        if targets[t] != 2:
            next_wanted = 1 if targets[t] == 1 else (-1 if cfg.direction == "long_short" else 0)
    if pos is not None:
        s, size, pe = pos["side"], pos["size"], pos["pe"]
        trades.append(
            (
                pos["t"],
                None,
                s,
                size,
                pe,
                None,
                s * size * (c[-1] - pe) - fee * size * pe,
                fee * size * pe,
                "open",
            )
        )
    return trades, equity


def random_bars(rng: np.random.Generator, n: int) -> Bars:
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.01, n))  # gaps
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    return Bars(np.arange(n, dtype=np.int64) * DAY, open_, high, low, close, np.ones(n))


CONFIGS = [
    {},
    {"direction": "long_short"},
    {"commission": 0.002, "slippage_bps": 7, "fraction": 0.6},
    {"stop_loss": 0.02},
    {"take_profit": 0.03, "direction": "long_short", "close_at_end": False},
    {"stop_loss": 0.015, "take_profit": 0.015, "commission": 0.001, "slippage_bps": 3},
    {"units": "whole", "cash": 700.0, "stop_loss": 0.03, "direction": "long_short"},
    {"units": "whole", "cash": 100.0, "commission": 0.01},  # often 0 units: skipped entries
    {"direction": "long_short", "fraction": 1.0, "close_at_end": False, "slippage_bps": 50},
]


@pytest.mark.parametrize("raw", CONFIGS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_matches_bar_by_bar_simulation(raw: dict[str, Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    bars = random_bars(rng, 400)
    targets = np.repeat(rng.choice([0, 1, 2], size=80, p=[0.3, 0.3, 0.4]), 5)[:400].astype(np.int8)
    targets[rng.random(400) < 0.1] = 2
    cfg = BacktestConfig(**raw)
    got = run_backtest(bars, targets, cfg)
    want_trades, want_equity = simulate(bars, targets, cfg)
    assert len(want_trades) >= 3
    rows = [
        (
            t.entry_ts // DAY,
            None if t.exit_ts is None else t.exit_ts // DAY,
            1 if t.side == "long" else -1,
            t.size,
            t.entry_price,
            t.exit_price,
            t.pnl,
            t.commission,
            t.exit_reason,
        )
        for t in got.trades
    ]
    assert rows == [
        tuple(pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for v in w) for w in want_trades
    ]
    assert got.equity.tolist() == pytest.approx(want_equity, rel=1e-9)


# Strategies and grids ---------------------------------------------------------------------
