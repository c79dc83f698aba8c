"""Local receivers that speak each notification channel's protocol, on 127.0.0.1.

- ``POST /hook``: a signed webhook; it checks the HMAC signature and keeps what it got.
- ``POST /bot<token>/sendMessage``: Telegram's Bot API (answers ``{"ok": true, "result": ...}``,
  401 ``{"ok": false}`` for another token, 400 without a chat or text).
- ``POST /slack``: a Slack-compatible incoming webhook (answers ``ok`` as plain text).

``fail_next`` makes the next requests of a receiver answer an error status (a 5xx, a 429 or a
refusal), to see the sender retry or give up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from worker.launcher import free_port

HOOK_SECRET = "hook-secret-for-tests"
BOT_TOKEN = "123456:bot-token-for-tests"


@dataclass
class Received:
    """What the receivers got, by receiver."""

    hook: list[dict[str, Any]] = field(default_factory=list)
    hook_deliveries: list[str] = field(default_factory=list)
    telegram: list[dict[str, Any]] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    fail_next: dict[str, list[int]] = field(default_factory=dict)

    def failure(self, receiver: str) -> int | None:
        queue = self.fail_next.get(receiver) or []
        return queue.pop(0) if queue else None


def receivers_app(got: Received) -> FastAPI:
    """The three receivers on one app."""
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        if (status := got.failure("hook")) is not None:
            return PlainTextResponse("no", status_code=status)
        body = await request.body()
        stamp = request.headers.get("x-asts-timestamp", "")
        mac = hmac.new(HOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-asts-signature", ""), "sha256=" + mac):
            got.bad_signatures += 1
            return PlainTextResponse("bad signature", status_code=401)
        got.hook.append(json.loads(body))
        got.hook_deliveries.append(request.headers["x-asts-delivery"])
        return Response(status_code=204)

    @app.post("/bot{token}/sendMessage")
    async def telegram(token: str, request: Request) -> Response:
        if (status := got.failure("telegram")) is not None:
            return JSONResponse({"ok": False, "error_code": status}, status_code=status)
        if token != BOT_TOKEN:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        msg = await request.json()
        if not msg.get("chat_id") or not msg.get("text"):
            return JSONResponse({"ok": False, "error_code": 400, "description": "Bad Request"}, 400)
        got.telegram.append(msg)
        return JSONResponse({"ok": True, "result": {"message_id": len(got.telegram), "text": msg["text"]}})

    @app.post("/slack")
    async def slack(request: Request) -> Response:
        if (status := got.failure("slack")) is not None:
            return PlainTextResponse("invalid_payload", status_code=status)
        msg = await request.json()
        if not isinstance(msg.get("text"), str):
            return PlainTextResponse("no_text", status_code=400)
        got.slack.append(msg)
        return PlainTextResponse("ok")

    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(got: Received) -> AsyncIterator[str]:
    """Serve the receivers on 127.0.0.1; yield the base URL."""
    port = free_port()
    server = _Server(uvicorn.Config(receivers_app(got), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
