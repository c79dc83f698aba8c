"""Notifications: each channel gets each chosen event and fill once, in order, by its own protocol
(local receivers on 127.0.0.1 that speak it), retries what fails for a while, and never shows a
secret (real store, real HTTP, real Temporal for the notifier workflow)."""

from __future__ import annotations

import asyncio
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.deps import Deps, utcnow
from activities.notify import MAX_ATTEMPTS, NotifyActivities
from activities.notify_contracts import NotifyChannel, NotifyResult, NotifyRun
from activities.orders import OrderActivities
from store import repo
from store.models import NotificationRow, RiskEventRow
from tests.activities.notify_receivers import BOT_TOKEN, HOOK_SECRET, Received, serving
from tests.api.live import poll
from tests.conftest import running_worker
from tests.factories import insert_strategy, make_config
from tests.workflows.test_order_workflow import make_plan
from workflows.notify import NotifierWorkflow


def channels(base: str, **slack: Any) -> list[NotifyChannel]:
    return [
        NotifyChannel(name="desk", kind="webhook", url=f"{base}/hook", secret=SecretStr(HOOK_SECRET)),
        NotifyChannel(name="tg", kind="telegram", url=base, secret=SecretStr(BOT_TOKEN), chat_id="-1001"),
        NotifyChannel(name="ops", kind="slack", url=f"{base}/slack", **slack),
    ]


async def event(deps: Deps, kind: str, *, reason: str = "why", strategy_id: str | None = "s1") -> None:
    async with deps.transaction() as s:
        await repo.record_event(
            s, event_key=f"t-{uuid.uuid4()}", kind=kind, reason=reason, now=utcnow(), strategy_id=strategy_id
        )


async def deliver(acts: NotifyActivities) -> NotifyResult:
    return await ActivityEnvironment().run(acts.deliver_notifications, NotifyRun())


async def test_each_channel_gets_each_chosen_event_and_fill_once(deps: Deps) -> None:
    got = Received()
    async with serving(got) as base:
        acts = NotifyActivities(deps, channels(base, events=["halt"], fills=False))
        await event(deps, "halt", reason="from before the channels")
        assert (await deliver(acts)).sent == 0  # a channel starts now: nothing from before it
        await event(deps, "halt", reason="risk desk says stop")
        await event(deps, "risk_rejected")  # not a chosen kind
        cfg = make_config()
        await insert_strategy(deps, cfg)
        placed = await ActivityEnvironment().run(
            OrderActivities(deps).place_order, make_plan(cfg.strategy_id, qty=Decimal(3))
        )
        assert placed.status == "filled"
        first = await deliver(acts)
        assert (first.sent, first.failed, first.pending) == (5, 0, 0)
        again = await deliver(acts)
        assert again.sent == 0  # nothing twice
    assert [m["type"] for m in got.hook] == ["halt", "fill"] and got.bad_signatures == 0
    halt, fill = got.hook
    assert halt["reason"] == "risk desk says stop" and halt["strategy_id"] == "s1"
    assert got.hook_deliveries == [halt["id"], fill["id"]]
    assert (fill["side"], fill["qty"], fill["symbol"]) == ("buy", "3", "MSFT/USD")
    assert fill["strategy_id"] == cfg.strategy_id and Decimal(fill["price"]) == placed.avg_price
    assert [m["chat_id"] for m in got.telegram] == ["-1001", "-1001"]
    assert got.telegram[0]["text"] == "ASTS halt: s1: risk desk says stop"
    assert got.telegram[1]["text"].startswith(f"ASTS fill: {cfg.strategy_id} buy 3 MSFT/USD at ")
    assert got.slack == [{"text": "ASTS halt: s1: risk desk says stop"}]  # its own choice: halts only


