"""`asts login|logout|whoami|users|keys` and what every command says on a 401 or 403."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.live import TEST_PASSWORD
from tests.worker.test_cli import asts


async def test_without_a_token_the_cli_says_how_to_sign_in(api_url: str, tmp_path: Path) -> None:
    run = await asts("strategy", "list", api=api_url, token="", config=tmp_path)
    assert run.code == 2, run.out
    assert "not signed in to" in run.err and "asts login" in run.err and "Traceback" not in run.err


async def test_login_keeps_private_tokens_per_api_and_refreshes_them(api_url: str, tmp_path: Path) -> None:
    run = await asts(
        "login",
        "-u",
        "trader1",
        "--password-stdin",
        api=api_url,
        token="",
        config=tmp_path,
        stdin=f"{TEST_PASSWORD}\n".encode(),
    )
    assert run.code == 0, run.err
    assert "signed in to" in run.out and "trader1" in run.out
    path = tmp_path / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) == {api_url} and stored[api_url]["username"] == "trader1"

    me = await asts("whoami", api=api_url, token="", config=tmp_path)
    assert me.code == 0 and me.out.strip() == "trader1 (user): trader", me.out + me.err

    # A refused access token is refreshed once with the stored refresh token, and kept.
    stored[api_url]["access_token"] = "expired.or.broken"
    path.write_text(json.dumps(stored))
    listed = await asts("strategy", "list", api=api_url, token="", config=tmp_path)
    assert listed.code == 0, listed.err
    renewed = json.loads(path.read_text())[api_url]
    assert renewed["access_token"] != "expired.or.broken"
    assert renewed["refresh_token"] != stored[api_url]["refresh_token"]

    denied = await asts("halt", "--all", "--reason", "x", api=api_url, token="", config=tmp_path)
    assert denied.code == 2 and "not allowed" in denied.err and "risk role" in denied.err, denied.err

    out = await asts("logout", api=api_url, token="", config=tmp_path)
    assert out.code == 0, out.err
    assert json.loads(path.read_text()) == {}
    after = await asts("whoami", api=api_url, token="", config=tmp_path)
    assert after.code == 2 and "asts login" in after.err


async def test_a_wrong_password_is_a_clear_refusal(api_url: str, tmp_path: Path) -> None:
    run = await asts(
        "login", "-u", "risk1", "--password-stdin", api=api_url, token="", config=tmp_path, stdin=b"nope\n"
    )
    assert run.code == 2 and "sign-in refused (401)" in run.err, run.err
    assert (
        not (tmp_path / "credentials.json").exists()
        or "risk1" not in (tmp_path / "credentials.json").read_text()
    )


async def test_admins_manage_users_and_keys_from_the_cli(api_url: str, tmp_path: Path) -> None:
    added = await asts(
        "users",
        "add",
        "frank",
        "--role",
        "risk",
        "--role",
        "viewer",
        "--password-stdin",
        api=api_url,
        stdin=f"{TEST_PASSWORD}\n".encode(),
    )
    assert added.code == 0, added.err
    assert "added frank (risk, viewer)" in added.out
    listed = await asts("users", "list", api=api_url)
    assert "frank" in listed.out and "risk, viewer" in listed.out and TEST_PASSWORD not in listed.out

    created = await asts("keys", "create", "nightly-bot", "--role", "trader", api=api_url)
    assert created.code == 0, created.err
    key = created.out.strip().splitlines()[-1]
    assert key.startswith("asts_")
    as_key = await asts("whoami", api=api_url, token=key, config=tmp_path)
    assert as_key.out.strip() == "key:nightly-bot (key): trader", as_key.out + as_key.err
    key_id = created.out.split()[2]
    keys = await asts("keys", "list", api=api_url)
    assert key_id in keys.out and key not in keys.out
    revoked = await asts("keys", "revoke", key_id, api=api_url)
    assert revoked.code == 0, revoked.err
    refused = await asts("whoami", api=api_url, token=key, config=tmp_path)
    assert refused.code == 2 and "revoked" in refused.err and "ASTS_API_TOKEN is refused" in refused.err

    disabled = await asts("users", "disable", "frank", api=api_url)
    assert disabled.code == 0, disabled.err
    not_admin = await asts("users", "list", api=api_url, token="", config=tmp_path)
    assert not_admin.code == 2
