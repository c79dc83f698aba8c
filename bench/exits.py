"""Exit latency: from the price going through an exit's trigger to the exit order at the venue,
for an exit the venue holds and for one ASTS holds.

A running strategy (the real StrategyWorkflow on the Temporal dev server, the store in SQLite)
trades a steadily rising series on the Binance emulator through the real ccxt client, so it is
always long: after each exit it buys again, and its exits are set again. Its exits are a
stop-loss and a take-profit, which Binance holds as one OCO order list, and a trailing stop,
which ASTS holds and watches each cycle. Each round waits until the position is protected, then
pins the price 4 % lower, through the tight exit only:

- *venue-held*: the stop-loss is the tight one (2 %). The venue fires it on its own, at its
  next bar; the latency is the fill's time at the venue minus the moment of the pin. This is the
  baseline: what any exit the venue holds costs, measured in the same run.
- *workflow-held*: the trailing stop is the tight one (2 %). Between cycles the strategy watches
  it (``watch_exits``, once a second); once the price is through, it cancels the venue's pair
  and sends a market order through the order path. The latency is that order's arrival at the
  venue minus the moment of the pin, for each cycle interval: it should not depend on it.

    python -m bench.exits [--rounds 10] [--intervals 2,10,30] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from activities.contracts import HaltRequest, StrategyConfig
from bench.exchange import keys, venue
from bench.report import machine_line, percentile, write_section
from bench.stack import Stack, embedded_stack
from exchanges.ccxt_exchange import CcxtExchange
from exchanges.data import SeriesSpec
from exchanges.emulator import BinanceEmulator, serve_binance_emulator
from store import repo
from trading.exits import Exits
from worker.runtime import ensure_hub, launch_strategy, serve_workers
from workflows.strategy import StrategyWorkflow

SYMBOL = "RISE/USD"
BARS_PER_SECOND = 50.0  # the venue's bar, and so its trigger resolution: 20 ms
DROP = Decimal("0.96")  # each round pins the price 4 % lower: through the 2 % exit, not the 50 % one
TIGHT, WIDE = Decimal("0.02"), Decimal("0.5")
WAIT_S = 120.0
_JITTER = random.SystemRandom()


@dataclass(frozen=True)
class Variant:
    """Which exit is the tight one, and how often the strategy cycles."""

    name: str
    held_by: str  # "venue" or "workflow"
    interval_s: float

    @property
    def exits(self) -> Exits:
        """The same three exits in both variants; only which one the round's drop goes through differs."""
        venue_tight = self.held_by == "venue"
        return Exits(
            stop_loss=TIGHT if venue_tight else WIDE,
            take_profit=Decimal(5),
            trailing=WIDE if venue_tight else TIGHT,
        )