async def test_a_temporary_failure_is_retried_in_order_and_a_refusal_is_given_up(deps: Deps) -> None:
    got = Received()
    async with serving(got) as base:
        acts = NotifyActivities(deps, channels(base, fills=False))
        await deliver(acts)  # the channels start here
        await event(deps, "halt", reason="one")
        await event(deps, "resume", reason="two")
        got.fail_next = {"hook": [503], "telegram": [429], "slack": [400]}
        first = await deliver(acts)
        # the webhook and Telegram wait at the first (order kept); Slack refused it and went on
        assert (first.sent, first.failed, first.pending) == (1, 1, 2)
        assert (
            got.hook == []
            and got.telegram == []
            and [m["text"] for m in got.slack] == ["ASTS resume: s1: two"]
        )
        second = await deliver(acts)
        assert (second.sent, second.pending) == (4, 0)
        got.fail_next = {"hook": [502] * MAX_ATTEMPTS}
        await event(deps, "stop", reason="three")
        await event(deps, "halt", reason="four")
        for _ in range(MAX_ATTEMPTS):
            await deliver(acts)
    assert [m["reason"] for m in got.hook] == ["one", "two", "four"]  # "three" out of attempts
    assert [m["text"].rsplit(": ", 1)[1] for m in got.telegram] == ["one", "two", "three", "four"]
    async with deps.sessions() as s:
        rows = list(
            await s.scalars(NotificationRow.__table__.select().where(NotificationRow.status == "failed"))
        )
    assert len(rows) == 2  # Slack's refusal and the webhook's last try


async def test_a_row_committed_behind_the_cursor_is_still_sent_and_secrets_never_show(deps: Deps) -> None:
    got = Received()
    async with serving(got) as base:
        wrong = NotifyChannel(
            name="bad", kind="telegram", url=base, secret=SecretStr("999:wrong"), chat_id="1"
        )
        acts = NotifyActivities(deps, [*channels(base, fills=False), wrong])
        await deliver(acts)
        async with deps.sessions() as s:
            start = await repo.latest_id(s, source="event")
        async with deps.transaction() as s:  # two writers: the later id commits first
            s.add(RiskEventRow(id=start + 10, event_key="later", kind="halt", reason="later", data={},
                               created_at=utcnow()))  # fmt: skip
        await deliver(acts)
        async with deps.transaction() as s:
            s.add(RiskEventRow(id=start + 5, event_key="earlier", kind="halt", reason="earlier", data={},
                               created_at=utcnow()))  # fmt: skip
        result = await deliver(acts)
    assert [m["reason"] for m in got.hook] == ["later", "earlier"]
    assert result.failed == 1 and "answered 401" in result.problems[0]
    async with deps.sessions() as s:
        errors = list(await s.scalars(select(NotificationRow.error)))
    assert all("999:wrong" not in str(e) and BOT_TOKEN not in str(e) for e in errors)
    assert "999:wrong" not in repr(wrong) and "999:wrong" not in wrong.model_dump_json()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "telegram", "chat_id": "1"}, "telegram needs secret"),
        ({"kind": "webhook", "url": "http://127.0.0.1/x"}, "needs a secret to sign with"),
        ({"kind": "slack", "url": "ftp://x"}, "needs an http(s) url"),
        ({"kind": "email", "url": "http://x"}, "Input should be 'webhook', 'telegram' or 'slack'"),
    ],
)
def test_a_channel_missing_what_its_protocol_needs_is_refused(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        NotifyChannel(name="c", **fields)


async def test_the_notifier_workflow_delivers_round_after_round(
    dev_env: WorkflowEnvironment, deps: Deps
) -> None:
    got = Received()
    async with serving(got) as base:
        deps.notify_channels = channels(base)
        async with running_worker(dev_env.client, deps) as tq:
            handle = await dev_env.client.start_workflow(
                NotifierWorkflow.run, 0.5, id=f"notifier-{uuid.uuid4()}", task_queue=tq
            )
            try:
                await asyncio.sleep(1.5)  # its first round starts the channels
                await event(deps, "kill_switch", reason="flatten everything", strategy_id=None)

                async def arrived() -> bool:
                    return bool(got.hook and got.telegram and got.slack)

                await poll(arrived, "the kill switch at every channel", timeout=20)
            finally:
                await handle.terminate()
    assert got.slack == [{"text": "ASTS kill switch: all strategies: flatten everything"}]
