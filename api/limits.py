"""Request body limits: a body over its cap is refused with 413 before it is parsed.

``BodyLimit`` is pure ASGI middleware. A ``Content-Length`` over the cap is answered at once,
without reading a byte of the body; a body sent without a length (chunked) is counted as it
arrives, and once it grows over the cap the 413 is sent there and then, and the app is told the
client went away (what it answers after that is dropped). Each path prefix may have a cap of its
own (the CSV uploads); every other body has the JSON cap.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request, status
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """A request body over its cap (413)."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the request body is over the {cap} bytes allowed here"
        )


class BodyLimit:
    """Refuse a request body over ``default`` bytes (or the cap of the longest matching prefix)."""

    def __init__(self, app: ASGIApp, *, default: int, caps: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        # Longest prefix first, so "/data/import" wins over "/data".
        self.caps = sorted((caps or {}).items(), key=lambda kv: -len(kv[0]))

    def cap_of(self, path: str) -> int:
        """The cap of the requests to ``path``."""
        return next((cap for prefix, cap in self.caps if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_of(scope["path"])
        too_large = BodyTooLarge(cap)
        refusal = JSONResponse({"detail": too_large.detail}, too_large.status_code)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                detail = f"Content-Length {declared[:40]!r} is not a number of bytes"
                await JSONResponse({"detail": detail}, status.HTTP_400_BAD_REQUEST)(scope, receive, send)
                return
            if int(declared) > cap:
                await refusal(scope, receive, send)
                return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap and not started:
                    # Answer now (the app has not), and tell the app the client is gone.
                    refused = True
                    await refusal(scope, receive, send)
                    return {"type": "http.disconnect"}
                if received > cap:  # the app answered already: it reads on at its own risk
                    raise too_large
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:  # the 413 went out: whatever the app answers to the disconnect is dropped
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:
                raise


async def read_capped(request: Request, cap: int) -> bytes:
    """The request's body, read in chunks; ``BodyTooLarge`` as soon as it grows over ``cap``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(cap)
        chunks.append(chunk)
    return b"".join(chunks)
