"""The dependencies routes declare: who is calling (from the bearer token) and which role a route needs.

Every route names its role with one of the ``*User`` aliases (or ``Allow``); ``create_app``
refuses to build an app with a route that names none, outside ``ANONYMOUS_PATHS``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from api.auth.roles import ROLE_SCOPES, Principal
from api.auth.service import AuthError, authenticate
from api.pages import PAGE_PATHS

# Paths that answer without a token. /codec/* decides by itself (see api/routes/codec.py).
ANONYMOUS_PATHS = frozenset(
    {
        "/health",
        "/metrics",
        *PAGE_PATHS,
        "/openapi.json",
        "/auth/token",
        "/auth/refresh",
    }
)

bearer = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    scheme_name="bearer",
    description="An access token from POST /auth/token, or an API key (asts_…): `Authorization: Bearer …`.",
    auto_error=False,
)

_SIGN_IN = "send Authorization: Bearer <token> (an access token from POST /auth/token, or an API key)"


def unauthorized(detail: str) -> HTTPException:
    """A 401 that tells the client how to authenticate."""
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def require_principal(request: Request) -> Principal:
    """The caller of ``request``, from its bearer token; 401 without a valid one."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    token = await bearer(request)
    if not token:
        raise unauthorized(f"not signed in: {_SIGN_IN}")
    app = request.app
    try:
        principal = await app.state.principals.get(
            token, lambda: authenticate(app.state.sessions, app.state.settings, token)
        )
    except AuthError as e:
        raise unauthorized(e.detail) from None
    request.state.principal = principal
    return principal


def forget_principals(request: Request) -> None:
    """After a sign-out, a revocation or a change of a user: the next request checks the store."""
    request.app.state.principals.clear()


async def current_principal(request: Request, _token: str | None = Depends(bearer)) -> Principal:
    """``require_principal`` as a dependency (declares the bearer scheme in the OpenAPI document)."""
    return await require_principal(request)


class Allow:
    """A dependency that admits callers holding one of ``roles`` (admin holds every role; every
    role may read) and answers 403 naming the role needed otherwise."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    async def __call__(self, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(*self.roles):
            needed = " or ".join(self.roles)
            held = ", ".join(sorted(principal.roles)) or "no role"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {needed} role ({ROLE_SCOPES[self.roles[0]]}); "
                f"{principal.name} has {held}",
            )
        return principal


def forbidden(detail: str) -> HTTPException:
    """A 403 for a rule beyond the role (ownership, four eyes)."""
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


AnyUser = Annotated[Principal, Depends(Allow("viewer"))]
ViewerUser = AnyUser
TraderUser = Annotated[Principal, Depends(Allow("trader"))]
RiskUser = Annotated[Principal, Depends(Allow("risk"))]
TraderOrRiskUser = Annotated[Principal, Depends(Allow("trader", "risk"))]
AdminUser = Annotated[Principal, Depends(Allow("admin"))]

# For decorators and routers: ``@router.post(..., dependencies=[TRADER])`` when the route does not
# need the principal itself.
VIEWER = Depends(Allow("viewer"))
TRADER = Depends(Allow("trader"))
RISK = Depends(Allow("risk"))
ADMIN = Depends(Allow("admin"))
