"""NeuroHub's activities: the global gate in the store, and what a strategy does when controlled.

The global gate is one row that every placement reads (and holds, on PostgreSQL) inside
the transaction that places and records the order. Closing it is one UPDATE that waits
for placements under way: the kill switch costs one transaction whatever the number of
strategies, and once it has committed no order can be placed anywhere.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import (
    CancelAllInput,
    CancelAllResult,
    ControlActions,
    ControlActionsInput,
    HubGateChange,
    HubGateChanged,
    HubInit,
    NotifyInput,
    NotifyResult,
    OrderPlan,
    SignalInput,
    StrategyAck,
    StrategyRef,
    StrategyRegistration,
)
from activities.deps import Deps, translate_errors, utcnow
from activities.orders import cancel_recorded, plan_of
from store import repo
from store.models import OrderRow, StrategyRow
from trading.errors import InvalidInput, OrderNotFound, TemporaryError, TradingError
from trading.models import ClientOrderId, OrderStatus

# Signals sent at once by notify_strategies, and attempts per strategy before it counts as unreachable.
NOTIFY_CONCURRENCY = 64
NOTIFY_ATTEMPTS = 5

HUB_EVENT_KINDS = {"halted": "kill_switch", "reducing": "reduce_only", "active": "resume"}
DEFAULT_HUB = "neurohub"


def hub_of(row: StrategyRow) -> str:
    """The NeuroHub a stored strategy belongs to."""
    return str((row.controls or {}).get("hub_id") or DEFAULT_HUB)


async def live_strategies(s: AsyncSession, hub_id: str) -> list[StrategyRow]:
    """Strategies of ``hub_id`` that are not stopped."""
    return [r for r in await repo.list_strategies(s) if r.status != "stopped" and hub_of(r) == hub_id]


def registration_of(row: StrategyRow) -> StrategyRegistration:
    """What NeuroHub would have been told by the strategy itself."""
    controls = row.controls or {}
    return StrategyRegistration(
        strategy_id=row.id,
        name=row.name,
        workflow_id=row.workflow_id,
        capital=Decimal(str(controls.get("capital", "0"))),
        breakers=dict(controls.get("breakers") or {}),
        status=row.status,
        reduce_only=row.reduce_only,
    )


async def write_hub_gate(s: AsyncSession, change: HubGateChange) -> None:
    """Set the global gate and record who did it and why, in the caller's transaction.

    Idempotent per control id: the API closes the gate first, NeuroHub writes it again.
    """
    halted = change.state == "halted"
    await repo.set_hub_gate(
        s,
        hub_id=change.hub_id,
        state=change.state,
        halt_id=change.control_id if halted else "",
        flatten=change.flatten and halted,
        reason=change.reason,
        actor=change.actor,
        now=utcnow(),
    )
    data = {"actor": change.actor, "control_id": change.control_id, "hub_id": change.hub_id}
    await repo.record_event(
        s,
        event_key=f"hub-{change.control_id}",
        kind=HUB_EVENT_KINDS[change.state],
        reason=change.reason,
        now=utcnow(),
        data=data | {"flatten": change.flatten},
    )


class ControlActivities:
    """Activities of NeuroHub and of strategies answering it."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="hub_load")
    @translate_errors
    async def hub_load(self, hub_id: str) -> HubInit:
        """The global gate as stored (created open if new) and every live strategy of the hub."""
        async with self.deps.transaction() as s:
            gate = await repo.ensure_hub_gate(s, hub_id=hub_id, now=utcnow())
            strategies = [registration_of(r) for r in await live_strategies(s, hub_id)]
        return HubInit(
            state=gate.state,  # type: ignore[arg-type]
            reason=gate.reason,
            actor=gate.actor,
            halt_id=gate.halt_id,
            changed_at=gate.changed_at,
            strategies=strategies,
        )

    @activity.defn(name="set_hub_gate")
    @translate_errors
    async def set_hub_gate(self, inp: HubGateChange) -> HubGateChanged:
        """Set the global gate and record who did it and why; returns after the commit.

        Closing waits for every placement that passed the gate and is still being
        recorded; after this returns no order can be placed by any strategy of the hub.
        """
        async with self.deps.transaction(urgent=True) as s:
            await write_hub_gate(s, inp)
            rows = await live_strategies(s, inp.hub_id)
        return HubGateChanged(
            at=utcnow(),
            strategies=[StrategyRef(strategy_id=r.id, name=r.name, workflow_id=r.workflow_id) for r in rows],
        )

    def _client(self) -> Client:
        if self.deps.client is None:
            raise InvalidInput("this worker has no Temporal client to signal with (see serve_workers)")
        return self.deps.client

    @activity.defn(name="notify_strategies")
    @translate_errors
    async def notify_strategies(self, inp: NotifyInput) -> NotifyResult:
        """Send the control to every target at once as an Update; each answer is its acknowledgement.

        Sent from here, straight to the frontend, the Updates go in parallel (a workflow's own
        signals would cross the server's transfer queue one after another), and a strategy
        answers in the same workflow task that handles the control: no signal back, no extra
        task. A strategy that cannot be reached, refuses, or has not answered within the
        timeout is reported as such, so one dead workflow never holds up the others.
        """
        client = self._client()
        gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)
        acks: dict[str, StrategyAck] = {}

        def missing(ref: StrategyRef, state: str, detail: str) -> StrategyAck:
            return StrategyAck(
                strategy_id=ref.strategy_id,
                control_id=inp.control.control_id,
                state=state,  # type: ignore[arg-type]
                at=utcnow(),
                detail=detail,
            )

        async def tell(ref: StrategyRef) -> None:
            handle = client.get_workflow_handle(ref.workflow_id)
            async with gate:
                for attempt in range(NOTIFY_ATTEMPTS):
                    try:
                        acks[ref.strategy_id] = await asyncio.wait_for(
                            handle.execute_update("control", inp.control, result_type=StrategyAck),
                            inp.timeout_s,
                        )
                        return
                    except TimeoutError:
                        acks[ref.strategy_id] = missing(
                            ref, "timeout", f"no answer within {inp.timeout_s:g}s"
                        )
                        return
                    except WorkflowUpdateFailedError as e:
                        acks[ref.strategy_id] = missing(ref, "failed", f"refused: {e.cause or e}")
                        return
                    except RPCError as e:
                        if e.status == RPCStatusCode.NOT_FOUND or attempt == NOTIFY_ATTEMPTS - 1:
                            acks[ref.strategy_id] = missing(ref, "failed", f"could not be told: {e.message}")
                            return
                        await asyncio.sleep(0.05 * 2**attempt)

        await asyncio.gather(*(tell(ref) for ref in inp.targets))
        return NotifyResult(acks=acks)

    @activity.defn(name="signal_workflow")
    @translate_errors
    async def signal_workflow(self, inp: SignalInput) -> bool:
        """Signal one workflow; False (not an error) when it does not exist or has closed."""
        try:
            await self._client().get_workflow_handle(inp.workflow_id).signal(inp.signal, inp.arg)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return False
            raise TemporaryError(f"signal {inp.signal} to {inp.workflow_id}: {e.message}") from e
        return True

    async def _cancel(self, row: OrderRow, *, exchange: str, hub_id: str, reason: str) -> bool:
        """Cancel one open order at its venue and record the venue's answer; True if it is cancelled."""
        plan = plan_of(row, exchange=exchange, hub_id=hub_id)
        try:
            venue = await cancel_recorded(self.deps, plan, f"cancelled: {reason}")
        except OrderNotFound:
            return False  # never reached the venue; reconcile reports it if it did
        return venue.status is OrderStatus.CANCELLED

    async def _cancel_open(self, strategy_ids: list[str], *, hub_id: str, reason: str) -> CancelAllResult:
        """Cancel every open order of the strategies, several at a time; a failure is reported, not raised."""
        async with self.deps.sessions() as s:  # reads: no need to queue with the writers
            rows = await repo.unfinished_orders(s, strategy_ids=strategy_ids)
            exchanges = {r.id: r.exchange for r in await repo.list_strategies(s)}
        gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)
        out = CancelAllResult()

        async def one(row: OrderRow) -> None:
            async with gate:
                try:
                    ex = exchanges[row.strategy_id]
                    if await self._cancel(row, exchange=ex, hub_id=hub_id, reason=reason):
                        out.cancelled.append(row.client_order_id)
                except TradingError as e:  # reported, not retried for ever: the others go on
                    out.failed[row.client_order_id] = str(e)

        await asyncio.gather(*(one(r) for r in rows))
        out.cancelled.sort()
        return out

    @activity.defn(name="cancel_open_orders")
    @translate_errors
    async def cancel_open_orders(self, inp: CancelAllInput) -> CancelAllResult:
        """Cancel every open order of the given strategies, several at a time; idempotent."""
        return await self._cancel_open(inp.strategy_ids, hub_id=inp.hub_id, reason=inp.reason)

    @activity.defn(name="control_actions")
    @translate_errors
    async def control_actions(self, inp: ControlActionsInput) -> ControlActions:
        """Cancel the strategy's open orders (if asked) and plan the orders that flatten it (if asked).

        Idempotent: a cancelled order is cancelled again harmlessly, and the flattening
        orders have ids derived from the halt, so their workflows place each once.
        """
        cfg, control = inp.config, inp.control
        ex = self.deps.exchange(cfg.exchange)
        cancelled: list[str] = []
        if control.cancel_open_orders and control.state != "active":
            done = await self._cancel_open([cfg.strategy_id], hub_id=cfg.hub_id, reason=control.reason)
            if done.failed:  # one strategy: let the activity's retries have another go
                raise TemporaryError(f"open orders not cancelled: {done.failed}")
            cancelled = done.cancelled
        to_flatten: list[OrderPlan] = []
        if control.flatten and control.state == "halted":
            async with self.deps.sessions() as s:
                positions = [
                    p for p in await repo.get_positions(s, strategy_id=cfg.strategy_id) if p.qty != 0
                ]
            for leg, p in enumerate(positions):
                last = (await ex.ticker(p.symbol)).last
                to_flatten.append(
                    OrderPlan(
                        strategy_id=cfg.strategy_id,
                        exchange=cfg.exchange,
                        cycle=0,
                        leg=leg,
                        client_order_id=ClientOrderId.for_flatten(
                            cfg.strategy_id, control.control_id, leg
                        ).value,
                        symbol=p.symbol,
                        side="sell" if p.qty > 0 else "buy",
                        qty=abs(p.qty),
                        ref_price=last,
                        time_in_force_s=cfg.order_time_in_force_s,
                        step_mode=cfg.step_mode,
                        hub_id=cfg.hub_id,
                        flatten_of=control.control_id,
                        clear_exits=True,  # the exits go with the position they protect
                    )
                )
        return ControlActions(cancelled=cancelled, to_flatten=to_flatten)