def rising_series(directory: Path, bars: int = 60_000) -> SeriesSpec:
    """A series that rises one cent a bar: the fast SMA is always above the slow one, so the
    strategy is always long (60 000 bars: 20 minutes of replay before it wraps)."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    lines = ["ts,open,high,low,close,volume"]
    for i in range(bars):
        price = Decimal(100) + Decimal(i) / 100
        ts = start + timedelta(hours=i)
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},{price},{price + Decimal('0.01')},{price},{price},1000")
    path = directory / "rise.csv"
    path.write_text("\n".join(lines) + "\n")
    return SeriesSpec(
        symbol=SYMBOL,
        path=path,
        base="RISE",
        quote="USD",
        min_qty=Decimal("0.001"),
        qty_step=Decimal("0.001"),
        price_step=Decimal("0.01"),
        min_notional=Decimal(10),
    )


async def _until(probe: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.005)
    raise RuntimeError(f"timed out waiting for {what}")


def _market_sells(emu: BinanceEmulator) -> list[dict[str, Any]]:
    return [o for o in emu.orders() if o["type"] == "MARKET" and o["side"] == "SELL"]


async def _protected(stack: Stack, emu: BinanceEmulator, cfg: StrategyConfig) -> bool:
    """The venue holds an open OCO pair and ASTS watches a trailing stop for the strategy."""
    listed = [o for o in emu.orders() if o["orderListId"] != -1 and o["status"] == "NEW"]
    if len(listed) != 2:
        return False
    async with stack.deps.sessions() as s:
        held = await repo.held_exits(s, strategy_id=cfg.strategy_id, watching=True)
    return len(held) == 1


async def _signal_left(stack: Stack, cfg: StrategyConfig) -> None:
    """After an exit the strategy enters again only once its signal has left long (the backtest's
    rule), which a series rising for ever never does: lift that as a signal leaving long would."""

    async def closed() -> bool:
        async with stack.deps.sessions() as s:
            return bool(await repo.stood_down(s, strategy_id=cfg.strategy_id))

    await _until(closed, "the exit to close the position")
    async with stack.deps.transaction() as s:
        await repo.set_stood_down(s, strategy_id=cfg.strategy_id, symbol=SYMBOL, direction="")


async def measure(
    stack: Stack, emu: BinanceEmulator, ex: CcxtExchange, v: Variant, rounds: int
) -> list[float]:
    """Milliseconds from the pin through the trigger to the exit at the venue, per round."""
    tq = f"bench-exits-{uuid.uuid4().hex[:6]}"
    cfg = StrategyConfig(
        strategy_id=f"exits-{v.held_by}-{uuid.uuid4().hex[:6]}",
        name="exit latency",
        type="sma_cross",
        exchange="binance",
        symbols=[SYMBOL],
        params={"fast": 2, "slow": 5, "size": "1"},
        interval_s=v.interval_s,
        exits=v.exits,
    )
    out: list[float] = []
    async with serve_workers(stack.client, stack.deps, task_queue=tq):
        hub = await ensure_hub(stack.client, hub_id=f"hub-{cfg.strategy_id}", task_queue=tq)
        handle = await launch_strategy(
            stack.client, stack.deps.sessions, cfg.model_copy(update={"hub_id": hub.id}), task_queue=tq
        )
        for _ in range(rounds):
            await _until(lambda: _protected(stack, emu, cfg), "the position to be protected")
            # at a random moment of the watch's second, as a market would move
            await asyncio.sleep(_JITTER.uniform(0.0, 1.5))
            last = (await ex.ticker(SYMBOL)).last
            venue_held = v.held_by == "venue"
            orders = (lambda: _stops_filled(emu)) if venue_held else (lambda: _market_sells(emu))
            before = len(orders())
            pinned = time.time()
            emu.pin_price(SYMBOL, last * DROP)
            done = await _until(functools.partial(_after, orders, before), f"the {v.name} exit at the venue")
            out.append(done["updateTime" if venue_held else "time"] - pinned * 1000)
            await _signal_left(stack, cfg)
        await handle.execute_update(StrategyWorkflow.stop, HaltRequest(reason="bench done"))
        await handle.result()
        await hub.terminate()
    return out


def _stops_filled(emu: BinanceEmulator) -> list[dict[str, Any]]:
    return [o for o in emu.orders() if o["type"].startswith("STOP_LOSS") and o["status"] == "FILLED"]


async def _after(orders: Any, before: int) -> dict[str, Any] | None:
    """The newest of ``orders()`` once there are more than ``before``."""
    now = orders()
    return now[-1] if len(now) > before else None


def write_report(results: list[tuple[Variant, list[float]]], path: Path, started: datetime) -> str:
    """This benchmark's section of BENCHMARKS.md: figures per variant and ratios to the venue-held one."""
    base = percentile(results[0][1], 0.5)
    lines = [
        machine_line(started),
        "A running strategy (StrategyWorkflow on the Temporal dev server, SQLite store) long on the",
        "Binance emulator through the real ccxt client, with a stop-loss and a take-profit the venue",
        "holds as one OCO order list and a trailing stop ASTS holds. Each round waits until the",
        "position is protected, then pins the price 4 % lower, through the one tight (2 %) exit.",
        "*Venue-held* (the baseline): the stop-loss, fired by the venue at its next bar",
        f"({1000 / BARS_PER_SECOND:.0f} ms in the emulator), timed from the pin to its fill at the venue.",
        "*Workflow-held*: the trailing stop, watched between cycles once a second (`watch_exits`),",
        "which cancels the venue's pair and sends a market order; timed from the pin (at a random",
        "moment, up to 1.5 s after the position is protected) to that order's",
        "arrival at the venue. It does not wait for the strategy's next cycle, so the figure does",
        "not grow with the cycle interval.",
        "",
        "| exit held by | cycle interval s | rounds | p50 ms | p95 ms | max ms | p50 vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v, ms in results:
        p50, p95, top = percentile(ms, 0.5), percentile(ms, 0.95), max(ms)
        lines.append(
            f"| {v.held_by} | {v.interval_s:g} | {len(ms)} | {p50:.0f} | {p95:.0f} | {top:.0f} | "
            f"{p50 / base:.1f} |"
        )
    return write_section(path, "Exit latency (`bench/exits.py`)", "\n".join(lines))


async def main(rounds: int, intervals: list[float], out: Path) -> None:
    """Measure the venue-held exit, then the workflow-held one at each interval; write the report."""
    started = datetime.now(UTC)
    variants = [Variant("venue-held", "venue", intervals[0])]
    variants += [Variant("workflow-held", "workflow", i) for i in intervals]
    results = []
    with tempfile.TemporaryDirectory(prefix="asts-bench-exits-") as tmp:
        spec = rising_series(Path(tmp))
        for v in variants:
            async with serve_binance_emulator(
                series={SYMBOL: spec},
                start_bar=10,
                bars_per_second=BARS_PER_SECOND,
                balances={"USD": Decimal(1_000_000)},
            ) as emu:
                os.environ["ASTS_EXCHANGE_BINANCE_API_KEY"] = emu.api_key
                os.environ["ASTS_EXCHANGE_BINANCE_SECRET"] = emu.secret
                ex = CcxtExchange("binance", venue(emu), keys(emu))
                try:
                    async with embedded_stack({}) as stack:
                        stack.deps.venues["binance"] = venue(emu)
                        ms = await measure(stack, emu, ex, v, rounds)
                finally:
                    await ex.close()
            print(
                f"{v.name} every {v.interval_s:g} s: p50 {percentile(ms, 0.5):.0f} ms, max {max(ms):.0f} ms"
            )
            results.append((v, ms))
    print(write_report(results, out, started))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10, help="exits fired per variant")
    parser.add_argument(
        "--intervals", default="2,10,30", help="cycle intervals (s) of the workflow-held runs"
    )
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    asyncio.run(main(args.rounds, [float(x) for x in args.intervals.split(",")], args.out))
