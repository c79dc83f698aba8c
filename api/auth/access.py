"""Proof that every route names its role, and the roles written into the OpenAPI document.

``check_routes`` walks each route's dependency tree for an ``Allow`` (or any dependency
with a ``roles`` attribute, such as the codec's own access rule) and refuses to build an
app where a route outside ``ANONYMOUS_PATHS`` has none. ``document_roles`` adds
``x-required-roles`` to each operation, which the role-matrix test reads back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.auth.deps import ANONYMOUS_PATHS


class UnprotectedRouteError(RuntimeError):
    """A route declares no role."""


def route_roles(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles the first role-checking dependency in this tree admits, or None when there is none."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if isinstance(roles, tuple) and roles:
            return roles
        found = route_roles(dep)
        if found:
            return found
    return None


def api_routes(app: FastAPI) -> list[Any]:
    """Every API route of the app as served (routers included, their prefixes and dependencies applied)."""
    return [ctx for ctx in iter_route_contexts(app.routes) if isinstance(ctx.original_route, APIRoute)]


def check_routes(app: FastAPI) -> None:
    """Raise ``UnprotectedRouteError`` for any route that could be called without a role check."""
    routes = api_routes(app)
    if len(routes) < 2:
        raise UnprotectedRouteError("no routes found to check: has FastAPI's routing changed?")
    missing = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if r.path not in ANONYMOUS_PATHS and route_roles(r.dependant) is None
    ]
    if missing:
        raise UnprotectedRouteError(f"routes without a role check: {', '.join(missing)}")


def document_roles(app: FastAPI) -> None:
    """Make the app's OpenAPI document state each operation's roles (``x-required-roles``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for r in api_routes(app):
            if not r.include_in_schema:
                continue
            roles = route_roles(r.dependant)
            for method in r.methods:
                op = schema.get("paths", {}).get(r.path_format, {}).get(method.lower())
                if op is None:
                    continue
                op["x-required-roles"] = list(roles) if roles else []
                if roles is None:
                    op["security"] = []  # explicitly anonymous
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
