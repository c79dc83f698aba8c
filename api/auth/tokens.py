"""Access tokens (HS256 JWTs), refresh tokens and API keys: their formats, signing and hashing.

An access token is a JWT with ``sub`` (the user), ``roles``, ``sid`` (the sign-in session),
``exp``, ``iat``, ``jti`` and ``iss``. A refresh token is ``<session>.<generation>.<secret>``;
an API key is ``asts_<key id>_<secret>``. Only SHA-256 hashes of the secrets are stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt

from worker.settings import Settings

ALGORITHM = "HS256"
ISSUER = "asts"
MIN_SECRET_LENGTH = 32
# Secrets that mean "nobody chose one": refused outside development.
KNOWN_DEFAULTS = frozenset({"change-me", "changeme", "secret", "development", "asts", "dev"})
SECRET_FILE = "jwt-secret"  # noqa: S105  # nosec B105: a file name, not a secret
KEY_PREFIX = "asts_"
_DEV_SECRETS: dict[Path, bytes] = {}


class TokenError(Exception):
    """A token that is malformed, badly signed, expired or of the wrong kind."""


class SecretConfigError(RuntimeError):
    """The signing secret is missing, a default or too short where that is not allowed."""


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` readable by its owner only (created 0600, never wider), in one
    step: a reader sees no file or the whole text. ``exclusive``: keep a file another process
    wrote first and raise ``FileExistsError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if exclusive:
            os.link(tmp, path)  # fails if another process got there first
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):  # moved into place by os.replace
            os.unlink(tmp)


def signing_key(settings: Settings) -> bytes:
    """The JWT signing secret: ``ASTS_JWT_SECRET``, or in development one kept in ``<home>/jwt-secret``.

    Raises:
        SecretConfigError: outside development, when the secret is unset, a known default or
            shorter than 32 characters.
    """
    configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    if settings.env != "development":
        if not configured:
            raise SecretConfigError("ASTS_JWT_SECRET must be set outside development (32+ random characters)")
        if configured.lower() in KNOWN_DEFAULTS or len(configured) < MIN_SECRET_LENGTH:
            raise SecretConfigError(
                f"ASTS_JWT_SECRET is a default or shorter than {MIN_SECRET_LENGTH} characters: "
                "set a long random one (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return configured.encode()
    if configured:
        return configured.encode()
    path = (settings.home / SECRET_FILE).resolve()
    if path not in _DEV_SECRETS:  # read once per process: it is checked on every request
        if not path.exists():
            # Several API processes may start at once: the first to write it wins, all read it.
            with contextlib.suppress(FileExistsError):
                write_private(path, secrets.token_urlsafe(48), exclusive=True)
        _DEV_SECRETS[path] = path.read_text().strip().encode()
    return _DEV_SECRETS[path]


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret, as hex (what the store keeps)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a stored digest."""
    return hmac.compare_digest(digest(secret), stored)


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    sub: str
    roles: frozenset[str]
    sid: str
    jti: str
    exp: datetime


def issue_access(
    key: bytes, *, sub: str, roles: list[str], sid: str, now: datetime, ttl_s: int
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    claims = {
        "sub": sub,
        "roles": sorted(roles),
        "sid": sid,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": ISSUER,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), ttl_s


def verify_access(key: bytes, token: str) -> AccessClaims:
    """The claims of a valid access token.

    Raises:
        TokenError: bad signature or format, expired, or a claim missing.
    """
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "jti", "sid", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError(
            "the access token has expired: refresh it (POST /auth/refresh) or sign in again"
        ) from None
    except jwt.PyJWTError:
        raise TokenError("the token is not valid") from None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise TokenError("the token is not valid")
    return AccessClaims(
        sub=str(claims["sub"]),
        roles=frozenset(roles),
        sid=str(claims["sid"]),
        jti=str(claims["jti"]),
        exp=datetime.fromtimestamp(int(claims["exp"])).astimezone(),
    )


def new_session_id() -> str:
    """A random sign-in session id."""
    return secrets.token_hex(16)


def new_refresh(session_id: str, generation: int) -> tuple[str, str]:
    """A refresh token for ``session_id`` at ``generation``, and the digest of its secret."""
    secret = secrets.token_urlsafe(32)
    return f"{session_id}.{generation}.{secret}", digest(secret)


def parse_refresh(token: str) -> tuple[str, int, str]:
    """``(session id, generation, secret)`` of a refresh token.

    Raises:
        TokenError: it does not look like one of ours.
    """
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 9 or not parts[0] or not parts[2]:
        raise TokenError("the refresh token is not valid")
    return parts[0], int(parts[1]), parts[2]


def new_api_key() -> tuple[str, str, str]:
    """A new API key: ``(key id, the key to show once, digest of its secret)``."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}", digest(secret)


def parse_api_key(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of something shaped like an API key, else None."""
    if not token.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or not secret:
        return None
    return key_id, secret
