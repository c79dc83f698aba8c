"""The live/backtest parity harness.

A strategy runs live on the paper venue in lockstep with its bars: each of its cycles is the real
CycleWorkflow on the Temporal dev server with the real activities and store, and the venue moves
one bar on only once the cycle has ended. Then the backtester runs the same bars with the paper
venue's fill model (``fill="close"`` on the venue's price step). Both runs are reduced to their
fills (bar, side, quantity, price) and their final equity at the last close, to be compared to the
cent.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from temporalio.client import Client

from activities.contracts import CycleInput, StrategyConfig
from activities.deps import Deps
from asts.bars import Bars
from asts.engine import targets_of
from asts.registry import current
from exchanges.data import SeriesSpec, bundled_series
from exchanges.paper import PaperExchange
from exchanges.paper_margin import PaperMargin
from store import repo
from tests.conftest import running_worker
from tests.exchanges.conftest import EPOCH, FakeClock
from tests.factories import insert_strategy
from trading.backtest import BacktestConfig, run_backtest
from trading.rules import CODE_HOLD
from trading.sizing import strategy_sizing
from workflows.cycle import CycleWorkflow

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Venue:
    """The paper venue both runs trade: its series, where the replay starts, its costs."""

    symbol: str = "MSFT/USD"
    start_bar: int = 200
    bars: int = 60
    cash: Decimal = Decimal(100_000)
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(5)

    @property
    def spec(self) -> SeriesSpec:
        """The bundled series of the symbol."""
        return bundled_series()[self.symbol]


@dataclass(frozen=True, order=True)
class Fill:
    """One fill: on which bar of the series, which way, how much, at what price (to the cent)."""

    bar: int
    side: str
    qty: Decimal
    price: Decimal


@dataclass
class Run:
    """What a run traded and what it ended with."""

    fills: list[Fill]
    equity: Decimal
    exits: Counter[str] = field(default_factory=Counter)  # how each position was closed
    gaps: int | None = None  # stops filled at a bar's open beyond them (counted in the backtest)

    def row(self) -> str:
        """The run in one line: fills, exits by kind, final equity."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.exits.items())) or "none"
        gaps = "" if self.gaps is None else f" ({self.gaps} through a gap)"
        return f"{len(self.fills)} fills, exits: {kinds}{gaps}, equity {self.equity}"


def _cent(x: Decimal | float) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


async def live(client: Client, deps: Deps, home: Path, cfg: StrategyConfig, v: Venue) -> Run:
    """Run ``cfg`` live for ``v.bars`` bars, one cycle per bar; return its fills and equity."""
    clock = FakeClock(EPOCH)
    venue = PaperExchange(
        home / f"parity-{cfg.strategy_id}.db",
        series={v.symbol: v.spec},
        bars_per_second=1.0,
        start_bar=v.start_bar,
        fee_rate=v.fee_rate,
        slippage_bps=v.slippage_bps,
        initial_balances={v.spec.quote: v.cash},
        clock=clock,
        # shorts on a margin account; no interest, which the backtest does not charge
        margin=PaperMargin(borrow_rate=Decimal(0)) if cfg.direction == "long_short" else None,
    )
    deps._exchanges["paper"] = venue  # the deps close it
    await insert_strategy(deps, cfg)
    run = uuid.uuid4().hex[:6]
    async with running_worker(client, deps) as tq:
        for tick in range(v.bars):
            clock.now = EPOCH + timedelta(seconds=tick)  # the venue's bar start_bar + tick
            await client.execute_workflow(
                CycleWorkflow.run,
                CycleInput(config=cfg, cycle=tick + 1),
                id=f"parity-{run}-{tick + 1}",
                task_queue=tq,
            )
    fills = [
        Fill(v.start_bar + round((f.ts - EPOCH).total_seconds()), f.side.value, f.qty, _cent(f.price))
        for o in await venue.orders()
        for f in o.fills
    ]
    balances = await venue.balance()
    last = (await venue.ticker(v.symbol)).last
    equity = balances.get(v.spec.quote, Decimal(0)) + balances.get(v.spec.base, Decimal(0)) * last
    async with deps.sessions() as s:
        kinds = {
            o.client_order_id: o.exit_kind for o in await repo.list_orders(s, strategy_id=cfg.strategy_id)
        }
    exits: Counter[str] = Counter()
    held = Decimal(0)
    filled = [o for o in await venue.orders() if o.fills]
    for o in sorted(filled, key=lambda o: (o.fills[0].ts, o.venue_order_id)):  # one that shrinks or turns it
        signed = o.filled_qty if o.side.value == "buy" else -o.filled_qty
        if held and (held > 0) != (signed > 0):
            exits[kinds.get(o.client_order_id) or "signal"] += 1
        held += signed
    return Run(_merged(fills), _cent(equity), exits)


