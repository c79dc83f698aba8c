"""The CLI's credentials: tokens kept per API URL, sent on every call, refreshed when they expire;
and the `asts login|logout|users|keys` commands.

Tokens live in ``<config dir>/credentials.json`` (mode 0600; the config dir is ``ASTS_CONFIG_DIR``
or the user's, e.g. ``~/.config/asts``). ``ASTS_API_TOKEN`` (an access token or an API key)
overrides them. A refresh holds a lock on the file and re-reads it first, so two commands that
find the same expired token do not both spend its refresh token (a reused one revokes the session).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from worker.cli_common import Call, Fail

CREDENTIALS = "credentials.json"
ROLES_HELP = "viewer, trader, risk or admin"
ApiOpt = Annotated[str | None, typer.Option("--api", help="API base URL (default http://127.0.0.1:8000)")]
StdinOpt = Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")]


def config_dir() -> Path:
    """Where the CLI keeps its credentials."""
    return Path(os.environ.get("ASTS_CONFIG_DIR") or typer.get_app_dir("asts"))


def _path() -> Path:
    return config_dir() / CREDENTIALS


@contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    """The stored credentials, locked for the block; written back (0600) when it ends."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read()
        try:
            data: dict[str, Any] = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {}
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            f.seek(0)
            f.truncate()
            f.write(json.dumps(data, indent=2, sort_keys=True))
        os.chmod(path, 0o600)


def _key(base: str) -> str:
    return base.rstrip("/")


def store_tokens(base: str, answer: dict[str, Any], username: str) -> None:
    """Keep the tokens of a sign-in (or refresh) for the API at ``base``."""
    with _locked() as data:
        data[_key(base)] = {
            "username": username,
            "access_token": answer["access_token"],
            "refresh_token": answer["refresh_token"],
        }


def forget_tokens(base: str) -> dict[str, Any] | None:
    """Drop the stored tokens for ``base``; return them."""
    with _locked() as data:
        return data.pop(_key(base), None)  # type: ignore[no-any-return]


def stored(base: str) -> dict[str, Any] | None:
    """The stored tokens for ``base``, if any."""
    path = _path()
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text()).get(_key(base))
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def access_token(base: str) -> str | None:
    """The token to send to ``base``: ``ASTS_API_TOKEN``, else the stored access token."""
    return os.environ.get("ASTS_API_TOKEN") or (stored(base) or {}).get("access_token")


def refresh(base: str, used: str) -> str | None:
    """A fresh access token for ``base`` after ``used`` was refused, or None when there is none to get."""
    if os.environ.get("ASTS_API_TOKEN"):
        return None
    with _locked() as data:
        entry = data.get(_key(base))
        if not entry:
            return None
        if entry.get("access_token") != used:  # another command refreshed it meanwhile
            return str(entry["access_token"])
        try:
            r = httpx.post(f"{base}/auth/refresh", json={"refresh_token": entry["refresh_token"]}, timeout=30)
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            data.pop(_key(base), None)  # expired or revoked: a new sign-in is needed
            return None
        answer = r.json()
        data[_key(base)] = entry | {
            "access_token": answer["access_token"],
            "refresh_token": answer["refresh_token"],
        }
        return str(answer["access_token"])


