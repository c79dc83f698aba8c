"""The reconcile step (TradeGuard accounting): compare the venue with our books, then mark PnL;
and the venue reconciliation run after a restart.

A difference is flagged as a ``reconcile_mismatch`` event with both numbers; our books
are never silently overwritten with the venue's. Fills are only ever the venue's own
executions (by their trade ids), never made up from totals.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import (
    OrderPlan,
    ReconcileInput,
    ReconcileResult,
    StrategyConfig,
    VenueReconcileInput,
    VenueReconcileResult,
)
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import CYCLE_SECONDS, CYCLES, MISMATCHES, ORDERS
from activities.orders import plan_of, record_venue_order
from exchanges.base import Exchange
from exchanges.paper_margin import LIQUIDATION_PREFIX
from store import repo
from trading.breakers import closed_trade_results, consecutive_losses
from trading.errors import OrderNotFound
from trading.portfolio import Position, pnl_of


class ReconcileActivities:
    """Reconciliation activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="reconcile")
    @translate_errors
    async def reconcile(self, inp: ReconcileInput) -> ReconcileResult:
        """Check this cycle's orders and the account's balances against ours; record a PnL snapshot."""
        cfg = inp.config
        ex = self.deps.exchange(cfg.exchange)
        now = utcnow()
        mismatches: list[str] = []
        async with self.deps.transaction() as s:
            # Hold the order gates while comparing, so no placement is half-recorded meanwhile.
            await repo.lock_gates(s)
            for out in inp.outcomes:
                mismatches += await self._check_order(s, ex, out.client_order_id, out.symbol)
            if ex.capabilities.shorts:
                mismatches += await self._adopt_liquidations(s, ex, cfg, inp.cycle)
            mismatches += await self._check_balances(s, ex, cfg.exchange)
            key = f"reconcile-{cfg.strategy_id}-{inp.cycle}"
            await _flag(s, mismatches, key=key, now=now, strategy_id=cfg.strategy_id, cycle=inp.cycle)
            rows = await repo.get_positions(s, strategy_id=cfg.strategy_id)
            positions = [Position(r.symbol, r.qty, r.avg_price, r.realised_pnl, r.fees) for r in rows]
            marks = {snap.symbol: snap.last for snap in inp.snapshots}
            for p in positions:
                if p.symbol not in marks:
                    marks[p.symbol] = (await ex.ticker(p.symbol)).last
            pnl = pnl_of(positions, marks)
            exposure = sum((abs(p.notional(marks[p.symbol])) for p in positions), Decimal(0))
            equity = cfg.capital + pnl.net
            fills = await repo.list_fills(s, strategy_id=cfg.strategy_id)
            streak = consecutive_losses(
                closed_trade_results((f.symbol, f.side, f.qty, f.price, f.fee) for f in fills)
            )
            orders_total, orders_rejected = await repo.order_counts(s, strategy_id=cfg.strategy_id)
            first = await repo.record_pnl(
                s,
                strategy_id=cfg.strategy_id,
                cycle=inp.cycle,
                ts=now,
                realised=pnl.realised,
                unrealised=pnl.unrealised,
                fees=pnl.fees,
                equity=equity,
                exposure=exposure,
            )
        if first:  # the cycle's end, counted once: a retried reconcile finds its snapshot recorded
            _count_cycle(inp, now)
        calls, errors = self.deps.take_venue_counts(cfg.strategy_id)
        return ReconcileResult(
            realised=pnl.realised,
            unrealised=pnl.unrealised,
            fees=pnl.fees,
            equity=equity,
            exposure=exposure,
            mismatches=mismatches,
            consecutive_losses=streak,
            orders_total=orders_total,
            orders_rejected=orders_rejected,
            venue_calls=calls,
            venue_errors=errors,
        )

    async def _adopt_liquidations(
        self, s: AsyncSession, ex: Exchange, cfg: StrategyConfig, cycle: int
    ) -> list[str]:
        """Record in the strategy's books the venue's buy-back of a short it holds (a margin
        account's liquidation, client order id ``liquidation-...``), with the venue's fill, and a
        ``liquidated`` event. One the books cannot attribute to this strategy alone (several of
        ours are short the symbol there) is flagged, not applied."""
        shorts = {p.symbol for p in await repo.get_positions(s, strategy_id=cfg.strategy_id) if p.qty < 0}
        if not shorts:
            return []
        strategies = {r.id for r in await repo.list_strategies(s) if r.exchange == cfg.exchange}
        ours = [p for p in await repo.get_positions(s) if p.strategy_id in strategies]
        venue = await ex.balance()
        behind = set()  # symbols whose short the venue holds less of than our books
        for symbol in shorts:
            base = (await ex.market(symbol)).base
            booked = sum((p.qty for p in ours if p.symbol == symbol), Decimal(0))
            if venue.get(base, Decimal(0)) > booked:
                behind.add(symbol)
        if not behind:  # the usual case: nothing was bought back behind our backs
            return []
        out: list[str] = []
        for o in await ex.orders():
            if not o.client_order_id.startswith(LIQUIDATION_PREFIX) or o.symbol not in behind:
                continue
            if await repo.get_order(s, client_order_id=o.client_order_id) is not None:
                continue  # recorded already
            holders = {p.strategy_id for p in ours if p.symbol == o.symbol and p.qty < 0}
            if holders != {cfg.strategy_id}:
                out.append(
                    f"order {o.client_order_id}: the venue liquidated {o.qty} {o.symbol}, shorted by "
                    f"{len(holders)} strategies; not applied"
                )
                continue
            plan = OrderPlan(
                strategy_id=cfg.strategy_id, exchange=cfg.exchange, cycle=cycle, leg=0,
                client_order_id=o.client_order_id, symbol=o.symbol, side=o.side.value, qty=o.qty,
                ref_price=o.avg_price or Decimal(0), hub_id=cfg.hub_id,
            )  # fmt: skip
            await record_venue_order(s, plan, o)
            await repo.record_event(
                s,
                event_key=f"liquidated-{o.client_order_id}",
                kind="liquidated",
                reason=o.reason or "the venue bought the short back",
                now=utcnow(),
                strategy_id=cfg.strategy_id,
                cycle=cycle,
                symbol=o.symbol,
                data={"qty": str(o.qty), "price": str(o.avg_price)},
            )
        return out

    async def _check_order(self, s: AsyncSession, ex: object, coid: str, symbol: str) -> list[str]:
        ours = await repo.get_order(s, client_order_id=coid)
        try:
            venue = await ex.fetch_order(coid, symbol)  # type: ignore[attr-defined]
        except OrderNotFound:
            if ours is not None and ours.venue_order_id:
                return [f"order {coid}: we hold it as {ours.status}, the venue does not know it"]
            return []
        if ours is None:
            return [f"order {coid}: the venue has it as {venue.status.value}, we have no record"]
        if ours.status != venue.status.value or ours.filled_qty != venue.filled_qty:
            return [
                f"order {coid}: ours {ours.status} filled {ours.filled_qty}, "
                f"venue {venue.status.value} filled {venue.filled_qty}"
            ]
        return []

    async def _check_balances(self, s: AsyncSession, ex: object, exchange: str) -> list[str]:
        """Every base asset we hold across strategies on this venue must equal the venue's balance."""
        strategies = {r.id for r in await repo.list_strategies(s) if r.exchange == exchange}
        ours: dict[str, Decimal] = defaultdict(Decimal)
        for p in await repo.get_positions(s):
            if p.strategy_id in strategies:
                ours[(await ex.market(p.symbol)).base] += p.qty  # type: ignore[attr-defined]
        venue = await ex.balance()  # type: ignore[attr-defined]
        return [
            f"balance {asset}: ours {qty}, venue {venue.get(asset, Decimal(0))}"
            for asset, qty in sorted(ours.items())
            if venue.get(asset, Decimal(0)) != qty
        ]

    @activity.defn(name="reconcile_venue")
    @translate_errors
    async def reconcile_venue(self, inp: VenueReconcileInput) -> VenueReconcileResult:
        """Bring every unfinished order of this venue up to the venue's state, record the fills it
        reports, and flag what does not agree: orders the venue does not know, open orders at the
        venue we have no record of, and balances that differ from our positions."""
        ex = self.deps.exchange(inp.exchange)
        now = utcnow()
        result = VenueReconcileResult(exchange=inp.exchange)
        async with self.deps.transaction() as s:
            strategies = [r.id for r in await repo.list_strategies(s) if r.exchange == inp.exchange]
            ours = await repo.unfinished_orders(s, strategy_ids=strategies) if strategies else []
            known = await repo.client_order_ids(s, strategy_ids=strategies)
        for row in ours:
            activity.heartbeat(result.orders_checked)
            result.orders_checked += 1
            async with self.deps.transaction() as s:
                try:
                    venue = await ex.fetch_order(row.client_order_id, row.symbol)
                except OrderNotFound:
                    acknowledged = "acknowledged" if row.venue_order_id else "never acknowledged"
                    result.mismatches.append(
                        f"order {row.client_order_id}: we hold it as {row.status} ({acknowledged}), "
                        "the venue does not know it"
                    )
                    continue
                plan = plan_of(row, exchange=inp.exchange, hub_id="")  # only recorded: no gate to pass
                added = await record_venue_order(s, plan, venue)
                if added is None:
                    result.mismatches.append(
                        f"order {row.client_order_id}: ours {row.status} filled {row.filled_qty}, "
                        f"venue {venue.status.value} filled {venue.filled_qty} (behind ours; not applied)"
                    )
                    continue
                result.fills_added += added
                if added or venue.status.value != row.status:
                    result.orders_updated += 1
        venue_open = await ex.open_orders()
        result.venue_open_orders = len(venue_open)
        to_ours = getattr(ex, "venue_client_id", None)
        ids = {to_ours(c) if to_ours else c: c for c in known}
        for o in venue_open:
            if o.client_order_id not in known and o.client_order_id not in ids:
                result.mismatches.append(
                    f"open order {o.venue_order_id} ({o.symbol} {o.side.value} {o.qty}, client id "
                    f"{o.client_order_id or '-'}) is at the venue, we have no record of it"
                )
        async with self.deps.transaction() as s:
            result.mismatches += await self._check_balances(s, ex, inp.exchange)
            await _flag(
                s,
                result.mismatches,
                key=f"venue-reconcile-{inp.run_id}",
                now=now,
                data={"exchange": inp.exchange},
            )
        activity.logger.info(
            "venue reconciled",
            extra={
                "exchange": inp.exchange,
                "checked": result.orders_checked,
                "updated": result.orders_updated,
                "mismatches": len(result.mismatches),
            },
        )
        return result


def _count_cycle(inp: ReconcileInput, now: datetime) -> None:
    """A successful cycle's metrics: done, its latency, and its orders whose outcome is unknown."""
    CYCLES.labels(inp.config.type, "done").inc()
    if inp.started_at is not None:
        CYCLE_SECONDS.labels(inp.config.type).observe(max((now - inp.started_at).total_seconds(), 0.0))
    unknown = sum(1 for o in inp.outcomes if o.status == "unknown")
    if unknown:
        ORDERS.labels("unknown").inc(unknown)


async def _flag(s: AsyncSession, mismatches: list[str], *, key: str, now: datetime, **where: Any) -> None:
    """Record each difference once as a ``reconcile_mismatch`` event (keyed by ``key`` and its text)."""
    for text in mismatches:
        MISMATCHES.inc()
        await repo.record_event(
            s,
            event_key=f"{key}-{hashlib.sha256(text.encode()).hexdigest()[:16]}",
            kind="reconcile_mismatch",
            reason=text,
            now=now,
            **where,
        )
