"""Temporal's codec-server protocol at ``/codec``: the Web UI sends payloads here to show them decoded.

``POST /codec/decode`` and ``POST /codec/encode`` take and return
``{"payloads": [{"metadata": {key: base64}, "data": base64}]}`` (header ``X-Namespace``),
using the very codec of the API's Temporal client. The UI calls them from the user's browser,
so they answer CORS for the UI's exact origins (``Settings.ui_origins``), and for nothing else
of the API. Bodies are capped (4 MiB, 1000 payloads).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from api.auth.deps import bearer
from api.limits import BodyTooLarge, read_capped
from worker.codec import CodecError
from worker.settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PAYLOADS = 1000
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = ("content-type", "x-namespace", "authorization")
PREFLIGHT_MAX_AGE_S = 600


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def cors_headers(request: Request) -> dict[str, str]:
    """The CORS answer to this request's ``Origin``: allowed only for the UI's exact origins."""
    origin = request.headers.get("origin")
    if origin is not None and origin in _settings(request).ui_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class CodecAccess:
    """Who may use the codec: any signed-in user; in development also any loopback client.

    The embedded Web UI cannot send a token, and in development it runs in the user's own
    browser on this machine, so there a loopback address is enough. A browser page from
    another origin is refused before anything else.
    """

    # Any role (every role may read); api/auth/access.py reads this to prove the route is guarded.
    roles = ("viewer",)

    async def __call__(self, request: Request, _token: Annotated[str | None, Depends(bearer)] = None) -> None:
        settings = _settings(request)
        cors = cors_headers(request)
        origin = request.headers.get("origin")
        if origin is not None and origin not in settings.ui_origins:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"origin {origin} may not use the codec")
        if settings.env == "development" and _loopback(request):
            return
        # Any valid bearer token, of any role: require_principal returns its principal or raises
        # 401. Imported when needed (development on loopback never reaches it).
        from api.auth.deps import require_principal

        try:
            await require_principal(request)
        except HTTPException as e:
            raise HTTPException(
                e.status_code, detail=e.detail, headers={**(e.headers or {}), **cors}
            ) from None


codec_access = CodecAccess()


def _codec(request: Request) -> PayloadCodec:
    codec = request.app.state.client.data_converter.payload_codec
    if codec is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no payload codec is configured")
    return codec  # type: ignore[no-any-return]


def _fail(code: int, detail: str, request: Request) -> HTTPException:
    return HTTPException(code, detail=detail, headers=cors_headers(request))


async def _body(request: Request) -> bytes:
    """The body under the codec's cap (the app's body limit refuses more before this is reached;
    here the refusal also carries the CORS headers the Web UI needs to read it)."""
    try:
        return await read_capped(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise _fail(status.HTTP_413_CONTENT_TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes", request) from None


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError(f"{where} is not base64") from None


def parse_payloads(body: bytes) -> list[Payload]:
    """The payloads of a codec request; ``ValueError`` naming what is wrong."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    items = doc.get("payloads") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError('the body must be {"payloads": [...]}')
    if len(items) > MAX_PAYLOADS:
        raise OverflowError(f"more than {MAX_PAYLOADS} payloads")
    payloads = []
    for i, item in enumerate(items):
        meta = item.get("metadata", {}) if isinstance(item, dict) else None
        if not isinstance(meta, dict):
            raise ValueError(f"payloads[{i}] must be an object with an object metadata")
        payloads.append(
            Payload(
                metadata={str(k): _b64(v, f"payloads[{i}].metadata.{k}") for k, v in meta.items()},
                data=_b64(item.get("data", ""), f"payloads[{i}].data"),
            )
        )
    return payloads


def render_payloads(payloads: list[Payload]) -> bytes:
    """The JSON body of a codec answer."""
    out = [
        {
            "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
            "data": base64.b64encode(p.data).decode(),
        }
        for p in payloads
    ]
    return json.dumps({"payloads": out}).encode()


async def _apply(request: Request, codec: PayloadCodec, *, encode: bool) -> Response:
    namespace = request.headers.get("x-namespace")
    served = _settings(request).temporal_namespace
    if namespace is not None and namespace != served:
        raise _fail(status.HTTP_400_BAD_REQUEST, f"this codec serves namespace {served!r} only", request)
    try:
        payloads = parse_payloads(await _body(request))
    except OverflowError as e:
        raise _fail(status.HTTP_413_CONTENT_TOO_LARGE, str(e), request) from None
    except ValueError as e:
        raise _fail(status.HTTP_400_BAD_REQUEST, str(e), request) from None
    try:
        out = await (codec.encode(payloads) if encode else codec.decode(payloads))
    except CodecError as e:
        raise _fail(status.HTTP_400_BAD_REQUEST, str(e), request) from None
    return Response(render_payloads(out), media_type="application/json", headers=cors_headers(request))


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"example": {"payloads": [{"metadata": {}, "data": ""}]}}},
    },
    # The embedded Web UI sends no token: in development a loopback client needs none.
    "x-anonymous-from-loopback-in-development": True,
}


@router.post("/decode", openapi_extra=_BODY_DOC, dependencies=[Depends(codec_access)])
async def decode(request: Request, codec: PayloadCodec = Depends(_codec)) -> Response:
    """Decrypt payloads (unencrypted ones come back as they are)."""
    return await _apply(request, codec, encode=False)


@router.post("/encode", openapi_extra=_BODY_DOC, dependencies=[Depends(codec_access)])
async def encode(request: Request, codec: PayloadCodec = Depends(_codec)) -> Response:
    """Encrypt payloads under the current key (the UI uses it for signals and starts it sends)."""
    return await _apply(request, codec, encode=True)


async def preflight(request: Request) -> Response:
    """Answer a CORS preflight: only for the UI's origins, POST, and the headers the UI sends."""
    origin = request.headers.get("origin")
    method = request.headers.get("access-control-request-method", "").upper()
    asked = request.headers.get("access-control-request-headers", "")
    headers = {h.strip().lower() for h in asked.split(",") if h.strip()}
    allowed = origin is not None and origin in _settings(request).ui_origins
    if not allowed or method != "POST" or not headers <= set(ALLOWED_HEADERS):
        return Response(
            "CORS request refused", status_code=status.HTTP_403_FORBIDDEN, headers={"Vary": "Origin"}
        )
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            **cors_headers(request),
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        },
    )


# Preflights carry no token by the browser's rules: plain routes, outside the role check.
for _path in ("/codec/decode", "/codec/encode"):
    router.add_route(_path, preflight, methods=["OPTIONS"], include_in_schema=False)
