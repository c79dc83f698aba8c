"""``GET /stream``: the change feed as server-sent events (see ``api.stream``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from api.auth.deps import VIEWER, bearer
from api.auth.service import AuthError, authenticate
from api.stream import TOPIC_NAMES, ChangeFeed

router = APIRouter(tags=["stream"])

EVENT_STREAM = "text/event-stream"


@router.get(
    "/stream",
    dependencies=[VIEWER],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            "description": "change events: `event: change` with `data: {topic, strategy_id, ref}` "
            f"(topics: {', '.join(TOPIC_NAMES)}), `event: reset` (read everything again), "
            "`: ping` comments",
        },
        503: {"description": "this process serves as many streams as it may"},
    },
)
async def stream(
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """What changed in the books, as it happens: each event names a topic, the strategy and the
    row to read again. Send ``Last-Event-ID`` to resume after a reconnect; the stream ends when
    the caller's token stops being valid (sign in or refresh, then reconnect)."""
    feed: ChangeFeed = request.app.state.feed
    settings = request.app.state.settings
    if feed.listeners >= settings.max_streams:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"this API process serves {settings.max_streams} streams at most: poll instead",
            headers={"Retry-After": "10"},
        )
    token = await bearer(request) or ""
    sessions = request.app.state.sessions

    async def still_allowed() -> bool:
        try:
            await authenticate(sessions, settings, token)
        except AuthError:
            return False
        return True

    return StreamingResponse(
        feed.frames(last_event_id, still_allowed, settings.stream_recheck_s),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
