"""The reconcile step (TradeGuard accounting): compare the venue with our books, then mark PnL.

A difference is flagged as a ``reconcile_mismatch`` event with both numbers; our books
are never silently overwritten with the venue's.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import ReconcileInput, ReconcileResult
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import MISMATCHES
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
            mismatches += await self._check_balances(s, ex, cfg.exchange)
            for text in mismatches:
                MISMATCHES.inc()
                await repo.record_event(
                    s,
                    event_key=f"reconcile-{cfg.strategy_id}-{inp.cycle}-{hashlib.sha256(text.encode()).hexdigest()[:16]}",
                    kind="reconcile_mismatch",
                    reason=text,
                    now=now,
                    strategy_id=cfg.strategy_id,
                    cycle=inp.cycle,
                )
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
            await repo.record_pnl(
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
