"""NeuroHub: the kill switch (``POST /halt``), ``POST /resume`` and ``GET /neurohub``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, status
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
from api.auth.deps import RiskUser, ViewerUser
from api.deps import ClientDep, SessionDep, SettingsDep
from api.schemas import ControlPublic, HubHaltBody, ResumeBody
from worker.runtime import ensure_hub, hub_config
from worker.settings import Settings
from workflows.neurohub import NeuroHubWorkflow

router = APIRouter(tags=["neurohub"])

RPC_TIMEOUT = timedelta(seconds=10)
# Time allowed on top of the acknowledgement timeout for the gate itself and the answer.
UPDATE_MARGIN = timedelta(seconds=30)


async def hub_handle(client: Client, settings: Settings) -> WorkflowHandle[NeuroHubWorkflow, HubStatus]:
    """NeuroHub's handle, started first if it is not running."""
    await ensure_hub(
        client, hub_id=settings.hub_id, task_queue=settings.task_queue, config=hub_config(settings)
    )
    return client.get_workflow_handle_for(NeuroHubWorkflow.run, settings.hub_id)  # type: ignore[arg-type]


async def _close_first(session: AsyncSession, settings: Settings, cmd: HubCommand) -> HubCommand:
    """Close (or narrow) the global gate in the store before asking NeuroHub, and record who and why.

    Every placement checks that gate in its own transaction, so from this commit on no
    order is placed, whatever NeuroHub's backlog and whether or not a worker runs it.
    NeuroHub then applies the same command under the same id (the gate write and the
    audit event are idempotent), tells the strategies and collects their answers.
    """
    control_id = str(uuid.uuid4())
    change = HubGateChange(
        hub_id=settings.hub_id,
        control_id=control_id,
        state=cmd.state,
        reason=cmd.reason,
        actor=cmd.actor,
        flatten=cmd.flatten,
    )
    async with session.begin():
        await write_hub_gate(session, change)
    return cmd.model_copy(update={"control_id": control_id, "gate_changed_at": utcnow()})


def _untold(settings: Settings, cmd: HubCommand, asked: datetime, why: str) -> ControlPublic:
    """The answer when the gate is closed but NeuroHub did not take the command."""
    changed_at = cmd.gate_changed_at or asked  # set by _close_first before any untold answer
    return ControlPublic(
        control_id=cmd.control_id,
        hub_id=settings.hub_id,
        state=cmd.state,
        reason=cmd.reason,
        actor=cmd.actor,
        requested_at=asked,
        gate_changed_at=changed_at,
        answered_at=utcnow(),
        gate_latency_ms=(changed_at - asked).total_seconds() * 1000,
        note=(
            f"the global gate is closed in the store, but NeuroHub did not take the command ({why}); "
            "the command stays queued and the strategies are told once a worker runs NeuroHub"
        ),
    )


async def _command(
    client: Client, settings: Settings, session: AsyncSession, update: str, cmd: HubCommand
) -> ControlPublic:
    asked = utcnow()
    if cmd.state != "active":  # a halt does not wait for anything but its own transaction
        cmd = await _close_first(session, settings, cmd)
    timeout = UPDATE_MARGIN + timedelta(seconds=cmd.ack_timeout_s if cmd.wait == "all" else 0)
    accept = timedelta(seconds=settings.hub_accept_timeout_s)
    try:
        handle = await hub_handle(client, settings)
        started = await handle.start_update(
            update,
            cmd,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=ControlResult,
            rpc_timeout=accept,
        )
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        if cmd.control_id:
            return _untold(
                settings,
                cmd,
                asked,
                f"not taken within {settings.hub_accept_timeout_s:g}s: is a worker running?",
            )
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT, detail=f"{update} not taken by NeuroHub: is a worker running?"
        ) from None
    except WorkflowUpdateFailedError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{update} refused: {e.cause or e}") from None
    except RPCError as e:
        if cmd.control_id:
            return _untold(settings, cmd, asked, f"Temporal: {e}")
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
    latency = (result.gate_changed_at - asked).total_seconds() * 1000
    return ControlPublic(
        **(result.model_dump() | {"requested_at": asked}),
        unacknowledged_strategies=result.unacknowledged,
        gate_latency_ms=latency,
    )


@router.post("/halt", response_model=ControlPublic)
async def halt_all(
    body: HubHaltBody,
    user: RiskUser,
    client: ClientDep,
    settings: SettingsDep,
    session: SessionDep,
    request: Request,
) -> ControlPublic:
    """Kill switch: every strategy at once. Answers once no order can be placed anywhere
    (``wait="all"``: once every strategy has acknowledged, or the timeout names those that did not)."""
    cmd = HubCommand(
        state="reducing" if body.reduce_only else "halted",
        reason=body.reason,
        actor=user.name,
        cancel_open_orders=body.cancel_open_orders,
        flatten=body.flatten,
        wait=body.wait,
        ack_timeout_s=float(body.ack_timeout),
    )
    try:
        return await _command(client, settings, session, "halt", cmd)
    finally:
        request.app.state.hub_status.clear()  # the next GET /neurohub asks the workflow


@router.post("/resume", response_model=ControlPublic)
async def resume_all(
    body: ResumeBody,
    user: RiskUser,
    client: ClientDep,
    settings: SettingsDep,
    session: SessionDep,
    request: Request,
) -> ControlPublic:
    """Reopen the global gate; strategies not halted on their own resume their cycles."""
    cmd = HubCommand(
        state="active",
        reason=body.reason,
        actor=user.name,
        wait=body.wait,
        ack_timeout_s=float(body.ack_timeout),
    )
    try:
        return await _command(client, settings, session, "resume", cmd)
    finally:
        request.app.state.hub_status.clear()


@router.get("/neurohub", response_model=HubStatus)
async def neurohub_status(
    user: ViewerUser, client: ClientDep, settings: SettingsDep, request: Request
) -> HubStatus:
    """Global state, each strategy's exposure and PnL, every breaker with its headroom (one
    query of the workflow answers every request of the same half second)."""

    async def query() -> HubStatus:
        handle = await hub_handle(client, settings)
        return await handle.query(NeuroHubWorkflow.status, rpc_timeout=RPC_TIMEOUT)

    try:
        return await request.app.state.hub_status.get(settings.hub_id, query)
    except (RPCError, WorkflowQueryFailedError) as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"NeuroHub did not answer: {e}"
        ) from None
