"""NeuroHub: the kill switch (``POST /halt``), ``POST /resume`` and ``GET /neurohub``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError

from activities.contracts import ControlResult, HubCommand, HubGateChange, HubStatus
from activities.control import write_hub_gate
from activities.deps import utcnow
from api.deps import ClientDep, SessionDep, SettingsDep
from api.schemas import ControlPublic, HubHaltBody, ResumeBody
from worker.runtime import ensure_hub, hub_config
from worker.settings import Settings
from workflows.neurohub import NeuroHubWorkflow

router = APIRouter(tags=["neurohub"])

RPC_TIMEOUT = timedelta(seconds=10)
# A halt NeuroHub has not taken within this long is applied to the store directly.
ACCEPT_TIMEOUT = timedelta(seconds=5)
# Time allowed on top of the acknowledgement timeout for the gate itself and the answer.
UPDATE_MARGIN = timedelta(seconds=30)


async def hub_handle(client: Client, settings: Settings) -> WorkflowHandle[NeuroHubWorkflow, HubStatus]:
    """NeuroHub's handle, started first if it is not running (a kill switch must not depend on it)."""
    try:
        await ensure_hub(
            client, hub_id=settings.hub_id, task_queue=settings.task_queue, config=hub_config(settings)
        )
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    return client.get_workflow_handle_for(NeuroHubWorkflow.run, settings.hub_id)  # type: ignore[arg-type]


async def _command(
    client: Client, settings: Settings, session: AsyncSession, update: str, cmd: HubCommand
) -> ControlPublic:
    handle = await hub_handle(client, settings)
    timeout = UPDATE_MARGIN + timedelta(seconds=cmd.ack_timeout_s if cmd.wait == "all" else 0)
    try:
        started = await handle.start_update(
            update,
            cmd,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=ControlResult,
            rpc_timeout=ACCEPT_TIMEOUT,
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        if cmd.state != "active":  # a halt must not depend on a worker being up
            return await _close_directly(session, settings, cmd)
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, detail=f"{update} not taken by NeuroHub: is a worker running?"
        ) from None
    except WorkflowUpdateFailedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{update} refused: {e.cause or e}") from None
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    try:
        result = await started.result(rpc_timeout=timeout)
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, detail=f"{update} unconfirmed after {timeout.seconds}s"
        ) from None
    except WorkflowUpdateFailedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{update} failed: {e.cause or e}") from None
    except RPCError as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"Temporal: {e}") from None
    latency = (result.gate_changed_at - result.requested_at).total_seconds() * 1000
    return ControlPublic(
        **result.model_dump(), unacknowledged_strategies=result.unacknowledged, gate_latency_ms=latency
    )


async def _close_directly(session: AsyncSession, settings: Settings, cmd: HubCommand) -> ControlPublic:
    """NeuroHub did not take the command (no worker runs it): close the global gate in the store.

    Every placement checks that gate, so from the commit on no order is placed, with or
    without NeuroHub. The command stays queued in Temporal: once a worker runs NeuroHub
    it is applied again (harmlessly) and the strategies are told.
    """
    asked = utcnow()
    control_id = f"direct-{uuid.uuid4()}"
    note = (
        f"NeuroHub did not take the command within {ACCEPT_TIMEOUT.seconds}s (is a worker running?): "
        "the global gate was closed directly in the store; strategies are told once NeuroHub runs"
    )
    change = HubGateChange(
        hub_id=settings.hub_id, control_id=control_id, state=cmd.state, reason=cmd.reason, actor=cmd.actor
    )
    async with session.begin():
        await write_hub_gate(session, change, direct=True)
    closed = utcnow()
    return ControlPublic(
        control_id=control_id,
        hub_id=settings.hub_id,
        state=cmd.state,
        reason=cmd.reason,
        actor=cmd.actor,
        requested_at=asked,
        gate_changed_at=closed,
        answered_at=closed,
        gate_latency_ms=(closed - asked).total_seconds() * 1000,
        note=note,
    )


@router.post("/halt", response_model=ControlPublic)
async def halt_all(
    body: HubHaltBody, client: ClientDep, settings: SettingsDep, session: SessionDep
) -> ControlPublic:
    """Kill switch: every strategy at once. Answers once no order can be placed anywhere
    (``wait="all"``: once every strategy has acknowledged, or the timeout names those that did not)."""
    cmd = HubCommand(
        state="reducing" if body.reduce_only else "halted",
        reason=body.reason,
        actor=body.actor,
        cancel_open_orders=body.cancel_open_orders,
        flatten=body.flatten,
        wait=body.wait,
        ack_timeout_s=float(body.ack_timeout),
    )
    return await _command(client, settings, session, "halt", cmd)


@router.post("/resume", response_model=ControlPublic)
async def resume_all(
    body: ResumeBody, client: ClientDep, settings: SettingsDep, session: SessionDep
) -> ControlPublic:
    """Reopen the global gate; strategies not halted on their own resume their cycles."""
    cmd = HubCommand(
        state="active",
        reason=body.reason,
        actor=body.actor,
        wait=body.wait,
        ack_timeout_s=float(body.ack_timeout),
    )
    return await _command(client, settings, session, "resume", cmd)


@router.get("/neurohub", response_model=HubStatus)
async def neurohub_status(client: ClientDep, settings: SettingsDep) -> HubStatus:
    """Global state, each strategy's exposure and PnL, every breaker with its headroom."""
    handle = await hub_handle(client, settings)
    try:
        return await handle.query(NeuroHubWorkflow.status, rpc_timeout=RPC_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError) as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"NeuroHub did not answer: {e}"
        ) from None