def _merged(fills: list[Fill]) -> list[Fill]:
    """The fills, sorted, with those of one bar, side and price summed: a reversal is one order
    live (close and open at once) and an exit and an entry in the backtest, at one price."""
    total: dict[tuple[int, str, Decimal], Decimal] = {}
    for f in fills:
        key = (f.bar, f.side, f.price)
        total[key] = total.get(key, Decimal(0)) + f.qty
    return sorted(Fill(bar, side, qty, price) for (bar, side, price), qty in total.items())


def backtest(cfg: StrategyConfig, v: Venue) -> Run:
    """Backtest ``cfg`` over the same bars with the paper venue's fill model."""
    kind = current().get(cfg.type)
    candles = v.spec.candles()[: v.start_bar + v.bars]
    bars = Bars.from_candles(candles, v.symbol)
    targets = targets_of(kind, bars, cfg.params).copy()
    targets[: v.start_bar] = CODE_HOLD  # the live run starts at start_bar, flat
    exits = cfg.exits
    spec = v.spec
    result = run_backtest(
        bars.columns,
        targets,
        BacktestConfig(
            cash=float(v.cash),
            commission=float(v.fee_rate),
            slippage_bps=float(v.slippage_bps),
            units="whole",
            sizing=strategy_sizing(kind.size_of(cfg.params), cfg.sizing),
            qty_step=float(spec.qty_step),
            min_qty=float(spec.min_qty),
            min_notional=float(spec.min_notional),
            stop_loss=float(exits.stop_loss) if exits and exits.stop_loss is not None else None,
            take_profit=float(exits.take_profit) if exits and exits.take_profit is not None else None,
            trailing=float(exits.trailing) if exits and exits.trailing is not None else None,
            close_at_end=False,
            direction=cfg.direction,
            fill="close",
            price_step=float(spec.price_step),
        ),
    )
    index = {int(ts): i for i, ts in enumerate(bars.columns.ts.tolist())}
    fills: list[Fill] = []
    exit_kinds: Counter[str] = Counter()
    kinds = {"stop_loss": "stop_loss", "take_profit": "take_profit", "trailing_stop": "trailing"}
    step, gaps = float(spec.price_step), 0
    for t in result.trades:
        qty = Decimal(str(t.size)).normalize()
        opens, closes = ("buy", "sell") if t.side == "long" else ("sell", "buy")
        fills.append(Fill(index[int(t.entry_ts)], opens, qty, _cent(t.entry_price)))
        if t.exit_ts is not None and t.exit_price is not None:
            fills.append(Fill(index[int(t.exit_ts)], closes, qty, _cent(t.exit_price)))
            exit_kinds[kinds.get(t.exit_reason, "signal")] += 1
            if t.exit_reason in ("stop_loss", "trailing_stop"):
                opened = bars.columns.open[index[int(t.exit_ts)]] * (1 - float(v.slippage_bps) / 10_000)
                gaps += abs(t.exit_price - math.floor(round(opened / step, 6)) * step) < step / 2
    return Run(_merged(fills), _cent(result.equity[-1]), exit_kinds, gaps)
