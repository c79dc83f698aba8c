"""The delivery step: send the chosen events and fills to every notification channel.

Each channel keeps its own place (``store.repo.notify``): a channel first seen starts at the
newest event and fill, so nothing from before it is sent. Rows are sent oldest first; each one's
outcome is recorded right after its request, keyed by (channel, row), so a round run again sends
nothing twice. A temporary failure (network, 5xx, 429) keeps the row pending and stops the
channel's round, to keep the order; after ``MAX_ATTEMPTS`` rounds, or on a refusal (other 4xx),
the row is recorded failed and the channel goes on. A request answered but not recorded (the
worker died in between) is sent again: webhooks carry the same ``X-ASTS-Delivery`` id then.

Rows committed out of id order are found too: a round looks ``WINDOW`` ids below its cursor for
rows it is not done with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
from temporalio import activity

from activities.deps import Deps, translate_errors, utcnow
from activities.notify_contracts import NotifyChannel, NotifyResult, NotifyRun
from store import repo
from store.models import FillRow, RiskEventRow
from store.repo.notify import Source

BATCH = 100  # rows per channel and source in one round
WINDOW = 1000  # ids below the cursor looked at again for rows committed late
MAX_ATTEMPTS = 5
TIMEOUT_S = 10.0


class Temporary(Exception):
    """The channel may take it later."""


class Refused(Exception):
    """The channel will never take it."""


def event_payload(row: RiskEventRow) -> dict[str, Any]:
    """The JSON a webhook receives for an event."""
    return {
        "id": f"event-{row.id}",
        "type": row.kind,
        "strategy_id": row.strategy_id,
        "cycle": row.cycle,
        "symbol": row.symbol,
        "reason": row.reason,
        "data": row.data,
        "at": row.created_at.isoformat(),
        "text": event_text(row),
    }


def event_text(row: RiskEventRow) -> str:
    """One line for a chat."""
    where = " ".join(x for x in (row.strategy_id or "all strategies", row.symbol or "") if x)
    return f"ASTS {row.kind.replace('_', ' ')}: {where}: {row.reason}"


def fill_payload(row: FillRow) -> dict[str, Any]:
    """The JSON a webhook receives for a fill."""
    return {
        "id": f"fill-{row.id}",
        "type": "fill",
        "strategy_id": row.strategy_id,
        "symbol": row.symbol,
        "side": row.side,
        "qty": _num(row.qty),
        "price": _num(row.price),
        "fee": _num(row.fee),
        "client_order_id": row.client_order_id,
        "fill_id": row.fill_id,
        "at": row.ts.isoformat(),
        "text": fill_text(row),
    }


def fill_text(row: FillRow) -> str:
    """One line for a chat."""
    return (
        f"ASTS fill: {row.strategy_id} {row.side} {_num(row.qty)} {row.symbol} at {_num(row.price)} "
        f"(fee {_num(row.fee)})"
    )


def _num(x: Decimal) -> str:
    return format(x.normalize(), "f")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def send(http: httpx.AsyncClient, channel: NotifyChannel, payload: dict[str, Any]) -> None:
    """Deliver one message by the channel's protocol; raise Temporary or Refused. Errors never
    name the URL (a Telegram bot's token is in it)."""
    secret = channel.secret.get_secret_value() if channel.secret is not None else ""
    try:
        if channel.kind == "webhook":
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            stamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "x-asts-delivery": payload["id"],
                "x-asts-timestamp": stamp,
                "x-asts-signature": signature(secret, stamp, body),
            }
            r = await http.post(channel.base_url, content=body, headers=headers)
        elif channel.kind == "telegram":
            r = await http.post(
                f"{channel.base_url}/bot{secret}/sendMessage",
                json={"chat_id": channel.chat_id, "text": payload["text"], "disable_web_page_preview": True},
            )
        else:
            r = await http.post(channel.base_url, json={"text": payload["text"]})
    except httpx.HTTPError as e:
        raise Temporary(f"{channel.kind} {channel.name}: {type(e).__name__}") from None
    _judge(channel, r)


def _judge(channel: NotifyChannel, r: httpx.Response) -> None:
    what = f"{channel.kind} {channel.name} answered {r.status_code}"
    if r.status_code == 429 or r.status_code >= 500:
        raise Temporary(what)
    if r.status_code >= 300:
        raise Refused(f"{what}: {r.text[:200]}")
    if channel.kind == "telegram":
        try:
            ok = bool(r.json().get("ok"))
        except ValueError:
            ok = False
        if not ok:
            raise Refused(f"{what} without ok: {r.text[:200]}")


class NotifyActivities:
    """Notification delivery."""

    def __init__(self, deps: Deps, channels: list[NotifyChannel] | None = None) -> None:
        self.deps = deps
        self.channels = list(channels or [])

    @activity.defn(name="deliver_notifications")
    @translate_errors
    async def deliver_notifications(self, inp: NotifyRun) -> NotifyResult:
        """One round over every channel (see the module docstring)."""
        result = NotifyResult()
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as http:
            for channel in self.channels:
                await self._source(http, channel, "event", result)
                if channel.fills:
                    await self._source(http, channel, "fill", result)
        return result

    async def _source(
        self, http: httpx.AsyncClient, channel: NotifyChannel, source: Source, result: NotifyResult
    ) -> None:
        async with self.deps.transaction() as s:
            start = await repo.notify_start(s, channel=channel.name, source=source)
            if start is None:  # a new channel starts now: nothing from before it
                latest = await repo.latest_id(s, source=source)
                await repo.set_notification(
                    s, channel=channel.name, source=source, source_id=latest, status="start",
                    attempts=0, error="", now=utcnow(),
                )  # fmt: skip
                return
            cursor = await repo.notify_cursor(s, channel=channel.name, source=source) or start
            above = max(start, cursor - WINDOW)
            rows: list[tuple[int, dict[str, Any]]]
            if source == "event":
                events = await repo.unsent_events(
                    s, channel=channel.name, above=above, kinds=channel.events, limit=BATCH
                )
                rows = [(e.id, event_payload(e)) for e in events]
            else:
                fills = await repo.unsent_fills(s, channel=channel.name, above=above, limit=BATCH)
                rows = [(f.id, fill_payload(f)) for f in fills]
        for row_id, payload in rows:
            activity.heartbeat(row_id)
            if not await self._one(channel, source, row_id, partial(send, http, channel, payload), result):
                return  # keep the order: the rest waits for this one

    async def _one(
        self,
        channel: NotifyChannel,
        source: Source,
        row_id: int,
        deliver: Callable[[], Awaitable[None]],
        result: NotifyResult,
    ) -> bool:
        """Send one row and record how it went; False when the channel's round should stop."""
        async with self.deps.sessions() as s:
            prior = await repo.get_notification(s, channel=channel.name, source=source, source_id=row_id)
        attempts = (prior.attempts if prior is not None else 0) + 1
        status, error, go_on = "sent", "", True
        try:
            await deliver()
        except Refused as e:
            status, error = "failed", str(e)
        except Temporary as e:
            error = str(e)
            status, go_on = ("failed", True) if attempts >= MAX_ATTEMPTS else ("pending", False)
        async with self.deps.transaction() as s:
            await repo.set_notification(
                s, channel=channel.name, source=source, source_id=row_id, status=status,
                attempts=attempts, error=error, now=utcnow(),
            )  # fmt: skip
        if status == "sent":
            result.sent += 1
        elif status == "failed":
            result.failed += 1
            result.problems.append(f"{source} {row_id}: {error}")
        else:
            result.pending += 1
        return go_on
