"""Identity: sign in, refresh, sign out, who am I; users and API keys (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from sqlalchemy.exc import IntegrityError

from activities.deps import utcnow
from api.auth import service, tokens
from api.auth.deps import AdminUser, AnyUser, forget_principals
from api.auth.passwords import hash_password, password_problem
from api.auth.roles import name_problem
from api.deps import SessionDep, SettingsDep
from api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    Page,
    RefreshBody,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
    WhoAmI,
    page_of,
)
from store.repo import identity

router = APIRouter(prefix="/auth", tags=["auth"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _refused(e: service.AuthError) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else {}
    if e.retry_after_s is not None:
        headers["Retry-After"] = str(e.retry_after_s)
    return HTTPException(e.status, detail=e.detail, headers=headers or None)


def _tokens(issued: service.IssuedTokens) -> TokenPublic:
    return TokenPublic(
        access_token=issued.access_token, expires_in=issued.expires_in, refresh_token=issued.refresh_token
    )


@router.post("/token", response_model=TokenPublic)
async def sign_in(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenPublic:
    """Sign in with the OAuth2 password form (``username``, ``password``); refusals are rate-limited
    per user name and per client address, and recorded."""
    client = service.client_of(request.client.host if request.client else None)
    try:
        issued = await service.login(
            request.app.state.sessions, settings, username=username, password=password, client=client
        )
    except service.AuthError as e:
        raise _refused(e) from None
    return _tokens(issued)


@router.post("/refresh", response_model=TokenPublic)
async def refresh_tokens(body: RefreshBody, request: Request, settings: SettingsDep) -> TokenPublic:
    """A new access token and a new refresh token; the one presented can never be used again
    (presenting it again revokes the session)."""
    try:
        issued = await service.refresh(request.app.state.sessions, settings, refresh_token=body.refresh_token)
    except service.AuthError as e:
        forget_principals(request)  # a reused refresh token revoked its session
        raise _refused(e) from None
    return _tokens(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(request: Request, user: AnyUser) -> None:
    """Revoke this session: its refresh token and its access tokens stop working at once."""
    try:
        await service.logout(request.app.state.sessions, user)
    except service.AuthError as e:
        raise _refused(e) from None
    forget_principals(request)


@router.get("/me", response_model=WhoAmI)
async def who_am_i(user: AnyUser) -> WhoAmI:
    """The caller, as the API sees it."""
    return WhoAmI(name=user.name, kind=user.kind, roles=sorted(user.roles))


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def add_user(body: UserCreate, request: Request, user: AdminUser, session: SessionDep) -> UserPublic:
    """Add a user (the password is stored only as an Argon2 hash)."""
    problem = name_problem(body.username)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"username: {problem}")
    try:
        await service.create_user(
            request.app.state.sessions,
            username=body.username,
            password=body.password,
            roles=list(body.roles),
            created_by=user.name,
        )
    except service.AuthError as e:
        raise _refused(e) from None
    row = await identity.get_user(session, username=body.username)
    return UserPublic.model_validate(row)


@router.get("/users", response_model=Page[UserPublic])
async def list_users(
    user: AdminUser, session: SessionDep, limit: Limit = 200, offset: Offset = 0
) -> Page[UserPublic]:
    """Users, by name."""
    rows = await identity.list_users(session, limit=limit, offset=offset)
    return page_of(UserPublic, rows)


@router.patch("/users/{username}", response_model=UserPublic)
async def change_user(
    username: Annotated[str, Path(min_length=1, max_length=64)],
    body: UserUpdate,
    user: AdminUser,
    session: SessionDep,
    request: Request,
) -> UserPublic:
    """Disable or enable a user, change their roles or reset their password (disabling or a reset
    signs them out everywhere)."""
    if body.password is not None and (problem := password_problem(body.password)):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"password {problem}")
    if username == user.name and (body.disabled or (body.roles is not None and "admin" not in body.roles)):
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="you cannot disable yourself or drop your own admin role"
        )
    hashed = await hash_password(body.password) if body.password is not None else None
    row = await identity.update_user(
        session,
        username=username,
        now=utcnow(),
        disabled=body.disabled,
        roles=list(body.roles) if body.roles is not None else None,
        password_hash=hashed,
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no user {username!r}")
    await session.commit()
    forget_principals(request)
    return UserPublic.model_validate(row)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyCreate, user: AdminUser, session: SessionDep) -> ApiKeyCreated:
    """A new API key with one role, for automation; the key is in this answer only (the store keeps
    its hash). Use it as ``Authorization: Bearer <key>``."""
    problem = name_problem(body.name)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"name: {problem}")
    key_id, key, secret_hash = tokens.new_api_key()
    try:
        row = await identity.create_api_key(
            session,
            id=key_id,
            name=body.name,
            role=body.role,
            secret_hash=secret_hash,
            created_by=user.name,
            now=utcnow(),
        )
        await session.commit()
    except IntegrityError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"an API key named {body.name!r} exists"
        ) from None
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.get("/api-keys", response_model=Page[ApiKeyPublic])
async def list_api_keys(
    user: AdminUser, session: SessionDep, limit: Limit = 200, offset: Offset = 0
) -> Page[ApiKeyPublic]:
    """API keys, newest first (revoked ones too, with when)."""
    rows = await identity.list_api_keys(session, limit=limit, offset=offset)
    return page_of(ApiKeyPublic, rows)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyPublic)
async def revoke_api_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: AdminUser,
    session: SessionDep,
    request: Request,
) -> ApiKeyPublic:
    """Revoke a key: from this answer on it is refused."""
    row = await identity.revoke_api_key(session, key_id=key_id, now=utcnow())
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no API key {key_id!r}")
    await session.commit()
    forget_principals(request)
    return ApiKeyPublic.model_validate(row)
