"""The execute step's activities (TradeGuard): place, follow and cancel one order, idempotently.

Placement is guarded twice: the client order id is looked up at the venue first (so a
retry never places a second order), and the order passes NeuroHub's global gate and
its strategy's gate inside the same database transaction that records it (so a halt,
which closes a gate in its own transaction, returns only after every in-flight
placement committed, and no placement can start after it).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import CancelInput, OrderOutcome, OrderPlan
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import ORDERS, count_fill
from store import repo
from store.models import OrderRow
from trading.errors import (
    DuplicateClientOrderId,
    IllegalTransition,
    InsufficientBalance,
    InvalidInput,
    InvalidOrder,
    OrderNotFound,
    TemporaryError,
    VenueRejected,
)
from trading.models import OrderStatus, Side, VenueOrder
from trading.orders import check_transition
from trading.portfolio import Position

# Reason prefix of an order the gate refused (not counted as a venue rejection by the breakers).
BLOCKED = "blocked at the gate"


def outcome_of(venue: VenueOrder) -> OrderOutcome:
    """The workflow-facing view of a venue order."""
    return OrderOutcome(
        client_order_id=venue.client_order_id,
        symbol=venue.symbol,
        status=venue.status.value,
        filled_qty=venue.filled_qty,
        avg_price=venue.avg_price,
        fee=venue.fee,
        reason=venue.reason,
        placed_at=venue.created_at,
    )


def plan_of(row: OrderRow, *, exchange: str, hub_id: str) -> OrderPlan:
    """The plan an order row was placed from (enough to cancel, read and record it)."""
    return OrderPlan(
        strategy_id=row.strategy_id,
        exchange=exchange,
        cycle=row.cycle,
        leg=row.leg,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=row.side,  # type: ignore[arg-type]
        type=row.type,  # type: ignore[arg-type]
        qty=row.qty,
        price=row.price,
        ref_price=row.price or row.stop_price or row.avg_price or Decimal(0),
        hub_id=hub_id,
        # a trailing stop's recorded stop price is where its trigger stood: not part of the request
        stop_price=row.stop_price if row.type != "trailing_stop" else None,
        trail_amount=row.trail_amount,
        trail_fraction=row.trail_fraction,
        tif=row.tif,  # type: ignore[arg-type]
        reduce_only=row.reduce_only,
        oco_group=row.oco_group,
        exit_kind=row.exit_kind,
    )


async def rebuild_position(s: AsyncSession, *, strategy_id: str, symbol: str) -> Position:
    """Recompute a position from every recorded fill (idempotent by construction) and store it."""
    fills = await repo.list_fills(s, strategy_id=strategy_id)
    pos = Position(symbol=symbol)
    for f in sorted((f for f in fills if f.symbol == symbol), key=lambda f: (f.ts, f.fill_id)):
        pos.apply_fill(Side(f.side), f.qty, f.price, f.fee)
    await repo.upsert_position(
        s,
        strategy_id=strategy_id,
        symbol=symbol,
        qty=pos.qty,
        avg_price=pos.avg_price,
        realised_pnl=pos.realised_pnl,
        fees=pos.fees,
        now=utcnow(),
    )
    return pos


async def _upsert(
    s: AsyncSession,
    plan: OrderPlan,
    *,
    status: str,
    filled_qty: Decimal,
    avg_price: Decimal | None,
    fee: Decimal,
    venue_order_id: str,
    reason: str,
    stop_price: Decimal | None = None,
) -> None:
    """Write our row for the plan's order with the given state (``stop_price``: where the venue
    says a trailing stop's trigger stands now)."""
    await repo.upsert_order(
        s,
        client_order_id=plan.client_order_id,
        strategy_id=plan.strategy_id,
        cycle=plan.cycle,
        leg=plan.leg,
        symbol=plan.symbol,
        side=plan.side,
        type=plan.type,
        qty=plan.qty,
        price=plan.price,
        status=status,
        filled_qty=filled_qty,
        avg_price=avg_price,
        fee=fee,
        venue_order_id=venue_order_id,
        reason=reason,
        now=utcnow(),
        stop_price=stop_price if stop_price is not None else plan.stop_price,
        trail_amount=plan.trail_amount,
        trail_fraction=plan.trail_fraction,
        tif=plan.tif,
        reduce_only=plan.reduce_only,
        oco_group=plan.oco_group,
        exit_kind=plan.exit_kind,
    )


