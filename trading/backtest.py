"""OptiCore's backtest engine: a strategy's per-bar targets over bars -> trades, equity, metrics.

Conventions (every result carries them, with the run's figures, in ``conventions``):

- Timing: the target computed on bar t's close fills at bar t+1's open; the last bar's
  target is never filled. HOLD keeps what is held. Equity is marked at every bar's close.
- Costs: ``commission`` x traded notional on every entry and on every exit; slippage moves
  every fill price (stop, target and end exits included) ``slippage_bps`` against the trader:
  buys fill higher, sells lower.
- Size: ``trading.sizing``, the live risk step's rule, at every entry: ``sizing`` (fixed quantity,
  fixed notional, fraction of equity, risk per trade), or ``fraction`` x equity at the fill
  (``units`` whole or fractional) when none is given; rounded down to ``qty_step``, never more than
  the cash held once the entry commission is paid (on top), and no trade when under ``min_qty`` or
  ``min_notional``.
- Direction: ``long`` (FLAT means no position) or ``long_short`` (FLAT means short); a
  reversal exits, then enters, at the same open.
- Stops and targets (``trading.triggers``' rules, which the venues follow too): levels are set
  from the entry fill price and checked against each bar's low/high from the entry bar on (the
  whole entry bar counts: its range comes after its open) up to the bar before a signal exit.
  A stop fills at the stop price, or at the bar's open when the bar opened beyond it (the worse
  of the two for the trader). A take-profit fills at its price, never better, even when the bar
  opened beyond it. When one bar touches both, the stop is assumed. After a stop or target exit
  the position stays flat until the wanted position changes (e.g. LONG -> FLAT -> LONG); a
  repeated or held LONG does not re-enter.
- Trailing stop: its level is the best price since entry (highest high for a long, lowest low for a
  short; the entry fill price to begin with) less (long) or plus (short) ``trailing`` of it. A bar
  is checked against the level as it stood before the bar, then its extreme moves the best price.
  It fills like a stop (its level, or the open when the bar opened beyond it); if a bar touches it
  and the fixed stop, the nearer level fills.
- End: a position still open after the last bar is closed at the last close (exit reason
  ``"end"``, commission and slippage paid), or, with ``close_at_end=False``, reported open and
  valued at the last close (its pnl is unrealised and net of the entry commission only).
- Bankruptcy: once equity is at or below zero no new trade is entered.
- The paper venue's fill model (``fill="close"``), so a backtest and a live run on the paper venue
  trade alike: the target computed on bar t's close fills at that close (the last bar's too);
  stops, targets and trailing stops rest from the next bar on, up to and including the bar of a
  signal exit (its range comes before its close); a take-profit, a limit order at the venue,
  fills at its price with no slippage; a trailing stop trails from the close it was set at. With
  ``price_step`` every market fill is rounded to the step against the trader (buys up, sells
  down) after slippage, and every level away from the market, as the venue rounds them.

Speed: targets, the wanted position, its changes and the stop/target checks are numpy over
bars; the only Python loop is over trades (sizing compounds on each trade's cash), and the
equity curve is rebuilt from the trades in one vectorised pass.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from trading.errors import InvalidInput
from trading.indicators import FloatArray
from trading.metrics import Metrics, compute_metrics
from trading.models import Candle, Direction
from trading.rules import CODE_HOLD, CODE_LONG
from trading.sizing import SIZINGS, Sizing, describe, entry_sizer, equity_fraction

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "Bars",
    "Metrics",
    "Trade",
    "compute_metrics",
    "conventions",
    "run_backtest",
    "sma_table",
]

Units = Literal["whole", "fractional"]
Fill = Literal["next_open", "close"]
ExitReason = Literal["signal", "stop_loss", "take_profit", "end", "open", "trailing_stop"]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REASONS: tuple[ExitReason, ...] = ("signal", "stop_loss", "take_profit", "end", "open", "trailing_stop")
_SIGNAL, _STOP, _TAKE, _END, _OPEN, _TRAIL = range(6)


def _num(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidInput(f"{name} must be a finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest fills, costs and sizes its trades (see the module docstring for the rules)."""

    cash: float = 10_000.0
    commission: float = 0.0  # fraction of traded notional, charged on entry and on exit
    slippage_bps: float = 0.0  # against the trader on every fill
    fraction: float = 1.0  # of current equity committed per entry, (0, 1]; when sizing is None
    units: Units = "fractional"  # of that fraction's entries
    direction: Direction = "long"  # long_short: a FLAT target means short
    stop_loss: float | None = None  # fraction below (long) / above (short) the entry price
    take_profit: float | None = None  # fraction above (long) / below (short) the entry price
    trailing: float | None = None  # fraction below (long) / above (short) the best price since entry
    close_at_end: bool = True  # False: an open position is reported open, valued at the last close
    bars_per_year: float = 252.0  # for annualised figures
    sizing: Sizing | None = None  # how every entry is sized (None: fraction and units above)
    qty_step: float | None = None  # the venue's quantity step (None: any quantity)
    min_qty: float = 0.0  # the venue's minimum order quantity
    min_notional: float = 0.0  # and its minimum order value
    fill: Fill = "next_open"  # "close": the paper venue's fill model (see the module docstring)
    price_step: float | None = None  # the venue's price step: fills and levels on it, against the trader
    _entry_sizing: Sizing = field(init=False, repr=False, compare=False)  # set by __post_init__

    def __post_init__(self) -> None:
        checks = [
            ("cash", self.cash, lambda x: x > 0, "positive"),
            ("commission", self.commission, lambda x: 0 <= x < 1, "a fraction in [0, 1)"),
            ("slippage_bps", self.slippage_bps, lambda x: 0 <= x < 10_000, "in [0, 10000) basis points"),
            ("fraction", self.fraction, lambda x: 0 < x <= 1, "in (0, 1]"),
            ("bars_per_year", self.bars_per_year, lambda x: x > 0, "positive"),
        ]
        if self.stop_loss is not None:
            checks.append(("stop_loss", self.stop_loss, lambda x: 0 < x < 1, "a fraction in (0, 1)"))
        if self.take_profit is not None:
            checks.append(("take_profit", self.take_profit, lambda x: x > 0, "a positive fraction"))
        if self.trailing is not None:
            checks.append(("trailing", self.trailing, lambda x: 0 < x < 1, "a fraction in (0, 1)"))
        if self.qty_step is not None:
            checks.append(("qty_step", self.qty_step, lambda x: x > 0, "positive"))
        if self.price_step is not None:
            checks.append(("price_step", self.price_step, lambda x: x > 0, "positive"))
        checks.append(("min_qty", self.min_qty, lambda x: x >= 0, "zero or more"))
        checks.append(("min_notional", self.min_notional, lambda x: x >= 0, "zero or more"))
        for name, value, ok, want in checks:
            if not ok(_num(name, value)):
                raise InvalidInput(f"{name} must be {want}, got {value!r}")
        if self.units not in ("whole", "fractional"):
            raise InvalidInput(f"units must be 'whole' or 'fractional', got {self.units!r}")
        if self.direction not in ("long", "long_short"):
            raise InvalidInput(f"direction must be 'long' or 'long_short', got {self.direction!r}")
        if self.fill not in ("next_open", "close"):
            raise InvalidInput(f"fill must be 'next_open' or 'close', got {self.fill!r}")
        if not isinstance(self.close_at_end, bool):
            raise InvalidInput(f"close_at_end must be true or false, got {self.close_at_end!r}")
        if self.sizing is not None and not isinstance(self.sizing, SIZINGS):
            raise InvalidInput(f"sizing must be one of {', '.join(t.__name__ for t in SIZINGS)}")
        sizing = self.sizing
        if sizing is None:
            sizing = equity_fraction(self.fraction, self.units)
        object.__setattr__(self, "_entry_sizing", sizing)

    @property
    def entry_sizing(self) -> Sizing:
        """The sizing of every entry: ``sizing``, or ``fraction`` of equity in ``units``."""
        return self._entry_sizing