def authed_request(
    method: str, url: str, base: str, *, json_body: Any = None, timeout: float = 60, **options: Any
) -> httpx.Response:
    """An HTTP request with the CLI's token for ``base``, refreshed and retried once on a 401."""
    token = access_token(base)
    headers = dict(options.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = httpx.request(method, url, json=json_body, timeout=timeout, headers=headers, **options)
    if r.status_code == 401 and token:
        fresh = refresh(base, token)
        if fresh:
            headers["Authorization"] = f"Bearer {fresh}"
            r = httpx.request(method, url, json=json_body, timeout=timeout, headers=headers, **options)
    return r


def refusal(status: int, detail: str, base: str) -> str | None:
    """What to tell the user about a 401 or 403 (what to do next), else None."""
    if status == 401:
        how = "ASTS_API_TOKEN is refused" if os.environ.get("ASTS_API_TOKEN") else "run `asts login`"
        return f"not signed in to {base}: {detail} ({how}, or set ASTS_API_TOKEN to a valid token or API key)"
    if status == 403:
        return f"not allowed: {detail} (ask an admin for the role: `asts users add` / `asts keys create`)"
    return None


def sign_in(base: str, username: str, password: str) -> dict[str, Any]:
    """``POST /auth/token``; raises ``httpx.HTTPError`` or returns the answer (status checked by caller)."""
    r = httpx.post(f"{base}/auth/token", data={"username": username, "password": password}, timeout=30)
    return {
        "status": r.status_code,
        "body": r.json()
        if r.headers.get("content-type", "").startswith("application/json")
        else {"detail": r.text},
    }


def _password(password_stdin: bool, prompt: str = "Password", confirm: bool = False) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def make_auth_commands(
    app: typer.Typer, *, call: Call, fail: Fail, console: Console, base_url: Callable[[str | None], str]
) -> None:
    """Add `asts login`, `asts logout`, `asts whoami`, `asts users …` and `asts keys …` to ``app``."""

    @app.command()
    def login(
        username: Annotated[str, typer.Option("--username", "-u", help="user name")] = "admin",
        password_stdin: StdinOpt = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Sign in and keep the tokens (per API URL, in a file only you can read)."""
        base = base_url(api_url)
        password = _password(password_stdin)
        try:
            out = sign_in(base, username, password)
        except httpx.HTTPError as e:
            fail(f"cannot reach the API at {base}: {e}", code=1)
        if out["status"] != 200:
            fail(f"sign-in refused ({out['status']}): {out['body'].get('detail', '')}")
        store_tokens(base, out["body"], username)
        console.print(f"signed in to {base} as {escape(username)}")

    @app.command()
    def logout(api_url: ApiOpt = None) -> None:
        """Sign out: revoke this session and forget its tokens."""
        base = base_url(api_url)
        if stored(base) is None:
            fail(f"not signed in to {base}")
        try:
            call("POST", "/auth/logout", api_url)
        finally:
            forget_tokens(base)
        console.print(f"signed out of {base}")

    @app.command()
    def token(api_url: ApiOpt = None) -> None:
        """Print a valid access token for the API (refreshed if needed), e.g. for curl."""
        base = base_url(api_url)
        call("GET", "/auth/me", api_url)  # refreshes a stale token, or fails saying what to do
        print(access_token(base) or "")

    @app.command()
    def whoami(api_url: ApiOpt = None) -> None:
        """Who the API takes you for, and your roles."""
        me = call("GET", "/auth/me", api_url)
        console.print(f"{escape(me['name'])} ({me['kind']}): {', '.join(me['roles'])}")

    users = typer.Typer(help="Users (admin): add, list, disable, enable.", no_args_is_help=True)
    keys = typer.Typer(help="API keys for automation (admin): create, list, revoke.", no_args_is_help=True)
    app.add_typer(users, name="users")
    app.add_typer(keys, name="keys")

    @users.command("add")
    def users_add(
        username: str,
        role: Annotated[list[str], typer.Option("--role", "-r", help=ROLES_HELP)],
        password_stdin: StdinOpt = False,
        api_url: ApiOpt = None,
    ) -> None:
        """Add a user with one or more roles (asks for the password twice)."""
        password = _password(password_stdin, "New user's password", confirm=not password_stdin)
        out = call(
            "POST", "/auth/users", api_url, {"username": username, "password": password, "roles": role}
        )
        console.print(f"added {escape(out['username'])} ({', '.join(out['roles'])})")

    @users.command("list")
    def users_list(api_url: ApiOpt = None) -> None:
        """Every user."""
        out = call("GET", "/auth/users", api_url)
        table = Table("user", "roles", "disabled", "created by", "created at")
        for u in out["data"]:
            table.add_row(
                escape(u["username"]),
                ", ".join(u["roles"]),
                "yes" if u["disabled"] else "",
                escape(u["created_by"]),
                u["created_at"],
            )
        console.print(table)

    @users.command("disable")
    def users_disable(username: str, api_url: ApiOpt = None) -> None:
        """Disable a user: their sessions end at once and they cannot sign in."""
        call("PATCH", f"/auth/users/{username}", api_url, {"disabled": True})
        console.print(f"disabled {escape(username)}")

    @users.command("enable")
    def users_enable(username: str, api_url: ApiOpt = None) -> None:
        """Enable a disabled user again."""
        call("PATCH", f"/auth/users/{username}", api_url, {"disabled": False})
        console.print(f"enabled {escape(username)}")

    @keys.command("create")
    def keys_create(
        name: str,
        role: Annotated[str, typer.Option("--role", "-r", help=ROLES_HELP)],
        api_url: ApiOpt = None,
    ) -> None:
        """Create an API key with one role; it is shown this once (use it as ASTS_API_TOKEN)."""
        out = call("POST", "/auth/api-keys", api_url, {"name": name, "role": role})
        console.print(f"API key {out['id']} ({escape(out['name'])}, {out['role']}), shown once:")
        console.print(out["key"], highlight=False)

    @keys.command("list")
    def keys_list(api_url: ApiOpt = None) -> None:
        """Every API key (never their secrets)."""
        out = call("GET", "/auth/api-keys", api_url)
        table = Table("id", "name", "role", "created by", "created at", "revoked at")
        for k in out["data"]:
            table.add_row(
                k["id"],
                escape(k["name"]),
                k["role"],
                escape(k["created_by"]),
                k["created_at"],
                k["revoked_at"] or "",
            )
        console.print(table)

    @keys.command("revoke")
    def keys_revoke(key_id: str, api_url: ApiOpt = None) -> None:
        """Revoke an API key: it is refused from now on."""
        call("DELETE", f"/auth/api-keys/{key_id}", api_url)
        console.print(f"revoked {key_id}")