async def record_venue_order(
    s: AsyncSession, plan: OrderPlan, venue: VenueOrder, reason: str = ""
) -> int | None:
    """Write the venue's view of the order, its fills, and the resulting position; return how many
    fills were new (None: the view was dropped).

    A view older than the one recorded (read before a later one was written) never moves
    the order backwards: the transition table decides, and a stale view is dropped.
    """
    known = await repo.get_order(s, client_order_id=plan.client_order_id)
    if known is not None and known.venue_order_id:
        try:
            check_transition(OrderStatus(known.status), venue.status)
        except IllegalTransition:
            activity.logger.info("stale venue view ignored", extra={"coid": plan.client_order_id})
            return None
        if venue.filled_qty < known.filled_qty:
            return None
    await _upsert(
        s,
        plan,
        status=venue.status.value,
        filled_qty=venue.filled_qty,
        avg_price=venue.avg_price,
        fee=venue.fee,
        venue_order_id=venue.venue_order_id,
        reason=reason or venue.reason,
        stop_price=venue.stop_price,
    )
    new_fills = 0
    for f in venue.fills:
        new = await repo.record_fill(
            s,
            fill_id=f.fill_id,
            client_order_id=plan.client_order_id,
            strategy_id=plan.strategy_id,
            symbol=f.symbol,
            side=f.side.value,
            qty=f.qty,
            price=f.price,
            fee=f.fee,
            ts=f.ts,
        )
        if new:  # each venue execution once, however often the order is read
            count_fill(plan.exchange, f.symbol, f.side.value, f.qty, f.price)
        new_fills += new
    if new_fills:
        pos = await rebuild_position(s, strategy_id=plan.strategy_id, symbol=plan.symbol)
        if plan.exit_kind and pos.qty == 0:  # a protective exit closed it: as in the backtest, no
            # new entry that way until the signal has left it (the risk step lifts this)
            way = "long" if plan.side == Side.SELL.value else "short"
            await repo.set_stood_down(s, strategy_id=plan.strategy_id, symbol=plan.symbol, direction=way)
            await repo.record_event(
                s,
                event_key=f"down-{plan.client_order_id}",
                kind="stood_down",
                reason=f"the {plan.exit_kind} exit closed the {way} position: no new {way} entry "
                "until the signal leaves it",
                now=utcnow(),
                strategy_id=plan.strategy_id,
                cycle=plan.cycle,
                symbol=plan.symbol,
                data={"exit_kind": plan.exit_kind, "direction": way},
            )
    return new_fills


async def record_rejection(s: AsyncSession, plan: OrderPlan, reason: str) -> OrderOutcome:
    """Record an order that was never accepted by the venue, with why."""
    await _upsert(
        s,
        plan,
        status=OrderStatus.REJECTED.value,
        filled_qty=Decimal(0),
        avg_price=None,
        fee=Decimal(0),
        venue_order_id="",
        reason=reason,
    )
    return OrderOutcome(
        client_order_id=plan.client_order_id, symbol=plan.symbol, status="rejected", reason=reason
    )


async def read_recorded(deps: Deps, plan: OrderPlan) -> VenueOrder:
    """Read the plan's order at its venue and record what the venue says (raises OrderNotFound)."""
    with deps.venue_call(plan.strategy_id):
        venue = await deps.exchange(plan.exchange).fetch_order(plan.client_order_id, plan.symbol)
    async with deps.transaction() as s:
        await record_venue_order(s, plan, venue)
    return venue


async def cancel_recorded(deps: Deps, plan: OrderPlan, reason: str) -> VenueOrder:
    """Cancel the plan's order at its venue (a terminal order is left as it is) and record the
    answer, with ``reason`` when the order is now cancelled (raises OrderNotFound)."""
    with deps.venue_call(plan.strategy_id):
        venue = await deps.exchange(plan.exchange).cancel_order(plan.client_order_id, plan.symbol)
    async with deps.transaction() as s:
        cancelled = venue.status is OrderStatus.CANCELLED
        await record_venue_order(s, plan, venue, reason=reason if cancelled else "")
    return venue


