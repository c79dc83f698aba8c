"""Roles, what each may do, and the authenticated principal of a request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "trader", "risk", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "trader", "risk", "admin")

# What each role is for (shown by the API and the CLI).
ROLE_SCOPES: dict[str, str] = {
    "viewer": "every read",
    "trader": "start, stop, change and halt/resume own strategies; backtests, optimisations, analyses, data",
    "risk": "global halt/resume, halt/resume any strategy, approvals, reconciliation, breakers",
    "admin": "users and API keys, and everything the other roles may do",
}

# User names are lower-case slugs: no colon, so no user can pass for a system actor
# ("breaker:daily_loss", "key:…"), and none of the names the system itself records.
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
RESERVED_NAMES = frozenset(
    {"api", "system", "neurohub", "hub", "worker", "breaker", "scheduler", "cli", "root"}
)
KEY_PREFIX = "key:"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a user (or API key) name, or None when it can."""
    if not USERNAME.fullmatch(name):
        return "must be 2-64 characters: a lower-case letter, then letters, digits, '.', '_' or '-'"
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved for the system"
    return None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (``name`` is the user name) or an API key (``key:<name>``)."""

    name: str
    roles: frozenset[str]
    kind: Literal["user", "key"] = "user"
    session_id: str = ""

    def has(self, *roles: str) -> bool:
        """True when any of ``roles`` is held; admin holds all, and every role may read."""
        if "admin" in self.roles:
            return True
        return any(r in self.roles or (r == "viewer" and self.roles) for r in roles)
