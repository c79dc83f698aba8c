"""Users, sign-in sessions, API keys and refused sign-ins.

Only hashes of secrets are stored: Argon2 for passwords, SHA-256 for the random refresh
tokens and API key secrets (which carry 256 bits of entropy, so a slow hash adds nothing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiKeyRow, AuthSessionRow, LoginFailureRow, UserRow
from store.repo._common import fetch_all, fetch_first


async def count_users(session: AsyncSession) -> int:
    """How many users exist (the first start creates the admin when there are none)."""
    return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password_hash: str,
    roles: list[str],
    created_by: str,
    now: datetime,
) -> UserRow:
    """Insert a user; a taken name raises ``IntegrityError``."""
    row = UserRow(
        username=username,
        password_hash=password_hash,
        roles=sorted(set(roles)),
        disabled=False,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_user(session: AsyncSession, *, username: str) -> UserRow | None:
    """The user with this name, or None."""
    return await fetch_first(session, select(UserRow).where(UserRow.username == username))


async def list_users(session: AsyncSession, *, limit: int, offset: int = 0) -> list[UserRow]:
    """Users by name."""
    return await fetch_all(session, select(UserRow).order_by(UserRow.username).limit(limit).offset(offset))


async def update_user(
    session: AsyncSession,
    *,
    username: str,
    now: datetime,
    disabled: bool | None = None,
    roles: list[str] | None = None,
    password_hash: str | None = None,
) -> UserRow | None:
    """Change a user's state, roles or password; disabling revokes every session of theirs."""
    row = await get_user(session, username=username)
    if row is None:
        return None
    if disabled is not None:
        row.disabled = disabled
    if roles is not None:
        row.roles = sorted(set(roles))
    if password_hash is not None:
        row.password_hash = password_hash
    row.updated_at = now
    if disabled or password_hash is not None:
        await revoke_user_sessions(session, user_id=row.id, now=now, reason="user disabled or password reset")
    await session.flush()
    return row


async def create_session(
    session: AsyncSession,
    *,
    id: str,
    user_id: int,
    refresh_hash: str,
    client: str,
    now: datetime,
    expires_at: datetime,
) -> AuthSessionRow:
    """Open a sign-in session at generation 0."""
    row = AuthSessionRow(
        id=id,
        user_id=user_id,
        refresh_hash=refresh_hash,
        generation=0,
        client=client,
        created_at=now,
        refreshed_at=now,
        expires_at=expires_at,
        revoked_at=None,
        revoked_reason="",
    )
    session.add(row)
    await session.flush()
    return row


async def session_with_user(
    session: AsyncSession, *, session_id: str
) -> tuple[AuthSessionRow, UserRow] | None:
    """A sign-in session and its user, in one query (checked on every request with a token)."""
    stmt = (
        select(AuthSessionRow, UserRow)
        .join(UserRow, UserRow.id == AuthSessionRow.user_id)
        .where(AuthSessionRow.id == session_id)
        .execution_options(populate_existing=True)
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else (found[0], found[1])


async def rotate_session(
    session: AsyncSession, *, session_id: str, generation: int, refresh_hash: str, now: datetime
) -> bool:
    """Move a session from ``generation`` to the next with a new token hash; False if another
    refresh got there first (the same token presented twice at once: only one wins)."""
    result = await session.execute(
        update(AuthSessionRow)
        .where(
            AuthSessionRow.id == session_id,
            AuthSessionRow.generation == generation,
            AuthSessionRow.revoked_at.is_(None),
        )
        .values(generation=generation + 1, refresh_hash=refresh_hash, refreshed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_session(session: AsyncSession, *, session_id: str, now: datetime, reason: str) -> bool:
    """Revoke one session (its refresh token and every access token issued under it)."""
    result = await session.execute(
        update(AuthSessionRow)
        .where(AuthSessionRow.id == session_id, AuthSessionRow.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_sessions(session: AsyncSession, *, user_id: int, now: datetime, reason: str) -> None:
    """Revoke every open session of a user."""
    await session.execute(
        update(AuthSessionRow)
        .where(AuthSessionRow.user_id == user_id, AuthSessionRow.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def create_api_key(
    session: AsyncSession,
    *,
    id: str,
    name: str,
    role: str,
    secret_hash: str,
    created_by: str,
    now: datetime,
) -> ApiKeyRow:
    """Insert an API key; a name in use raises ``IntegrityError``."""
    row = ApiKeyRow(
        id=id, name=name, role=role, secret_hash=secret_hash, created_by=created_by, created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def get_api_key(session: AsyncSession, *, key_id: str) -> ApiKeyRow | None:
    """The API key with this id, or None."""
    return await session.get(ApiKeyRow, key_id, populate_existing=True)


async def list_api_keys(session: AsyncSession, *, limit: int, offset: int = 0) -> list[ApiKeyRow]:
    """API keys, newest first."""
    stmt = select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id).limit(limit).offset(offset)
    return await fetch_all(session, stmt)


async def revoke_api_key(session: AsyncSession, *, key_id: str, now: datetime) -> ApiKeyRow | None:
    """Revoke a key (idempotent); None if there is no such key."""
    row = await get_api_key(session, key_id=key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        await session.flush()
    return row


async def record_login_failure(session: AsyncSession, *, username: str, client: str, now: datetime) -> None:
    """Count one refused sign-in against the name and the client address."""
    session.add(LoginFailureRow(username=username[:64], client=client[:64], at=now))
    await session.flush()


async def login_failures_since(
    session: AsyncSession, *, since: datetime, username: str | None = None, client: str | None = None
) -> int:
    """Refused sign-ins since ``since``, for one name or one client address."""
    stmt = select(func.count()).select_from(LoginFailureRow).where(LoginFailureRow.at >= since)
    if username is not None:
        stmt = stmt.where(LoginFailureRow.username == username)
    if client is not None:
        stmt = stmt.where(LoginFailureRow.client == client)
    return int(await session.scalar(stmt) or 0)
