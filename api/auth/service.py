"""Sign-in, token refresh and revocation, API keys, and the first admin: the rules behind /auth.

Every function takes a session factory and commits its own short transactions, so a
refusal is recorded even though the request that caused it fails.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.deps import utcnow
from api.auth import tokens
from api.auth.passwords import hash_password, password_problem, verify_password
from api.auth.roles import KEY_PREFIX, Principal
from store import repo
from store.repo import identity
from worker.settings import Settings

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]

ADMIN = "admin"
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105  # nosec B105: a file name


class AuthError(Exception):
    """A refused credential; ``status`` is the HTTP status to answer with."""

    def __init__(self, detail: str, status: int = 401, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class IssuedTokens:
    """What a sign-in or a refresh hands out."""

    access_token: str
    expires_in: int
    refresh_token: str


async def _event(
    sessions: async_sessionmaker[AsyncSession], kind: str, reason: str, data: dict[str, str]
) -> None:
    async with sessions.begin() as s:
        await repo.record_event(
            s, event_key=f"{kind}:{secrets.token_hex(8)}", kind=kind, reason=reason, now=utcnow(), data=data
        )


async def _open_session(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    user_id: int,
    username: str,
    roles: list[str],
    client: str,
) -> IssuedTokens:
    now = utcnow()
    sid = tokens.new_session_id()
    refresh, refresh_hash = tokens.new_refresh(sid, 0)
    async with sessions.begin() as s:
        await identity.create_session(
            s,
            id=sid,
            user_id=user_id,
            refresh_hash=refresh_hash,
            client=client,
            now=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    access, ttl = tokens.issue_access(
        tokens.signing_key(settings),
        sub=username,
        roles=roles,
        sid=sid,
        now=now,
        ttl_s=settings.access_token_ttl_s,
    )
    return IssuedTokens(access, ttl, refresh)


async def login(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    username: str,
    password: str,
    client: str,
) -> IssuedTokens:
    """Check a user name and password and open a session; too many refusals answer 429 for a while.

    Raises:
        AuthError: wrong name or password, a disabled user (the same answer), or rate-limited.
    """
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_s)
    async with sessions() as s:
        by_user = await identity.login_failures_since(s, since=since, username=username)
        by_client = await identity.login_failures_since(s, since=since, client=client)
        user = await identity.get_user(s, username=username)
    limited = (
        "user"
        if by_user >= settings.login_max_failures_per_user
        else "client"
        if by_client >= settings.login_max_failures_per_client
        else ""
    )
    if limited:
        await _event(
            sessions,
            "login_refused",
            f"too many refused sign-ins for this {limited} in {settings.login_window_s:g}s",
            {"username": username, "client": client, "limit": limited},
        )
        raise AuthError(
            "too many refused sign-ins: try again later",
            status=429,
            retry_after_s=int(settings.login_window_s),
        )
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        async with sessions.begin() as s:
            await identity.record_login_failure(s, username=username, client=client, now=now)
        why = "disabled user" if ok and user is not None else "wrong user name or password"
        await _event(sessions, "login_failed", why, {"username": username, "client": client})
        raise AuthError("wrong user name or password")
    issued = await _open_session(
        sessions, settings, user_id=user.id, username=user.username, roles=list(user.roles), client=client
    )
    await _event(sessions, "login", "signed in", {"username": user.username, "client": client})
    return issued


async def refresh(sessions: Sessions, settings: Settings, *, refresh_token: str) -> IssuedTokens:
    """Rotate a refresh token; presenting one that was already rotated revokes its whole session.

    Raises:
        AuthError: a malformed, expired, revoked or reused token, or a disabled user.
    """
    try:
        sid, generation, secret = tokens.parse_refresh(refresh_token)
    except tokens.TokenError as e:
        raise AuthError(str(e)) from None
    now = utcnow()
    async with sessions() as s:
        found = await identity.session_with_user(s, session_id=sid)
    if found is None:
        raise AuthError("the refresh token is not valid")
    row, user = found
    if row.revoked_at is not None:
        raise AuthError("the session was revoked: sign in again")
    if row.expires_at <= now:
        raise AuthError("the session has expired: sign in again")
    if user.disabled:
        raise AuthError("the user is disabled")
    if generation < row.generation:
        async with sessions.begin() as s:
            await identity.revoke_session(s, session_id=sid, now=now, reason="refresh token reused")
        await _event(
            sessions,
            "refresh_reused",
            "a rotated refresh token was presented again: the session is revoked",
            {"username": user.username, "session": sid},
        )
        raise AuthError("the refresh token was already used: the session is revoked, sign in again")
    if generation != row.generation or not tokens.same_digest(secret, row.refresh_hash):
        raise AuthError("the refresh token is not valid")
    new_token, new_hash = tokens.new_refresh(sid, generation + 1)
    async with sessions.begin() as s:
        rotated = await identity.rotate_session(
            s, session_id=sid, generation=generation, refresh_hash=new_hash, now=now
        )
    if not rotated:  # the same token won a race elsewhere: that is a reuse too
        async with sessions.begin() as s:
            await identity.revoke_session(s, session_id=sid, now=now, reason="refresh token reused")
        raise AuthError("the refresh token was already used: the session is revoked, sign in again")
    access, ttl = tokens.issue_access(
        tokens.signing_key(settings),
        sub=user.username,
        roles=list(user.roles),
        sid=sid,
        now=now,
        ttl_s=settings.access_token_ttl_s,
    )
    return IssuedTokens(access, ttl, new_token)


async def logout(sessions: Sessions, principal: Principal) -> None:
    """Revoke the caller's session: its refresh token and every access token issued under it."""
    if principal.kind != "user":
        raise AuthError("API keys do not sign out: revoke the key (DELETE /auth/api-keys/{id})", status=400)
    async with sessions.begin() as s:
        await identity.revoke_session(s, session_id=principal.session_id, now=utcnow(), reason="signed out")


