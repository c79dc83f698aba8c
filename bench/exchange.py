"""Venue path: an order's round trip through ASTS over the exchange's own answer, and a 500-symbol scan.

Orders. The baseline is the Binance emulator answering a signed market order sent straight with
httpx (the venue's own time plus one HTTP exchange on 127.0.0.1). Then the same order through
the ccxt client alone, through our adapter (market rules, client order id), and through the
whole path: an OrderWorkflow on the real Temporal dev server whose place step runs as a local
activity (as strategies run it) or as a regular activity, with every database write (the send
record, the gate, the order, its fill, the position). ccxt's own throttle is off, so the
figures are our overhead, not the venue's request allowance.

Scan. The baseline is one raw request for every ticker of a 500-symbol universe. Then ScanPulse
ranking it (one markets and one tickers call), ranking and refining the top 20 from their bars
(20 bar requests, 8 at a time), and, for contrast, asking the 500 tickers one by one.

    python -m bench.exchange [--runs 100] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import ccxt.async_support as ccxt_async
import httpx

from activities.contracts import OrderPlan, StrategyConfig
from activities.deps import utcnow
from activities.scan import scan_universe
from activities.status import record_strategy
from bench.report import machine_line, percentile, timed, write_section
from bench.stack import Stack, embedded_stack
from exchanges.ccxt_exchange import CcxtExchange, VenueConfig
from exchanges.credentials import Credentials
from exchanges.emulator import BinanceEmulator, emulator_urls, serve_binance_emulator
from trading.models import OrderRequest, OrderType, Side
from trading.scanner import ScanCriteria
from worker.runtime import serve_workers
from workflows.options import order_workflow_id, strategy_workflow_id
from workflows.order import OrderWorkflow

STILL = 0.01  # bars per second: prices stand still while we measure
OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False}


def row(name: str, ms: list[float], base: list[float] | None, note: str = "") -> str:
    p50, p95 = percentile(ms, 0.5), percentile(ms, 0.95)
    if base is None:
        return f"| {name} | {len(ms)} | {p50:.2f} | {p95:.2f} | 1.00 | | {note} |"
    b50, b95 = percentile(base, 0.5), percentile(base, 0.95)
    return (
        f"| {name} | {len(ms)} | {p50:.2f} | {p95:.2f} | {p50 / b50:.2f} | "
        f"{p50 - b50:+.2f} / {p95 - b95:+.2f} | {note} |"
    )


def venue(emu: BinanceEmulator) -> VenueConfig:
    return VenueConfig(ccxt_id="binance", api_url=emu.url, timeframe="1h", rate_limit_ms=0)


def keys(emu: BinanceEmulator) -> Credentials:
    return Credentials.model_validate({"api_key": emu.api_key, "secret": emu.secret})


class Ids:
    """Fresh client order ids."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.n = prefix, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n}"