class OrderActivities:
    """Order activities; each is safe to retry."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _lookup(self, plan: OrderPlan) -> VenueOrder | None:
        try:
            return await self.deps.exchange(plan.exchange).fetch_order(plan.client_order_id, plan.symbol)
        except OrderNotFound:
            return None

    @activity.defn(name="place_order")
    @translate_errors
    async def place_order(self, plan: OrderPlan) -> OrderOutcome:
        """Place the order unless it exists already or the gate is closed; record the result.

        Shielded from cancellation (a timed-out attempt): the venue call runs on, so the
        gate stays claimed until the placement is recorded, and a halt waits for it.
        """
        return await self.place(plan)

    async def place(self, plan: OrderPlan) -> OrderOutcome:
        """``place_order``'s work, for other activities that place orders (the protect step)."""
        (outcome,) = await self.place_together([plan])
        return outcome

    async def place_together(self, plans: list[OrderPlan]) -> list[OrderOutcome]:
        """Place one order, or a one-cancels-the-other pair as one venue request (``create_oco``:
        both or neither), with everything ``place_order`` does: the lookup first, the gate, the
        record. A pair shares its symbol, side and quantity, so the gate judges it once."""
        if len(plans) not in (1, 2):
            raise InvalidInput(f"one order or a pair is placed together, not {len(plans)}")
        with self.deps.venue_call(plans[0].strategy_id):
            return await asyncio.shield(self._place_alone(plans))

    async def _place_alone(self, plans: list[OrderPlan]) -> list[OrderOutcome]:
        async with self.deps.placing(plans[0].client_order_id):
            return await self._place(plans)

    async def _settle(self, plan: OrderPlan, horizon: float) -> datetime:
        """Wait until no earlier request for this order can still be executed, then record that
        a new one may go out now (returned, and sent with the request).

        A request that got no answer may still reach the venue later; the venue refuses it once
        its horizon has passed (a receive window). Only then does "not found" mean "never
        placed": so the lookup before placing waits out the horizon of the last recorded send,
        which survives a worker's crash because it is committed before the request goes out.
        """
        async with self.deps.transaction() as s:  # the first attempt: one transaction, no wait
            last = await repo.last_order_send(s, client_order_id=plan.client_order_id)
            now = utcnow()
            wait = 0.0 if last is None else (last - now).total_seconds() + horizon
            if wait <= 0:
                await self._record_send(s, plan, now)
                return now
        activity.logger.info(
            "waiting out an earlier request", extra={"coid": plan.client_order_id, "wait_s": wait}
        )
        await asyncio.sleep(wait)
        now = utcnow()
        async with self.deps.transaction() as s:
            await self._record_send(s, plan, now)
        return now

    @staticmethod
    async def _record_send(s: AsyncSession, plan: OrderPlan, now: datetime) -> None:
        await repo.record_order_send(
            s, client_order_id=plan.client_order_id, strategy_id=plan.strategy_id, symbol=plan.symbol, now=now
        )

    async def _place(self, plans: list[OrderPlan]) -> list[OrderOutcome]:
        first = plans[0]
        ex = self.deps.exchange(first.exchange)
        horizon = float(getattr(ex, "settle_horizon_s", 0.0))
        sent_at = None
        if horizon > 0:
            for plan in plans:
                sent_at = await self._settle(plan, horizon)
        async with self.deps.transaction() as s:
            found = [await self._lookup(plan) for plan in plans]
            if any(v is None for v in found) and any(v is not None for v in found):
                # a pair goes out as one request: half of it found is a read that lagged
                raise TemporaryError(f"only part of order group {first.oco_group!r} found at the venue")
            venues = [v for v in found if v is not None]
            if not venues:
                refused = await repo.admit_placement(
                    s,
                    strategy_id=first.strategy_id,
                    hub_id=first.hub_id,
                    symbol=first.symbol,
                    side=Side(first.side),
                    qty=first.qty,
                    flatten_of=first.flatten_of,
                )
                if refused is not None:
                    activity.logger.info("order blocked at the gate", extra={"coid": first.client_order_id})
                    ORDERS.labels("blocked").inc()
                    return [await record_rejection(s, plan, f"{BLOCKED}: {refused}") for plan in plans]
                requests = [replace(plan.request_shape(), sent_at=sent_at) for plan in plans]
                try:
                    if len(requests) == 2:
                        venues = list(await ex.create_oco(requests[0], requests[1]))
                    else:
                        venues = [await ex.create_order(requests[0])]
                except DuplicateClientOrderId:
                    venues = [await ex.fetch_order(plan.client_order_id, plan.symbol) for plan in plans]
                except (InvalidOrder, InsufficientBalance, VenueRejected) as e:
                    ORDERS.labels("venue_rejected").inc()
                    return [await record_rejection(s, plan, f"venue rejected: {e}") for plan in plans]
                ORDERS.labels("placed").inc(len(plans))
            for plan, venue in zip(plans, venues, strict=True):
                await record_venue_order(s, plan, venue)
        return [outcome_of(v) for v in venues]

    @activity.defn(name="sync_order")
    @translate_errors
    async def sync_order(self, inp: CancelInput) -> OrderOutcome:
        """Read the order's state at the venue and record it."""
        return outcome_of(await read_recorded(self.deps, inp.plan))

    @activity.defn(name="cancel_order")
    @translate_errors
    async def cancel_order(self, inp: CancelInput) -> OrderOutcome:
        """Cancel the order at the venue (a terminal order is left as it is) and record it."""
        return outcome_of(await cancel_recorded(self.deps, inp.plan, inp.reason))
