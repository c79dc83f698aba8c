"""``POST /strategies/{id}/upgrade``: move a running strategy onto the code its type has now.

A strategy keeps trading on the code version it was started with (its source is recorded),
even after its file changes and the worker restarts; only this call, by its owner (or an
admin), moves it onto the version loaded now. The move is recorded as a ``code_upgraded`` event.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, status
from temporalio.service import RPCError

from activities.deps import utcnow
from activities.strategy_code import record_code
from api.auth.deps import TraderUser
from api.deps import ClientDep, SessionDep
from api.routes.strategies import StrategyId, _row, check_owner
from api.schemas import CodeUpgradePublic
from api.temporal import signal_latest
from asts.registry import current
from store import repo
from workflows.options import strategy_workflow_id
from workflows.strategy import StrategyWorkflow

router = APIRouter(prefix="/strategies", tags=["strategies"])


@router.post("/{strategy_id}/upgrade", response_model=CodeUpgradePublic)
async def upgrade_code(
    strategy_id: StrategyId, user: TraderUser, client: ClientDep, session: SessionDep
) -> CodeUpgradePublic:
    """Run the strategy on its type's current code version from its next cycle on; its owner (or
    an admin) only. Already on it: nothing changes (``changed`` false)."""
    row = await _row(session, strategy_id)
    check_owner(user, row, "upgrade the code of", override="")
    if row.status == "stopped":
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"{strategy_id} is stopped: start a new strategy"
        )
    kind = current().get(row.type)
    before = row.code_version
    if before == kind.version:
        return CodeUpgradePublic(
            strategy_id=strategy_id, from_version=before, to_version=kind.version, changed=False
        )
    now = utcnow()
    await record_code(session, kind, now=now)
    await session.commit()  # the source first: a cycle on the new version must find it
    handle = client.get_workflow_handle(strategy_workflow_id(strategy_id))
    try:
        await signal_latest(handle, StrategyWorkflow.upgrade_code, kind.version)
    except RPCError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"cannot upgrade {strategy_id}: {e}") from None
    await repo.set_strategy_code_version(session, strategy_id=strategy_id, version=kind.version, now=now)
    await repo.record_event(
        session,
        event_key=f"upgrade-{strategy_id}-{secrets.token_hex(6)}",
        kind="code_upgraded",
        reason=f"{user.name} upgraded {row.type} from {before or 'an unversioned start'} to {kind.version}",
        now=now,
        strategy_id=strategy_id,
        data={"actor": user.name, "from": before, "to": kind.version, "origin": kind.origin},
    )
    await session.commit()
    return CodeUpgradePublic(
        strategy_id=strategy_id, from_version=before, to_version=kind.version, changed=True
    )
