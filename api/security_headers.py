"""Browser-facing defences: trusted Host headers, JSON-only mutations, security headers.

All pure ASGI middleware, installed by ``harden`` (with the body limits of ``api.limits``):

- ``TrustedHosts`` answers 400 to a Host header not configured (``settings.allowed_hosts``): a
  page on another site whose name is rebound to 127.0.0.1 cannot talk to the API.
- ``JsonOnly`` answers 415 to a POST, PUT, PATCH or DELETE whose body is not JSON, except on the
  paths that take a form or CSV: a cross-site form (which cannot send JSON) cannot act.
- ``SecurityHeaders`` adds nosniff, no framing, no referrer and a Content-Security-Policy to
  every answer, and ``Cache-Control: no-store`` to the sign-in ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI, status
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import BodyLimit
from api.routes.codec import MAX_BODY_BYTES as CODEC_MAX_BODY_BYTES
from worker.settings import Settings

MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths whose bodies are not JSON: the OAuth2 password form, CSV uploads, the codec server.
NOT_JSON = ("/auth/token", "/data/import", "/data/files", "/codec")
# Paths whose body cap is the CSV one (settings.max_import_bytes) instead of the JSON one.
CSV_UPLOADS = ("/data/import", "/data/files")

# The API answers JSON: nothing in it may run, load or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc, from this process's files (api.pages): scripts only from here, styles
# injected at run time, and ReDoc starts a worker from a blob.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
# The console: its own files only, and calls to this API.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
DOCS = ("/docs", "/redoc")
CONSOLE = "/console"


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, code)(scope, receive, send)


def host_of(header: str) -> str:
    """The host of a Host header, without its port, lower-cased ("[::1]:8000" -> "[::1]")."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end > 0 else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHosts:
    """Answer 400 unless the Host header names one of ``allowed`` ("*" allows any, "*.x" a domain)."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        names = {a.strip().lower() for a in allowed if a.strip()}
        self.any = "*" in names
        self.domains = tuple(a[1:] for a in names if a.startswith("*."))
        self.names = frozenset(a for a in names if not a.startswith("*"))

    def allows(self, host: str) -> bool:
        """Whether ``host`` (from ``host_of``) may be served."""
        return self.any or host in self.names or (bool(host) and host.endswith(self.domains))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host", "")
        if self.allows(host_of(header)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _refuse(
            scope,
            receive,
            send,
            status.HTTP_400_BAD_REQUEST,
            f"Host {header[:100]!r} is not served here (allowed: ASTS_ALLOWED_HOSTS)",
        )


def is_json(content_type: str) -> bool:
    """Whether a Content-Type is JSON (application/json, or application/<something>+json)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonOnly:
    """Answer 415 to a mutation with a body that is not JSON, outside the ``exempt`` path prefixes."""

    def __init__(self, app: ASGIApp, *, exempt: Iterable[str] = NOT_JSON) -> None:
        self.app = app
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exempt = scope["type"] != "http" or scope["method"] not in MUTATIONS
        if exempt or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        content_type = headers.get("content-type", "")
        if has_body and not is_json(content_type):
            sent = f"Content-Type {content_type[:100]!r}" if content_type else "no Content-Type"
            await _refuse(
                scope,
                receive,
                send,
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"send the body as JSON (Content-Type: application/json), not {sent}",
            )
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add the security headers to every response (those the app set itself are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS) else CONSOLE_CSP if path.startswith(CONSOLE) else API_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", csp)
                if path.startswith("/auth/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def _names_one_host(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host).is_unspecified  # 0.0.0.0 or :: is every address
    except ValueError:
        return bool(host)  # a name


def allowed_hosts(settings: Settings) -> list[str]:
    """The configured hosts, plus the ones the API is told it is reached at (api_host, api_url)."""
    extra = [settings.api_host, urlsplit(settings.api_url or "").hostname or ""]
    return [*settings.allowed_hosts, *(h for h in extra if _names_one_host(h))]


def harden(app: FastAPI, settings: Settings) -> None:
    """Install the defences, outermost first: headers, Host check, JSON-only mutations, body caps."""
    caps = dict.fromkeys(CSV_UPLOADS, settings.max_import_bytes)
    caps["/codec"] = CODEC_MAX_BODY_BYTES  # the Web UI sends a history's payloads (Temporal allows 2 MB each)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, caps=caps)
    app.add_middleware(JsonOnly)
    app.add_middleware(TrustedHosts, allowed=allowed_hosts(settings))
    app.add_middleware(SecurityHeaders)
