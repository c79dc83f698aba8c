"""The codec server at /codec over real HTTP: Temporal's protocol, CORS for the Web UI only, limits,
and who may call it (loopback in development; a bearer token otherwise)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from api.routes.codec import MAX_BODY_BYTES, MAX_PAYLOADS
from tests.api.live import serve_api, token_for
from tests.encryption import TEST_CODEC, TEST_KEY_ID

UI = "http://127.0.0.1:8233"  # the embedded UI's origin with the default ui_port
MARKER = "codec-http-marker-9d04"


def _wire(p: Payload) -> dict[str, Any]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
        "data": base64.b64encode(p.data).decode(),
    }


def _payload(item: dict[str, Any]) -> Payload:
    meta = {k: base64.b64decode(v) for k, v in item["metadata"].items()}
    return Payload(metadata=meta, data=base64.b64decode(item["data"]))


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"note": MARKER}).encode())


@pytest_asyncio.fixture(loop_scope="session")
async def codec(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API without any token, as the embedded Web UI is."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"X-Namespace": "default"}) as http:
        yield http


async def test_encode_then_decode_round_trips_and_opens_what_the_workers_wrote(
    codec: httpx.AsyncClient,
) -> None:
    r = await codec.post("/codec/encode", json={"payloads": [_wire(PLAIN)]})
    assert r.status_code == 200, r.text
    (sealed,) = [_payload(p) for p in r.json()["payloads"]]
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == TEST_KEY_ID.encode() and MARKER.encode() not in sealed.data
    (by_worker,) = await TEST_CODEC.encode([PLAIN])
    r = await codec.post("/codec/decode", json={"payloads": [_wire(sealed), _wire(by_worker), _wire(PLAIN)]})
    assert r.status_code == 200, r.text
    assert [_payload(p) for p in r.json()["payloads"]] == [PLAIN, PLAIN, PLAIN]  # plain ones pass through
    assert (await codec.post("/codec/decode", json={"payloads": []})).json() == {"payloads": []}


async def test_an_unknown_key_or_a_malformed_body_is_a_400_with_the_reason(codec: httpx.AsyncClient) -> None:
    (sealed,) = await TEST_CODEC.encode([PLAIN])
    stranger = _wire(sealed) | {"metadata": _wire(sealed)["metadata"] | {"encryption-key-id": "b3RoZXI="}}
    cases: list[tuple[Any, str]] = [
        ({"payloads": [stranger]}, "key id 'other', which is not among"),
        (
            {"payloads": [{"metadata": {"encoding": "%%%"}, "data": ""}]},
            "payloads[0].metadata.encoding is not base64",
        ),
        ({"payloads": "nope"}, 'must be {"payloads": [...]}'),
        ([1, 2], 'must be {"payloads": [...]}'),
    ]
    for body, reason in cases:
        r = await codec.post("/codec/decode", json=body)
        assert r.status_code == 400 and reason in r.json()["detail"], (body, r.text)
    r = await codec.post("/codec/decode", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"] == "the body is not JSON"
    r = await codec.post("/codec/decode", json={"payloads": []}, headers={"X-Namespace": "elsewhere"})
    assert r.status_code == 400 and "serves namespace 'default' only" in r.json()["detail"]


async def test_bodies_over_4_mib_or_too_many_payloads_are_refused_with_413(codec: httpx.AsyncClient) -> None:
    def body(data_bytes: int) -> bytes:
        return b'{"payloads": [{"metadata": {}, "data": "' + b"A" * data_bytes + b'"}]}'

    r = await codec.post(
        "/codec/decode", content=body(3 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200  # a big history payload (Temporal allows 2 MB, 2.7 MB in base64) goes through
    r = await codec.post(
        "/codec/decode", content=body(MAX_BODY_BYTES), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    many = {"payloads": [{"metadata": {}, "data": ""}] * (MAX_PAYLOADS + 1)}
    r = await codec.post("/codec/encode", json=many)
    assert r.status_code == 413 and f"more than {MAX_PAYLOADS} payloads" in r.json()["detail"]


def _preflight(
    origin: str, method: str = "POST", headers: str = "content-type,x-namespace"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_cors_answers_the_web_ui_s_origin_and_refuses_any_other(codec: httpx.AsyncClient) -> None:
    for path in ("/codec/decode", "/codec/encode"):
        for origin in (UI, "http://localhost:8233"):
            r = await codec.options(
                path, headers=_preflight(origin, headers="content-type,x-namespace,authorization")
            )
            assert r.status_code == 204, r.text
            assert r.headers["access-control-allow-origin"] == origin
            assert r.headers["access-control-allow-methods"] == "POST, OPTIONS"
            assert r.headers["access-control-allow-headers"] == "content-type, x-namespace, authorization"
    refused = [
        _preflight("http://evil.example"),
        _preflight("http://127.0.0.1:8234"),  # another port is another origin
        _preflight(UI, method="PUT"),
        _preflight(UI, headers="content-type,x-evil"),
    ]
    for headers in refused:
        r = await codec.options("/codec/decode", headers=headers)
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, headers
    ok = await codec.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
    bad = await codec.post(
        "/codec/decode", json={"payloads": [_wire(PLAIN)]}, headers={"Origin": "http://evil.example"}
    )
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers
    # CORS is the codec's alone: the rest of the API answers no browser from elsewhere.
    r = await codec.options("/strategies", headers=_preflight(UI))
    assert "access-control-allow-origin" not in r.headers
    r = await codec.get("/health", headers={"Origin": UI})
    assert "access-control-allow-origin" not in r.headers


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def production_api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The API with ASTS_ENV=production (and the Web UI on port 9000)."""
    home = tmp_path_factory.mktemp("prod-api")
    secret = SecretStr("codec-tests-signing-secret-0123456789abcdef")
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as mp:  # only while the settings are read
            mp.setenv("ASTS_ENV", "production")  # serve_api's own ``env`` is the Temporal environment
            url = await stack.enter_async_context(serve_api(dev_env, home, jwt_secret=secret, ui_port=9000))
        yield url


async def test_outside_development_a_bearer_token_is_needed_even_from_loopback(production_api: str) -> None:
    body = {"payloads": [_wire(PLAIN)]}
    origin = {"Origin": "http://localhost:9000"}
    async with httpx.AsyncClient(base_url=production_api, timeout=30) as http:
        r = await http.post("/codec/encode", json=body, headers=origin)
        assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "http://localhost:9000"
        r = await http.post("/codec/encode", json=body, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        token = {"Authorization": f"Bearer {token_for(production_api, 'viewer')}"}
        r = await http.post("/codec/encode", json=body, headers=token | origin)
        assert r.status_code == 200, r.text
        r = await http.post("/codec/decode", json=r.json(), headers=token)
        assert [_payload(p) for p in r.json()["payloads"]] == [PLAIN]
        r = await http.options("/codec/decode", headers=_preflight(UI))
        assert r.status_code == 403  # the UI is on :9000 here
