"""Identity and access over real HTTP: the role matrix of every operation, tokens, keys, limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth.access import UnprotectedRouteError, check_routes
from api.auth.deps import ANONYMOUS_PATHS
from api.auth.tokens import SecretConfigError
from store.db import make_engine, make_sessionmaker, sqlite_url
from store.models import UserRow
from tests.api.live import (
    ROLE_USERS,
    TEST_PASSWORD,
    api_client,
    bearer,
    serve_api,
    sign_in,
    start_strategy,
)
from worker.settings import Settings

LOWER_ROLES = ("viewer", "trader", "risk")
# Operations whose successful call would end the caller's own session: checked on their own below.
SELF_ENDING = {("post", "/auth/logout")}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def _concrete(path: str) -> str:
    """The path with every parameter filled with a value that names nothing."""
    return re.sub(r"\{[^}]+\}", "zz-none", path).replace("/decisions/zz-none", "/decisions/999999")


async def _call(http: httpx.AsyncClient, method: str, path: str, token: str | None) -> httpx.Response:
    headers = bearer(token) if token else {}
    if path == "/stream":  # an event stream never ends by itself: its status line is the answer
        async with http.stream("GET", path, headers=headers) as r:
            if r.status_code != 200:
                await r.aread()
            return r
    body = {"json": {}} if method in ("post", "patch", "put") else {}
    return await http.request(method.upper(), _concrete(path), headers=headers, **body)  # type: ignore[arg-type]


async def _fresh_tokens(api_url: str) -> dict[str, str]:
    return {role: str((await sign_in(api_url, name))["access_token"]) for role, name in ROLE_USERS.items()}


async def test_every_operation_checks_its_role(api_url: str) -> None:
    """Generated from the OpenAPI document, so a new endpoint cannot be forgotten: anonymous is
    401, a role too low is 403 naming the role needed, the right role gets past the check."""
    tokens = await _fresh_tokens(api_url)
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        doc = (await http.get("/openapi.json")).json()
        ops = _operations(doc)
        assert len(ops) >= 40
        for method, path, op in ops:
            assert "x-required-roles" in op, f"{method} {path} states no role"
            roles = op["x-required-roles"]
            if not roles:
                assert path in ANONYMOUS_PATHS, f"{method} {path} is anonymous but not meant to be"
                assert op.get("security") == []
                continue
            assert op.get("security") == [{"bearer": []}], f"{method} {path} declares no security scheme"
            if not op.get("x-anonymous-from-loopback-in-development"):  # the codec: its own tests
                anonymous = await _call(http, method, path, None)
                assert anonymous.status_code == 401, (method, path, anonymous.text)
                assert anonymous.headers["www-authenticate"] == "Bearer"
                forged = await _call(http, method, path, "not.a.token")
                assert forged.status_code == 401, (method, path, forged.text)
            too_low = [r for r in LOWER_ROLES if r not in roles and not (roles == ["viewer"])]
            for role in too_low:
                r = await _call(http, method, path, tokens[role])
                assert r.status_code == 403, (method, path, role, r.text)
                assert f"needs the {' or '.join(roles)} role" in r.json()["detail"]
            if (method, path) in SELF_ENDING:
                continue
            for role in [*roles, "admin"]:
                r = await _call(http, method, path, tokens[role])
                assert r.status_code not in (401, 403) and r.status_code < 500, (method, path, role, r.text)
        # the self-ending one last: with the right role it ends that session, and only that one
        r = await http.post("/auth/logout", headers=bearer(tokens["viewer"]))
        assert r.status_code == 204
        assert (await http.get("/orders", headers=bearer(tokens["viewer"]))).status_code == 401
        assert (await http.get("/orders", headers=bearer(tokens["trader"]))).status_code == 200


def test_an_app_with_an_unprotected_route_is_refused() -> None:
    app = FastAPI()

    @app.get("/leak")
    async def leak() -> dict[str, str]:
        return {}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {}

    with pytest.raises(UnprotectedRouteError, match="/leak"):
        check_routes(app)


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(api_url: str) -> None:
    first = await sign_in(api_url, "trader1")
    assert first["token_type"] == "bearer" and 0 < int(first["expires_in"]) <= 3600  # type: ignore[call-overload]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        r = await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert (await http.get("/auth/me", headers=bearer(second["access_token"]))).json()[
            "name"
        ] == "trader1"

        reused = await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401 and "already used" in reused.json()["detail"]
        # the whole session is gone: the newer refresh token and its access token too
        newer = await http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert newer.status_code == 401 and "revoked" in newer.json()["detail"]
        me = await http.get("/auth/me", headers=bearer(second["access_token"]))
        assert me.status_code == 401 and "revoked" in me.json()["detail"]
        garbage = await http.post("/auth/refresh", json={"refresh_token": "abc.1.def"})
        assert garbage.status_code == 401
        async with api_client(api_url) as admin:
            events = (await admin.get("/events", params={"kind": "refresh_reused"})).json()["data"]
        assert any(e["data"]["username"] == "trader1" for e in events)


async def test_logout_revokes_the_access_token_at_once(api_url: str) -> None:
    tokens = await sign_in(api_url, "viewer1")
    headers = bearer(str(tokens["access_token"]))
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        assert (await http.get("/orders", headers=headers)).status_code == 200
        assert (await http.post("/auth/logout", headers=headers)).status_code == 204
        after = await http.get("/orders", headers=headers)
        assert after.status_code == 401 and "revoked" in after.json()["detail"]
        refreshed = await http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 401


async def test_api_keys_are_shown_once_stored_hashed_and_refused_at_once_when_revoked(
    api_url: str, http: httpx.AsyncClient
) -> None:
    r = await http.post("/auth/api-keys", json={"name": "ci-reader", "role": "viewer"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("asts_") and created["role"] == "viewer"
    listed = (await http.get("/auth/api-keys")).json()["data"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and key not in str(listed)
    dup = await http.post("/auth/api-keys", json={"name": "ci-reader", "role": "trader"})
    assert dup.status_code == 409

    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=bearer(key)) as bot:
        assert (await bot.get("/orders")).status_code == 200
        me = (await bot.get("/auth/me")).json()
        assert me == {"name": "key:ci-reader", "kind": "key", "roles": ["viewer"]}
        denied = await bot.post("/halt", json={"reason": "x"})
        assert denied.status_code == 403 and "needs the risk role" in denied.json()["detail"]
        wrong = await bot.get("/orders", headers=bearer(key[:-2] + "xx"))
        assert wrong.status_code == 401
        revoked = await http.delete(f"/auth/api-keys/{created['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        after = await bot.get("/orders")
        assert after.status_code == 401 and "revoked" in after.json()["detail"]


async def test_users_are_added_listed_disabled_and_never_show_a_password(
    api_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await http.post(
        "/auth/users", json={"username": "dana", "password": TEST_PASSWORD, "roles": ["trader"]}
    )
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"username", "roles", "disabled", "created_by", "created_at"}
    assert r.json()["created_by"] == "admin"
    for name, needle in (("breaker:daily_loss", "username"), ("system", "reserved"), ("Dana", "username")):
        bad = await http.post(
            "/auth/users", json={"username": name, "password": TEST_PASSWORD, "roles": ["risk"]}
        )
        assert bad.status_code == 422 and needle in bad.json()["detail"], bad.text
    short = await http.post("/auth/users", json={"username": "erin", "password": "short", "roles": ["risk"]})
    assert short.status_code == 422
    listed = (await http.get("/auth/users")).json()
    assert "dana" in {u["username"] for u in listed["data"]}
    assert TEST_PASSWORD not in str(listed) and "argon2" not in str(listed)

    tokens = await sign_in(api_url, "dana")
    headers = bearer(str(tokens["access_token"]))
    assert (await http.get("/auth/me", headers=headers)).json()["roles"] == ["trader"]
    r = await http.patch("/auth/users/dana", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (await http.get("/auth/me", headers=headers)).status_code == 401
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as anon:
        again = await anon.post("/auth/token", data={"username": "dana", "password": TEST_PASSWORD})
    assert again.status_code == 401
    self_disable = await http.patch("/auth/users/admin", json={"disabled": True})
    assert self_disable.status_code == 409


async def test_traders_act_on_their_own_strategies_and_risk_on_any(api_url: str) -> None:
    async with api_client(api_url) as admin:
        r = await admin.post(
            "/auth/users", json={"username": "trader2", "password": TEST_PASSWORD, "roles": ["trader"]}
        )
        assert r.status_code == 201, r.text
    other = str((await sign_in(api_url, "trader2"))["access_token"])
    async with api_client(api_url, "trader") as trader, api_client(api_url, "risk") as risk:
        sid = await start_strategy(trader)
        row = (await trader.get(f"/strategies/{sid}")).json()
        assert row["created_by"] == "trader1"
        theirs = await trader.post(f"/strategies/{sid}/halt", json={"reason": "x"}, headers=bearer(other))
        assert theirs.status_code == 403 and "started by trader1" in theirs.json()["detail"]
        params = await trader.patch(
            f"/strategies/{sid}/params",
            json={"params": {"fast": 2, "slow": 6, "size": "5"}},
            headers=bearer(other),
        )
        assert params.status_code == 403
        halted = await risk.post(f"/strategies/{sid}/halt", json={"reason": "risk says"})
        assert halted.status_code == 200, halted.text
        events = (await risk.get("/events", params={"strategy_id": sid, "kind": "halt"})).json()["data"]
        assert [e["data"]["actor"] for e in events] == ["risk1"]
        resumed = await trader.post(f"/strategies/{sid}/resume", json={"reason": "mine"})
        assert resumed.status_code == 200, resumed.text
        start_as_risk = await risk.post("/strategies", json={})
        assert start_as_risk.status_code == 403 and "needs the trader role" in start_as_risk.json()["detail"]


async def test_failed_sign_ins_are_rate_limited_per_user_and_per_client_and_recorded(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    limits = {"login_max_failures_per_user": 3, "login_max_failures_per_client": 5}
    async with serve_api(dev_env, tmp_path, worker=False, **limits) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:

            async def attempt(name: str, password: str) -> httpx.Response:
                return await http.post("/auth/token", data={"username": name, "password": password})

            for _ in range(3):
                r = await attempt("viewer1", "wrong password!")
                assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"
            limited = await attempt("viewer1", TEST_PASSWORD)  # even the right password, for now
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
            assert (await attempt("nobody-here", "x")).status_code == 401  # an unknown user: same answer
            assert (await attempt("risk1", "wrong again")).status_code == 401
            blocked = await attempt("risk1", TEST_PASSWORD)  # five refusals from this address
            assert blocked.status_code == 429
            async with api_client(url) as admin:
                refused = (await admin.get("/events", params={"kind": "login_refused"})).json()["data"]
                failed = (await admin.get("/events", params={"kind": "login_failed"})).json()["data"]
            assert {e["data"]["limit"] for e in refused} == {"user", "client"}
            assert len(failed) == 5 and all(e["data"]["client"] == "127.0.0.1" for e in failed)
    engine = make_engine(sqlite_url(tmp_path / "asts.db"))
    try:
        async with make_sessionmaker(engine)() as s:
            hashes = [u.password_hash for u in (await s.execute(select(UserRow))).scalars()]
    finally:
        await engine.dispose()
    assert hashes and all(h.startswith("$argon2id$") and TEST_PASSWORD not in h for h in hashes)


@pytest.mark.parametrize("secret", [None, "change-me", "x" * 31])
def test_the_api_refuses_to_start_outside_development_without_a_strong_secret(
    tmp_path: Path, secret: str | None
) -> None:
    settings = Settings(home=tmp_path, env="production", jwt_secret=secret)
    with pytest.raises(SecretConfigError, match="ASTS_JWT_SECRET"):
        create_app(settings)


def test_development_keeps_a_generated_secret_private(tmp_path: Path) -> None:
    create_app(Settings(home=tmp_path))
    secret = tmp_path / "jwt-secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) >= 32