async def authenticate(sessions: Sessions, settings: Settings, token: str) -> Principal:
    """The principal behind a bearer token (an access token or an API key), checked against the
    store on every call, so a revoked key, a signed-out session or a disabled user is refused at once.

    Raises:
        AuthError: the token is not valid now.
    """
    key = tokens.parse_api_key(token)
    if key is not None:
        key_id, secret = key
        async with sessions() as s:
            api_key = await identity.get_api_key(s, key_id=key_id)
        if api_key is None or not tokens.same_digest(secret, api_key.secret_hash):
            raise AuthError("the API key is not valid")
        if api_key.revoked_at is not None:
            raise AuthError("the API key was revoked")
        return Principal(name=f"{KEY_PREFIX}{api_key.name}", roles=frozenset({api_key.role}), kind="key")
    try:
        claims = tokens.verify_access(tokens.signing_key(settings), token)
    except tokens.TokenError as e:
        raise AuthError(str(e)) from None
    async with sessions() as s:
        found = await identity.session_with_user(s, session_id=claims.sid)
    if found is None:
        raise AuthError("the token is not valid")
    row, user = found
    if row.revoked_at is not None:
        raise AuthError("the session was revoked: sign in again")
    if user.disabled or user.username != claims.sub:
        raise AuthError("the user is disabled")
    # A role removed since the token was issued is gone at once.
    roles = claims.roles & frozenset(user.roles)
    return Principal(name=user.username, roles=roles, kind="user", session_id=claims.sid)


async def create_user(
    sessions: async_sessionmaker[AsyncSession],
    *,
    username: str,
    password: str,
    roles: list[str],
    created_by: str,
) -> None:
    """Add a user with an Argon2 hash of ``password``.

    Raises:
        AuthError: the password is too short or long (422), or the name is taken (409).
    """
    problem = password_problem(password)
    if problem:
        raise AuthError(f"password {problem}", status=422)
    hashed = await hash_password(password)
    try:
        async with sessions.begin() as s:
            await identity.create_user(
                s, username=username, password_hash=hashed, roles=roles, created_by=created_by, now=utcnow()
            )
    except IntegrityError:
        raise AuthError(f"user {username!r} exists already", status=409) from None


async def ensure_admin(sessions: Sessions, settings: Settings) -> str | None:
    """On a store with no user, create ``admin`` with ``ASTS_ADMIN_PASSWORD`` or a generated password
    (written to ``<home>/admin-password``, 0600); return the generated one, else None.

    Raises:
        AuthError: ``ASTS_ADMIN_PASSWORD`` is too short.
    """
    async with sessions() as s:
        if await identity.count_users(s):
            return None
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(18)
    try:
        await create_user(sessions, username=ADMIN, password=password, roles=["admin"], created_by="system")
    except AuthError as e:
        if e.status == 409:  # another API process created it first
            return None
        raise AuthError(f"ASTS_ADMIN_PASSWORD: {e.detail}", status=e.status) from None
    if given:
        log.info("created user admin with ASTS_ADMIN_PASSWORD")
        return None
    path = settings.home / ADMIN_PASSWORD_FILE
    tokens.write_private(path, password + "\n")
    log.info("created user admin; its generated password is in %s (mode 0600)", path)
    return password


def client_of(host: str | None) -> str:
    """The client address recorded for a sign-in."""
    return (host or "unknown")[:64]