async def raw_orders(emu: BinanceEmulator, runs: int) -> list[float]:
    """Signed market orders sent straight to the emulator (the baseline)."""
    ids = Ids("raw")
    async with httpx.AsyncClient(base_url=emu.url, headers={"X-MBX-APIKEY": emu.api_key}) as http:

        async def one() -> None:
            query = urlencode(
                {
                    "symbol": "MSFTUSD",
                    "side": "BUY",
                    "type": "MARKET",
                    "quantity": "1",
                    "newClientOrderId": ids(),
                    "newOrderRespType": "FULL",
                    "timestamp": int(time.time() * 1000),
                    "recvWindow": 5000,
                }
            )
            sig = hmac.new(emu.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
            r = await http.post(
                "/api/v3/order",
                content=f"{query}&signature={sig}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            r.raise_for_status()

        return await timed(one, runs)


async def ccxt_orders(emu: BinanceEmulator, runs: int) -> list[float]:
    ids = Ids("ccxt")
    ex: Any = ccxt_async.binance(
        {"apiKey": emu.api_key, "secret": emu.secret, "enableRateLimit": False, "options": dict(OPTIONS)}
    )
    ex.urls["api"] = emulator_urls(ex.urls["api"], emu.url)
    try:
        await ex.load_markets()
        return await timed(
            lambda: ex.create_order("MSFT/USD", "market", "buy", 1, None, {"newClientOrderId": ids()}), runs
        )
    finally:
        await ex.close()


async def adapter_orders(emu: BinanceEmulator, runs: int) -> list[float]:
    ids = Ids("adp")
    ex = CcxtExchange("binance", venue(emu), keys(emu))
    try:
        await ex.markets()
        return await timed(
            lambda: ex.create_order(
                OrderRequest(
                    client_order_id=ids(),
                    symbol="MSFT/USD",
                    side=Side.BUY,
                    type=OrderType.MARKET,
                    qty=Decimal(1),
                    ref_price=Decimal(20),
                    sent_at=utcnow(),
                )
            ),
            runs,
        )
    finally:
        await ex.close()


async def workflow_orders(stack: Stack, mode: str, runs: int, exchange: str = "binance") -> list[float]:
    """OrderWorkflow round trips: start, place (lookup, send record, gate, order, record), result."""
    sid = f"bx{mode[0]}{uuid.uuid4().hex[:6]}"
    cfg = StrategyConfig(
        strategy_id=sid,
        name="bench",
        type="sma_cross",
        exchange=exchange,
        symbols=["MSFT/USD"],
        interval_s=60,
        hub_id=f"nohub-{sid}",
    )
    async with stack.deps.sessions.begin() as s:
        await record_strategy(s, cfg, workflow_id=strategy_workflow_id(sid), now=utcnow())
    cycle = 0
    tq = f"bench-ex-{uuid.uuid4().hex[:8]}"

    async def one() -> None:
        nonlocal cycle
        cycle += 1
        coid = f"{sid}-c{cycle}-l0"
        plan = OrderPlan(
            strategy_id=sid,
            exchange=exchange,
            cycle=cycle,
            leg=0,
            client_order_id=coid,
            symbol="MSFT/USD",
            side="buy",
            qty=Decimal(1),
            ref_price=Decimal(20),
            step_mode=mode,  # type: ignore[arg-type]
            hub_id=cfg.hub_id,
        )
        out = await stack.client.execute_workflow(
            OrderWorkflow.run, plan, id=order_workflow_id(coid), task_queue=tq
        )
        if out.status != "filled":  # a figure for an order that did not fill measures nothing
            raise RuntimeError(f"the benchmark's order did not fill: {out}")

    async with serve_workers(stack.client, stack.deps, task_queue=tq):
        return await timed(one, runs)


async def orders_section(runs: int) -> list[str]:
    async with serve_binance_emulator(bars_per_second=STILL) as emu:
        os.environ["ASTS_EXCHANGE_BINANCE_API_KEY"] = emu.api_key
        os.environ["ASTS_EXCHANGE_BINANCE_SECRET"] = emu.secret
        base = await raw_orders(emu, runs * 2)
        rows = [row("emulator, signed order sent directly (baseline)", base, None)]
        rows.append(row("ccxt binance client alone", await ccxt_orders(emu, runs * 2), base))
        rows.append(row("our adapter (rules, client id, fills)", await adapter_orders(emu, runs * 2), base))
        async with embedded_stack({}) as stack:
            stack.deps.venues["binance"] = venue(emu)
            paper = await workflow_orders(stack, "local", runs, exchange="paper")
            for mode, label in (("local", "local activity"), ("activity", "regular activity")):
                ms = await workflow_orders(stack, mode, runs)
                rows.append(row(f"OrderWorkflow, place as a {label}", ms, base, "workflow to filled record"))
            rows.append(
                row("OrderWorkflow on the paper venue, local activity", paper, base, "no HTTP at all")
            )
        placed = emu.request_count("POST", "/api/v3/order")
    return [*rows, "", f"{placed} orders reached the emulator."]


async def scan_section(runs: int) -> list[str]:
    async with serve_binance_emulator(bars_per_second=STILL, synthetic=500) as emu:
        async with httpx.AsyncClient(base_url=emu.url) as http:

            async def raw() -> None:
                (await http.get("/api/v3/ticker/24hr")).raise_for_status()

            base = await timed(raw, runs)
        ex = CcxtExchange("binance", venue(emu), keys(emu))
        try:
            await ex.markets()
            universe = len([m for m in await ex.markets() if m.quote == "USDT"])
            crit = ScanCriteria(quote="USDT", top=20)
            before = sum(emu.requests().values())
            ranked = await timed(lambda: scan_universe(ex, crit), runs)
            per_scan = (sum(emu.requests().values()) - before) / (runs + 3)
            refined_crit = ScanCriteria(quote="USDT", top=20, refine=20, timeframe="1h")
            before = sum(emu.requests().values())
            refined = await timed(lambda: scan_universe(ex, refined_crit), max(runs // 4, 5))
            per_refined = (sum(emu.requests().values()) - before) / (max(runs // 4, 5) + 3)
            symbols = [m.symbol for m in await ex.markets() if m.quote == "USDT"]

            async def one_by_one() -> None:
                for s in symbols:
                    await ex.ticker(s)

            naive = await timed(one_by_one, 3, warmup=1)
        finally:
            await ex.close()
    return [
        row(f"all {universe} tickers, one raw request (baseline)", base, None, "1 request"),
        row("ScanPulse ranking (tickers)", ranked, base, f"{per_scan:.0f} request per scan"),
        row(
            "ScanPulse ranking, top 20 refined from bars",
            refined,
            base,
            f"{per_refined:.0f} requests, 8 at once",
        ),
        row(f"the {universe} tickers one by one (for contrast)", naive, base, f"{universe} requests"),
    ]


async def main(runs: int, out: Path) -> None:
    started = datetime.now(UTC)
    header = [
        "| what | runs | p50 ms | p95 ms | p50 vs baseline | ms over baseline p50 / p95 | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    orders = await orders_section(runs)
    scans = await scan_section(runs)
    lines = [
        machine_line(started),
        "The Binance emulator (`exchanges/emulator`) on 127.0.0.1, prices standing still. One market",
        "order of 1 MSFT/USD per run, filled at once. *ms over baseline* is this row's p50 (p95) minus",
        "the baseline's: what our path adds to the venue's own answer.",
        "",
        *header,
        *orders,
        "",
        "Scan of the synthetic universe (500 USDT markets of 1h bars), ranked by momentum, volatility,",
        "volume and spread; the baseline is the venue serving every ticker once.",
        "",
        *header,
        *scans,
    ]
    print(write_section(out, "Venue round trip and scan (`bench/exchange.py`)", "\n".join(lines)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100, help="workflow round trips per mode")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.out))
