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

``watch_exits`` runs between two cycles while the strategy holds exits ASTS watches itself (the
venue could not hold them): it checks them against the venue's last price every ``every_s``
seconds, as the protect step does, and fires those whose level traded, so such an exit reacts
within about a second, not at the next cycle.

``clear_exits`` runs before an order that closes or shrinks a position (a signal exit, a
flattening): it cancels the symbol's exits and records them. If one of them had filled, the
position is already closed by it, and the order is not placed (recorded as rejected, with why).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from temporalio import activity

from activities.contracts import (
    ClearExitsResult,
    OrderOutcome,
    OrderPlan,
    ProtectInput,
    ProtectResult,
    StrategyConfig,
    WatchExitsInput,
)
from activities.deps import Deps, translate_errors, utcnow
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
from store.models import HeldExitRow, OrderRow, PositionRow
from trading.errors import OrderNotFound, TradingError
from trading.exits import KIND_TAG, ExitKind, ExitOrder, exit_orders, held_fires, split_by_venue
from trading.models import ClientOrderId, OrderStatus, OrderType, Side

_FILLED = OrderStatus.FILLED.value
T = TypeVar("T")


async def finish_first(step: Awaitable[T]) -> T:
    """Await ``step``; if the caller is cancelled meanwhile, let ``step`` finish, then be
    cancelled: an order half sent is worse than a late cancel."""
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def _heartbeats(every_s: float = 0.5) -> None:
    """Heartbeat while a long activity works, a slow venue call or an order being sent included."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(every_s)


def _fired_under_way(resting: list[OrderRow]) -> bool:
    """An exit ASTS held has fired and its market order is under way: it decides what is left of
    the position, so the symbol's exits are left alone until it ends."""
    return any(r.type == OrderType.MARKET.value for r in resting)


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

    async def _drop_held(self, rows: list[HeldExitRow], reason: str) -> None:
        """Stop watching exits ASTS holds (the position changed or closed, or one of the set fired)."""
        if not rows:
            return
        async with self.deps.transaction() as s:
            for h in rows:
                await repo.set_held_exit(
                    s, client_order_id=h.client_order_id, status="cancelled", reason=reason, now=utcnow()
                )

    @activity.defn(name="protect")
    @translate_errors
    async def protect(self, inp: ProtectInput) -> ProtectResult:
        """Bring the strategy's exits in line with its positions (see the module docstring)."""
        cfg = inp.config
        result = ProtectResult()
        async with self.deps.sessions() as s:
            live = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
        result.ended = await self._read_back(live, exchange=cfg.exchange, hub_id=cfg.hub_id)
        filled = {o.client_order_id for o in result.ended if o.status == _FILLED}
        # one cancels the other across the venue and ASTS: an exit that filled at the venue ends
        # the exits ASTS holds for its set
        done_groups = {r.oco_group for r in live if r.client_order_id in filled}
        async with self.deps.sessions() as s:
            positions = {p.symbol: p for p in await repo.get_positions(s, strategy_id=cfg.strategy_id)}
            live = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
            held = await repo.held_exits(s, strategy_id=cfg.strategy_id)
        await self._drop_held([h for h in held if h.oco_group in done_groups], "an exit of its set filled")
        held = [h for h in held if h.oco_group not in done_groups]
        legs = order_legs(cfg, inp.snapshots)
        for symbol in sorted({*positions, *(r.symbol for r in live), *(h.symbol for h in held)}):
            await self._protect_symbol(
                inp,
                symbol,
                positions.get(symbol),
                [r for r in live if r.symbol == symbol],
                [h for h in held if h.symbol == symbol],
                legs.get(symbol, zlib.crc32(symbol.encode()) % 100_000),
                result,
            )
        result.watching = await self._watching(cfg.strategy_id)
        return result

    async def _watching(self, strategy_id: str) -> int:
        """How many exits ASTS still watches for the strategy."""
        async with self.deps.sessions() as s:
            return len(await repo.held_exits(s, strategy_id=strategy_id))

    @activity.defn(name="watch_exits")
    @translate_errors
    async def watch_exits(self, inp: WatchExitsInput) -> ProtectResult:
        """Check the exits ASTS holds every ``every_s`` until ``until`` or until none is left,
        firing those whose level traded (see the module docstring). It heartbeats all along, so a
        cancel (a halt, a stop) reaches it within a heartbeat; an exit being sent then is sent first.
        A venue that does not answer is said in ``problems`` and asked again the next round."""
        beat = asyncio.create_task(_heartbeats())
        try:
            return await self._watch_rounds(inp)
        finally:
            beat.cancel()

    async def _watch_rounds(self, inp: WatchExitsInput) -> ProtectResult:
        cfg, result = inp.config, ProtectResult()
        every = timedelta(seconds=inp.every_s)
        while True:
            async with self.deps.sessions() as s:
                held = await repo.held_exits(s, strategy_id=cfg.strategy_id)
                live = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=True)
            for symbol in sorted({h.symbol for h in held}):
                resting = [r for r in live if r.symbol == symbol]
                if _fired_under_way(resting):
                    continue
                watching = [h for h in held if h.symbol == symbol]
                try:
                    await finish_first(self._watch(cfg, symbol, resting, watching, result))
                except TradingError as e:
                    if f"{symbol}: {e}" not in result.problems:
                        result.problems.append(f"{symbol}: {e}")
            if not held or utcnow() + every > inp.until:
                break
            await asyncio.sleep(inp.every_s)
        result.watching = await self._watching(cfg.strategy_id)
        return result

    async def _protect_symbol(
        self,
        inp: ProtectInput,
        symbol: str,
        pos: PositionRow | None,
        resting: list[OrderRow],
        watching: list[HeldExitRow],
        leg: int,
        result: ProtectResult,
    ) -> None:
        """Keep, watch, complete or replace one symbol's set of exits."""
        cfg = inp.config
        if _fired_under_way(resting):
            return
        qty = pos.qty if pos is not None else Decimal(0)
        wanted = cfg.exits.kinds() if cfg.exits is not None and qty != 0 else []
        members = [(r.qty, r.side, r.oco_group) for r in resting] + [
            (h.qty, h.side, h.oco_group) for h in watching
        ]
        sized = all(q == abs(qty) and (side == "sell") == (qty > 0) for q, side, _ in members)
        have = sorted([r.exit_kind for r in resting] + [h.kind for h in watching])
        if sized and have == sorted(wanted):
            if watching:
                await self._watch(cfg, symbol, resting, watching, result)
            return
        group = ClientOrderId.for_exit(cfg.strategy_id, inp.cycle, leg).value
        # a set this very cycle began (a retry after a crash between its legs) is completed:
        # its ids are this cycle's, so cancelling it would leave them used up
        completing = bool(members) and sized and all(g == group for _, _, g in members)
        if members and not completing:
            why = "the position changed" if wanted else "the position is closed"
            cancelled = await self._cancel(resting, exchange=cfg.exchange, hub_id=cfg.hub_id, reason=why)
            await self._drop_held(watching, why)
            result.cancelled += cancelled
            if any(o.status == _FILLED for o in cancelled):
                return  # an exit filled meanwhile: the next cycle protects what is left
        if not wanted or pos is None or cfg.exits is None:
            return
        ex = self.deps.exchange(cfg.exchange)
        caps = ex.capabilities
        try:
            market = await ex.market(symbol)
            orders = exit_orders(cfg.exits, position_qty=qty, entry_price=pos.avg_price, market=market)
        except TradingError as e:
            result.problems.append(f"{symbol}: {e}")
            return
        at_venue, by_us = split_by_venue(
            orders, order_types=caps.order_types, trail_fraction=caps.trail_fraction, oco_legs=caps.oco_legs
        )

        def coid(kind: ExitKind) -> str:
            return ClientOrderId.for_exit(cfg.strategy_id, inp.cycle, leg, KIND_TAG[kind]).value

        async with self.deps.transaction() as s:  # the ones ASTS holds first: a crash then is completed
            for order in by_us:
                await repo.add_held_exit(
                    s,
                    client_order_id=coid(order.kind),
                    strategy_id=cfg.strategy_id,
                    cycle=inp.cycle,
                    leg=leg,
                    symbol=symbol,
                    oco_group=group,
                    kind=order.kind,
                    side=order.side.value,
                    qty=abs(qty),
                    price=order.price,
                    stop_price=order.stop_price,
                    trail_fraction=order.trail_fraction,
                    now=utcnow(),
                    # as in the backtest (and at the venue): the best price since entry, the entry
                    # fill price to begin with, so a fall before the first watch is not missed
                    best_price=pos.avg_price if order.kind == "trailing" else None,
                )
        plans = [
            OrderPlan(
                strategy_id=cfg.strategy_id,
                exchange=cfg.exchange,
                cycle=inp.cycle,
                leg=leg,
                client_order_id=coid(order.kind),
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
                reduce_only=caps.reduce_only,  # a spot venue's sell cannot exceed what is held anyway
                oco_group=group,
                grouped_at_venue=len(at_venue) > 1,
                exit_kind=order.kind,
            )
            for order in at_venue
        ]
        if len(plans) == 2 and caps.oco_legs == 2:  # one order list: both or neither
            placed = await self.orders.place_together(plans)
        else:
            placed = [await self.orders.place(plan) for plan in plans]
        result.placed += placed
        for plan, outcome in zip(plans, placed, strict=True):
            if outcome.status == "rejected":
                result.problems.append(f"{symbol} {plan.exit_kind}: {outcome.reason}")

    async def _watch(
        self,
        cfg: StrategyConfig,
        symbol: str,
        resting: list[OrderRow],
        watching: list[HeldExitRow],
        result: ProtectResult,
    ) -> None:
        """Check the exits ASTS holds for one position against the venue's last price; send the
        first that fires as a market order through the order path, after the venue's exits of its
        set are cancelled (if one of those filled first, nothing is sent)."""
        last = (await self.deps.exchange(cfg.exchange).ticker(symbol)).last
        for h in watching:
            order = ExitOrder(
                kind=h.kind,  # type: ignore[arg-type]
                type=OrderType.MARKET,
                side=Side(h.side),
                price=h.price,
                stop_price=h.stop_price,
                trail_fraction=h.trail_fraction,
            )
            fires, best = held_fires(order, last=last, best=h.best_price)
            if not fires:
                if best is not None and best != h.best_price:
                    async with self.deps.transaction() as s:
                        await repo.set_held_exit(
                            s, client_order_id=h.client_order_id, best_price=best, now=utcnow()
                        )
                continue
            why = f"{h.kind} held by ASTS fired at {last}"
            cancelled = await self._cancel(resting, exchange=cfg.exchange, hub_id=cfg.hub_id, reason=why)
            result.cancelled += cancelled
            if any(o.status == _FILLED for o in cancelled):
                await self._drop_held(watching, "an exit of its set filled at the venue first")
                return
            plan = OrderPlan(
                strategy_id=cfg.strategy_id,
                exchange=cfg.exchange,
                cycle=h.cycle,
                leg=h.leg,
                client_order_id=h.client_order_id,
                symbol=symbol,
                side=h.side,  # type: ignore[arg-type]
                qty=h.qty,
                ref_price=last,
                step_mode=cfg.step_mode,
                hub_id=cfg.hub_id,
                reduce_only=self.deps.exchange(cfg.exchange).capabilities.reduce_only,
                oco_group=h.oco_group,
                grouped_at_venue=False,
                exit_kind=h.kind,
            )
            placed = await self.orders.place(plan)
            result.fired.append(placed)
            async with self.deps.transaction() as s:
                await repo.set_held_exit(
                    s, client_order_id=h.client_order_id, status="fired", reason=why, now=utcnow()
                )
            await self._drop_held([o for o in watching if o is not h], f"{h.kind} of its set fired")
            if placed.status == "rejected":
                result.problems.append(f"{symbol} {h.kind}: {placed.reason}")
            return

    @activity.defn(name="clear_exits")
    @translate_errors
    async def clear_exits(self, plan: OrderPlan) -> ClearExitsResult:
        """Cancel the exits of the plan's symbol before the plan is placed; if one had filled,
        record the plan as not placed and say so, or, for a reversal, say what is left of it to
        place: its entry."""
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
        async with self.deps.sessions() as s:
            held = await repo.held_exits(s, strategy_id=plan.strategy_id, symbol=plan.symbol)
        await self._drop_held(held, "closing order")
        done = await self._cancel(live, exchange=plan.exchange, hub_id=plan.hub_id, reason="closing order")
        filled = [o.client_order_id for o in done if o.status == _FILLED]
        if not filled:
            return ClearExitsResult(cancelled=[o.client_order_id for o in done])
        if plan.closes and not plan.flatten_of:  # a reversal: what it was to close is closed
            async with self.deps.transaction() as s:
                await repo.set_stood_down(s, strategy_id=plan.strategy_id, symbol=plan.symbol, direction="")
            return ClearExitsResult(filled=filled, qty=plan.qty - plan.closes)
        async with self.deps.transaction() as s:
            outcome = await record_rejection(
                s, plan, f"not placed: protective exit {', '.join(filled)} closed the position first"
            )
            if not plan.flatten_of:  # the signal left that way on this very bar: no stand-down
                await repo.set_stood_down(s, strategy_id=plan.strategy_id, symbol=plan.symbol, direction="")
        return ClearExitsResult(filled=filled, outcome=outcome)