def _ns(ts: Any) -> IntArray:
    a = np.asarray(ts)
    if a.dtype.kind == "M":
        a = a.astype("datetime64[ns]").view(np.int64)
    elif a.dtype.kind not in "iu":
        raise InvalidInput(f"bars: ts must be int64 epoch nanoseconds or datetime64, got {a.dtype}")
    a = np.array(a, dtype=np.int64)
    if np.any(a == np.iinfo(np.int64).min):
        raise InvalidInput("bars: ts has missing values (NaT)")
    return a


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.argmax(mask))


@dataclass(frozen=True, eq=False)
class Bars:
    """OHLCV bars as read-only arrays of one length: ``ts`` int64 epoch ns (bar open), prices float64.

    Validated: at least one bar, times strictly increasing, prices positive and finite with
    ``low <= open, close <= high``, volumes finite and not negative.
    """

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        cols: dict[str, npt.NDArray[Any]] = {"ts": _ns(self.ts)}
        for name in ("open", "high", "low", "close", "volume"):
            try:
                cols[name] = np.array(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidInput(f"bars: {name} must be numbers") from None
        for name, a in cols.items():
            if a.ndim != 1:
                raise InvalidInput(f"bars: {name} must be one-dimensional, got {a.ndim} dimensions")
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        lengths = {name: a.size for name, a in cols.items()}
        if len(set(lengths.values())) != 1:
            raise InvalidInput(f"bars: columns differ in length: {lengths}")
        if self.ts.size == 0:
            raise InvalidInput("bars: at least one bar is needed")
        if np.any(np.diff(self.ts) <= 0):
            i = _first(np.diff(self.ts) <= 0) + 1
            raise InvalidInput(f"bars: ts must be strictly increasing; bar {i} is not after bar {i - 1}")
        for name in ("open", "high", "low", "close"):
            bad = ~(np.isfinite(cols[name]) & (cols[name] > 0))
            if bad.any():
                raise InvalidInput(f"bars: {name} must be positive finite prices; bar {_first(bad)} is not")
        bad = ~(np.isfinite(self.volume) & (self.volume >= 0))
        if bad.any():
            raise InvalidInput(f"bars: volume must be finite and not negative; bar {_first(bad)} is not")
        bad = (self.high < np.maximum(self.open, self.close)) | (self.low > np.minimum(self.open, self.close))
        if bad.any():
            raise InvalidInput(f"bars: bar {_first(bad)} has open or close outside its low..high range")

    def __iter__(self) -> Iterator[npt.NDArray[Any]]:
        """The columns in order (``ts, open, high, low, close, volume = bars``)."""
        return iter((self.ts, self.open, self.high, self.low, self.close, self.volume))

    @classmethod
    def from_candles(cls, candles: Sequence[Candle]) -> Bars:
        """Bars from candles (naive times are read as UTC)."""
        us = timedelta(microseconds=1)
        ts = [((c.ts if c.ts.tzinfo else c.ts.replace(tzinfo=UTC)) - _EPOCH) // us * 1000 for c in candles]
        px = np.array([(c.open, c.high, c.low, c.close, c.volume) for c in candles], dtype=np.float64)
        px = px.reshape(-1, 5)
        return cls(
            ts=np.array(ts, dtype=np.int64),
            open=px[:, 0],
            high=px[:, 1],
            low=px[:, 2],
            close=px[:, 3],
            volume=px[:, 4],
        )

    def __len__(self) -> int:
        return int(self.ts.size)

    def slice(self, start: int, stop: int) -> Bars:
        """Bars ``[start, stop)`` (Python slice semantics)."""
        s = builtins.slice(start, stop)
        return Bars(self.ts[s], self.open[s], self.high[s], self.low[s], self.close[s], self.volume[s])

    def tail(self, n: int) -> Bars:
        """The last ``n`` bars (all of them when there are fewer)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInput(f"tail needs a whole number of bars >= 1, got {n!r}")
        return self.slice(max(len(self) - n, 0), len(self))


@dataclass(frozen=True)
class Trade:
    """One round trip, or the position still open: times in epoch ns, fill prices with slippage,
    ``pnl`` net of ``commission`` (entry plus exit)."""

    entry_ts: int
    exit_ts: int | None  # None while open
    side: Literal["long", "short"]
    size: float
    entry_price: float
    exit_price: float | None  # None while open
    pnl: float
    commission: float
    exit_reason: ExitReason

    @property
    def entry_time(self) -> datetime:
        """Entry bar's open time (UTC)."""
        return _EPOCH + timedelta(microseconds=self.entry_ts // 1000)

    @property
    def exit_time(self) -> datetime | None:
        """Exit bar's open time (UTC), None while open."""
        return None if self.exit_ts is None else _EPOCH + timedelta(microseconds=self.exit_ts // 1000)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Figures, trades, the equity at every bar's close, and the fill rules that produced them."""

    metrics: Metrics
    trades: list[Trade]
    equity: FloatArray
    conventions: str


def conventions(cfg: BacktestConfig) -> str:
    """One paragraph stating the fill rules and this configuration's figures."""
    stop = f"{cfg.stop_loss:.4g}" if cfg.stop_loss is not None else "none"
    take = f"{cfg.take_profit:.4g}" if cfg.take_profit is not None else "none"
    trail = f"{cfg.trailing:.4g}" if cfg.trailing is not None else "none"
    end = (
        "closed at the last close (exit reason 'end', commission and slippage paid)"
        if cfg.close_at_end
        else "reported open and valued at the last close"
    )
    timing = (
        "The paper venue's fill model: a target computed on bar t's close fills at that close (the "
        "last bar's too); stops, targets and trailing stops rest from bar t+1 on, through the bar "
        "of a signal exit (its range comes before its close); a take-profit fills at its price with "
        "no slippage; a trailing stop trails from the close it was set at. "
        if cfg.fill == "close"
        else "A target computed on bar t's close fills at bar t+1's open (the last bar's target is "
        "never filled); "
    )
    step = (
        f"Fills and levels on a price step of {cfg.price_step:g}, against the trader. "
        if cfg.price_step is not None
        else ""
    )
    return (
        timing
        + "HOLD keeps the position; equity is marked at every close. "
        + step
        + f"Commission: {cfg.commission:.6g} x traded notional on every entry and every exit; slippage: "
        f"{cfg.slippage_bps:g} bps against the trader on every fill (buys higher, sells lower). "
        f"Size: {describe(cfg.entry_sizing)} at the entry fill price"
        + (f", rounded down to a step of {cfg.qty_step:g}" if cfg.qty_step is not None else "")
        + ", never more than the cash held once the entry commission is paid (on top)"
        + (f"; no trade under {cfg.min_qty:g} units" if cfg.min_qty else "")
        + (f" or under {cfg.min_notional:g} of value" if cfg.min_notional else "")
        + "; a size of 0 is no trade. "
        + (
            "Direction long/short: FLAT means short; a reversal exits then enters at the same open. "
            if cfg.direction == "long_short"
            else "Direction long only: FLAT means no position. "
        )
        + f"Stop-loss {stop}, take-profit {take} (fractions of the entry fill price), checked against "
        "each bar's low/high from the entry bar on (its whole range counts) up to the bar before a "
        "signal exit; a stop fills at its price or at the bar's open if the bar opened beyond it (the "
        "worse), a take-profit at its price, never better; if a bar touches both, the stop is assumed; "
        "after a stop or target exit the position stays flat until the wanted position changes. "
        f"Trailing stop {trail} (a fraction of the best price since entry, the entry fill price to "
        "begin with), checked against each bar at the level before that bar moved the best price; "
        "it fills like a stop, and of two stops touched on one bar the nearer fills. "
        f"A position open after the last bar is {end}. No new trade once equity is at or below zero."
    )


def _wanted(
    codes: npt.NDArray[np.int8], direction: Direction, *, at_close: bool = False
) -> npt.NDArray[np.int8]:
    """Position wanted during each bar, after its open: +1 long, -1 short, 0 none (bar 0: none);
    ``at_close``: after each bar's close instead."""
    n = codes.size
    value = np.where(codes == CODE_LONG, 1, -1 if direction == "long_short" else 0).astype(np.int8)
    last = np.where(codes != CODE_HOLD, np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    held = np.where(last >= 0, value[last], 0).astype(np.int8)
    if at_close:
        return held
    want = np.zeros(n, dtype=np.int8)
    want[1:] = held[:-1]
    return want


def _on_step(price: FloatArray, step: float | None, up: npt.NDArray[np.bool_] | bool) -> FloatArray:
    """``price`` on the venue's price step, rounded up where ``up`` and down elsewhere (no step: as is)."""
    if step is None:
        return price
    ticks = np.round(price / step, 6)  # float noise off before rounding to whole ticks
    return np.where(up, np.ceil(ticks), np.floor(ticks)) * step


def _check_codes(bars: Bars, targets: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
    t = np.asarray(targets)
    if t.ndim != 1 or t.size != len(bars):
        raise InvalidInput(f"targets must have one code per bar ({len(bars)}), got shape {t.shape}")
    if t.dtype.kind not in "iu":
        raise InvalidInput(f"targets must be integer codes (0 flat, 1 long, 2 hold), got {t.dtype}")
    if t.size and (t.min() < 0 or t.max() > CODE_HOLD):
        raise InvalidInput("targets must be codes 0 (flat), 1 (long) or 2 (hold)")
    return t.astype(np.int8, copy=False)


@dataclass
class _Plan:
    """Every candidate trade, before sizing: entry bar, exit bar, side, fill prices, exit reason."""

    entry: IntArray
    exit: IntArray  # bar of the exit fill; n for a trade left open
    side: FloatArray
    entry_price: FloatArray
    exit_price: FloatArray  # with slippage; the last close for a trade left open
    reason: npt.NDArray[np.int8]


def _plan(bars: Bars, codes: npt.NDArray[np.int8], cfg: BacktestConfig) -> _Plan:
    n = len(bars)
    at_close = cfg.fill == "close"
    want = _wanted(codes, cfg.direction, at_close=at_close)
    change = np.flatnonzero(want != np.concatenate(([0], want[:-1])))  # bar 0 too: from none
    until = np.append(change[1:], n)  # the next change: where a signal exit fills
    is_entry = want[change] != 0
    entry, until = change[is_entry], until[is_entry]
    side = want[entry].astype(np.float64)
    slip = cfg.slippage_bps / 10_000.0
    fills = bars.close if at_close else bars.open
    pe = _on_step(fills[entry] * (1.0 + side * slip), cfg.price_step, side > 0)
    exit_ = until.copy()
    raw = fills[np.minimum(until, n - 1)]
    reason = np.full(entry.size, _SIGNAL, dtype=np.int8)
    at_end = until == n
    raw[at_end] = bars.close[-1]
    reason[at_end] = _END if cfg.close_at_end else _OPEN
    exit_[at_end] = n - 1 if cfg.close_at_end else n
    if cfg.stop_loss is not None or cfg.take_profit is not None or cfg.trailing is not None:
        # at the close, exits rest from the next bar and see the exit bar's range before its close
        first, last = (entry + 1, np.minimum(until + 1, n)) if at_close else (entry, until)
        seed = fills[entry] if at_close else pe  # a venue trails from the price the stop was set at
        _stops(bars, cfg, first, last, side, pe, exit_, raw, reason, seed=seed)
    slipped = _on_step(raw * (1.0 - side * slip), cfg.price_step, side < 0)
    limit_fill = (reason == _TAKE) if at_close else np.zeros(reason.size, dtype=bool)
    px = np.where((reason == _OPEN) | limit_fill, raw, slipped)
    return _Plan(entry, exit_, side, pe, px, reason)


def _stops(
    bars: Bars,
    cfg: BacktestConfig,
    entry: IntArray,
    until: IntArray,
    side: FloatArray,
    pe: FloatArray,
    exit_: IntArray,
    raw: FloatArray,
    reason: npt.NDArray[np.int8],
    *,
    seed: FloatArray,
) -> None:
    """First stop, trailing stop or target touch of each trade over its bars ``[entry, until)``
    (levels from the entry fill price ``pe``, on the price step; a trailing stop from ``seed``).

    The rules are ``trading.triggers``': a trailing level is the best price before the bar (the
    entry fill price to begin with) less (long) or plus (short) the trail, so a bar's own extreme
    never tightens the level it is checked against; when both stops are touched on one bar the
    nearer one (the first a falling price meets, for a long) is the one that fills.
    """
    nan = np.full(entry.size, np.nan)  # a missing level is never touched
    long_ = side > 0
    step = cfg.price_step
    stop = _on_step(pe * (1.0 - side * cfg.stop_loss), step, ~long_) if cfg.stop_loss is not None else nan
    take = _on_step(pe * (1.0 + side * cfg.take_profit), step, long_) if cfg.take_profit is not None else nan
    lens = until - entry
    k = np.repeat(np.arange(entry.size), lens)  # trade of each held bar
    j = np.arange(k.size) - np.repeat(np.cumsum(lens) - lens - entry, lens)  # bar index
    s = side[k]
    long = s > 0
    adverse = np.where(long, bars.low[j], bars.high[j])
    favourable = np.where(long, bars.high[j], bars.low[j])
    hit_fixed = s * (adverse - stop[k]) <= 0
    trail = None
    if cfg.trailing is not None:
        trail = _trail_levels(cfg.trailing, favourable, lens, side, seed, step)
    hit_trail = s * (adverse - trail) <= 0 if trail is not None else np.zeros(k.size, dtype=bool)
    hit_take = s * (favourable - take[k]) >= 0
    hits = np.flatnonzero(hit_fixed | hit_trail | hit_take)
    if hits.size == 0:
        return
    first = hits[np.concatenate(([True], k[hits][1:] != k[hits][:-1]))]
    tk, tj = k[first], j[first]
    fixed, trailed = hit_fixed[first], hit_trail[first]
    sd = side[tk]
    trail_at = trail[first] if trail is not None else nan[tk]
    # the stop level that fills: the nearer of the two when both are touched
    both = fixed & trailed
    nearer_trail = sd * (trail_at - stop[tk]) > 0
    use_trail = trailed & (~both | nearer_trail)
    level = np.where(use_trail, trail_at, stop[tk])
    stopped = fixed | trailed
    o = bars.open[tj]
    gapped = sd * (o - level) < 0  # opened beyond the stop: the open is worse
    exit_[tk] = tj
    reason[tk] = np.where(stopped, np.where(use_trail, _TRAIL, _STOP), _TAKE)
    raw[tk] = np.where(stopped, np.where(gapped, o, level), take[tk])


def _trail_levels(
    fraction: float,
    favourable: FloatArray,
    lens: IntArray,
    side: FloatArray,
    pe: FloatArray,
    step: float | None = None,
) -> FloatArray:
    """The trailing level of every held bar: the best price before it (seeded with ``pe``) moved by
    ``fraction`` against the trade, on ``step`` away from the market. One pass per trade (the loop
    is over trades)."""
    out = np.empty(favourable.size)
    starts = np.cumsum(lens) - lens
    for t in range(lens.size):
        a, b = int(starts[t]), int(starts[t] + lens[t])
        if a == b:
            continue
        best = np.concatenate(([pe[t]], favourable[a : b - 1]))
        best = np.maximum.accumulate(best) if side[t] > 0 else np.minimum.accumulate(best)
        out[a:b] = _on_step(best * (1.0 - side[t] * fraction), step, side[t] < 0)
    return out


def run_backtest(bars: Bars, targets: npt.NDArray[np.int8], cfg: BacktestConfig) -> BacktestResult:
    """Trade ``targets`` (one code per bar: 0 flat, 1 long, 2 hold, as ``StrategySpec.targets``)."""
    codes = _check_codes(bars, targets)
    n = len(bars)
    plan = _plan(bars, codes, cfg)
    entry_ts = bars.ts[plan.entry].tolist()
    exit_ts = bars.ts[np.minimum(plan.exit, n - 1)].tolist()
    cash, fee = cfg.cash, cfg.commission
    # The live risk step's rule, in float, built once: called once per trade.
    size_of = entry_sizer(
        cfg.entry_sizing,
        number=float,
        commission=fee,
        step=cfg.qty_step,
        min_qty=cfg.min_qty,
        min_notional=cfg.min_notional,
    )
    trades: list[Trade] = []
    done: list[int] = []  # which planned trades were taken
    sizes: list[float] = []
    bases: list[float] = []  # cash after the entry commission
    after: list[float] = []  # cash after the exit
    for i, (s, pe, px, why) in enumerate(
        zip(
            plan.side.tolist(),
            plan.entry_price.tolist(),
            plan.exit_price.tolist(),
            plan.reason.tolist(),
            strict=True,
        )
    ):
        if cash <= 0:
            break
        size = size_of(cash, cash, pe, 0.0)[0]  # equity is cash: nothing is held at an entry
        if size <= 0:
            continue
        fee_in = fee * size * pe
        is_open = why == _OPEN
        fees = fee_in if is_open else fee_in + fee * size * px
        pnl = s * size * (px - pe) - fees
        done.append(i)
        sizes.append(size)
        bases.append(cash - fee_in)
        after.append(cash + pnl)
        # Positional, in field order (entry_ts, exit_ts, side, size, entry_price, exit_price, pnl,
        # commission, exit_reason): keywords cost a frozen dataclass half again as much per trade.
        trades.append(
            Trade(
                entry_ts[i],
                None if is_open else exit_ts[i],
                "long" if s > 0 else "short",
                size,
                pe,
                None if is_open else px,
                pnl,
                fees,
                _REASONS[why],
            )
        )
        if not is_open:
            cash += pnl
    equity = _equity(bars, cfg.cash, plan, np.array(done, dtype=np.int64), sizes, bases, after)
    return BacktestResult(compute_metrics(equity, trades, bars, cfg), trades, equity, conventions(cfg))


def _equity(
    bars: Bars,
    cash: float,
    plan: _Plan,
    done: IntArray,
    sizes: list[float],
    bases: list[float],
    after: list[float],
) -> FloatArray:
    """Equity at every close: inside a trade, cash after the entry fee plus the marked position;
    elsewhere, the cash left by the last trade that exited at or before that bar."""
    n = len(bars)
    if done.size == 0:
        return np.full(n, cash)
    entry, held_to = plan.entry[done], plan.exit[done]  # held at the closes of [entry, held_to)
    q = plan.side[done] * np.array(sizes)
    pe = plan.entry_price[done]
    bars_i = np.arange(n)
    k = np.searchsorted(entry, bars_i, side="right") - 1
    kk = np.maximum(k, 0)
    inside = (k >= 0) & (bars_i < held_to[kk])
    closed = plan.reason[done] != _OPEN
    exits = np.concatenate(([-1], held_to[closed]))  # -1: the starting cash, before any bar
    levels = np.concatenate(([cash], np.array(after)[closed]))
    level = levels[np.searchsorted(exits, bars_i, side="right") - 1]
    return np.where(inside, np.array(bases)[kk] + q[kk] * (bars.close - pe[kk]), level)


def sma_table(closes: FloatArray, windows: Iterable[int]) -> dict[int, FloatArray]:
    """The SMA of every window from one cumulative sum (bit-identical to ``indicators.sma``)."""
    x = np.asarray(closes, dtype=np.float64)
    csum = np.cumsum(np.concatenate(([0.0], x)))
    out: dict[int, FloatArray] = {}
    for w in windows:
        if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1:
            raise InvalidInput(f"SMA windows must be integers >= 1, got {w!r}")
        w = int(w)
        if w not in out:
            a = np.full(x.shape, np.nan)
            if x.size >= w:
                a[w - 1 :] = (csum[w:] - csum[:-w]) / w
            out[w] = a
    return out
