"""The protect step and exit clearing (TradeGuard): keep each position's protective exits resting
at its venue, one OCO group of reduce-only orders per position, and nothing else.

``protect`` runs at the end of every cycle, and is a reconciliation, so it is safe to retry and
to run after any crash: it first reads every exit we recorded back from the venue (so an exit
that filled while no worker ran is recorded with its fill, and the position with it), then, per
symbol, keeps the resting set when it still fits the position (same quantity, same kinds),
completes a set this cycle began (a crash between its legs), and otherwise cancels it and places
a new one. The new set's client order ids are derived from the
strategy, the cycle and the symbol's leg (``ClientOrderId.for_exit``), and placement looks each
id up at the venue first, so a retry or a re-run never places a set twice.

``clear_exits`` runs before an order that closes or shrinks a position (a signal exit, a
flattening): it cancels the symbol's exits and records them. If one of them had filled, the
position is already closed by it, and the order is not placed (recorded as rejected, with why).
"""

from __future__ import annotations

import zlib
from decimal import Decimal

from temporalio import activity

from activities.contracts import ClearExitsResult, OrderOutcome, OrderPlan, ProtectInput, ProtectResult
from activities.deps import Deps, translate_errors
from activities.orders import (
    OrderActivities,
    cancel_recorded,
    outcome_of,
    plan_of,
    read_recorded,
    record_rejection,
)
from activities.risk import order_legs
from store import repo
from store.models import OrderRow
from trading.errors import OrderNotFound, TradingError
from trading.exits import KIND_TAG, exit_orders
from trading.models import ClientOrderId, OrderStatus

_FILLED = OrderStatus.FILLED.value


class ExitActivities:
    """Protective exit activities; each is safe to retry."""

    def __init__(self, deps: Deps, orders: OrderActivities) -> None:
        self.deps = deps
        self.orders = orders

    async def _read_back(self, rows: list[OrderRow], *, exchange: str, hub_id: str) -> list[OrderOutcome]:
        """Read each recorded exit at the venue and record what it says; return those now ended."""
        ended: list[OrderOutcome] = []
        for row in rows:
            try:
                venue = await read_recorded(self.deps, plan_of(row, exchange=exchange, hub_id=hub_id))
            except OrderNotFound:
                continue  # its placement has not reached the venue (yet): placement decides
            if venue.status.is_terminal:
                ended.append(outcome_of(venue))
        return ended

    async def _cancel(
        self, rows: list[OrderRow], *, exchange: str, hub_id: str, reason: str
    ) -> list[OrderOutcome]:
        """Cancel exits at the venue and record the answers (a filled one stays filled)."""
        out: list[OrderOutcome] = []
        for row in rows:
            plan = plan_of(row, exchange=exchange, hub_id=hub_id)
            try:
                out.append(outcome_of(await cancel_recorded(self.deps, plan, f"cancelled: {reason}")))
            except OrderNotFound:
                continue
        return out

    @activity.defn(name="protect")
    @translate_errors
    async def protect(self, inp: ProtectInput) -> ProtectResult:
        """Bring the strategy's resting exits in line with its positions (see the module docstring)."""
        cfg = inp.config
        result = ProtectResult()
        async with self.deps.sessions() as s:
            live = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
        result.ended = await self._read_back(live, exchange=cfg.exchange, hub_id=cfg.hub_id)
        async with self.deps.sessions() as s:
            positions = {p.symbol: p for p in await repo.get_positions(s, strategy_id=cfg.strategy_id)}
            live = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
        legs = order_legs(cfg, inp.snapshots)
        ex = self.deps.exchange(cfg.exchange)
        for symbol in sorted({*positions, *(r.symbol for r in live)}):
            resting = [r for r in live if r.symbol == symbol]
            pos = positions.get(symbol)
            qty = pos.qty if pos is not None else Decimal(0)
            wanted = cfg.exits.kinds() if cfg.exits is not None and qty != 0 else []
            sized = all(r.qty == abs(qty) and (r.side == "sell") == (qty > 0) for r in resting)
            if sized and sorted(r.exit_kind for r in resting) == sorted(wanted):
                continue
            leg = legs.get(symbol, zlib.crc32(symbol.encode()) % 100_000)
            group = ClientOrderId.for_exit(cfg.strategy_id, inp.cycle, leg).value
            # a set this very cycle began (a retry after a crash between its legs) is completed:
            # its ids are this cycle's, so cancelling it would leave them used up
            completing = bool(resting) and sized and all(r.oco_group == group for r in resting)
            if resting and not completing:
                why = "the position changed" if wanted else "the position is closed"
                cancelled = await self._cancel(resting, exchange=cfg.exchange, hub_id=cfg.hub_id, reason=why)
                result.cancelled += cancelled
                if any(o.status == _FILLED for o in cancelled):
                    continue  # an exit filled meanwhile: the next cycle protects what is left
            if not wanted or pos is None or cfg.exits is None:
                continue
            try:
                market = await ex.market(symbol)
                orders = exit_orders(cfg.exits, position_qty=qty, entry_price=pos.avg_price, market=market)
            except TradingError as e:
                result.problems.append(f"{symbol}: {e}")
                continue
            for order in orders:
                plan = OrderPlan(
                    strategy_id=cfg.strategy_id,
                    exchange=cfg.exchange,
                    cycle=inp.cycle,
                    leg=leg,
                    client_order_id=ClientOrderId.for_exit(
                        cfg.strategy_id, inp.cycle, leg, KIND_TAG[order.kind]
                    ).value,
                    symbol=symbol,
                    side=order.side.value,
                    type=order.type.value,
                    qty=abs(qty),
                    price=order.price,
                    stop_price=order.stop_price,
                    trail_fraction=order.trail_fraction,
                    ref_price=order.price or order.stop_price or pos.avg_price,
                    step_mode=cfg.step_mode,
                    hub_id=cfg.hub_id,
                    reduce_only=True,
                    oco_group=group,
                    exit_kind=order.kind,
                )
                placed = await self.orders.place(plan)
                result.placed.append(placed)
                if placed.status == "rejected":
                    result.problems.append(f"{symbol} {order.kind}: {placed.reason}")
        return result

    @activity.defn(name="clear_exits")
    @translate_errors
    async def clear_exits(self, plan: OrderPlan) -> ClearExitsResult:
        """Cancel the exits of the plan's symbol before the plan is placed; if one had filled,
        record the plan as not placed and say so."""
        async with self.deps.sessions() as s:
            known = await repo.get_order(s, client_order_id=plan.client_order_id)
            live = [
                r
                for r in await repo.unfinished_orders(s, strategy_id=plan.strategy_id, exits=True)
                if r.symbol == plan.symbol
            ]
        if known is not None and known.status == OrderStatus.REJECTED.value:  # a retry, refused
            return ClearExitsResult(outcome=OrderOutcome(
                client_order_id=known.client_order_id, symbol=known.symbol, status=known.status,
                reason=known.reason,
            ))  # fmt: skip
        if known is not None:  # placed already: placement looks it up and records it
            return ClearExitsResult()
        done = await self._cancel(live, exchange=plan.exchange, hub_id=plan.hub_id, reason="closing order")
        filled = [o.client_order_id for o in done if o.status == _FILLED]
        if not filled:
            return ClearExitsResult(cancelled=[o.client_order_id for o in done])
        async with self.deps.transaction() as s:
            outcome = await record_rejection(
                s, plan, f"not placed: protective exit {', '.join(filled)} closed the position first"
            )
        return ClearExitsResult(filled=filled, outcome=outcome)
