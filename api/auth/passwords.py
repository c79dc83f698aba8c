"""Password hashing with Argon2id (argon2-cffi): memory-hard, salted, parameters in the hash."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
_HASHER = PasswordHasher()


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    return None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("a password nobody has")


def hash_password_sync(password: str) -> str:
    """The Argon2id hash of ``password`` (tens of milliseconds and 64 MiB, on purpose)."""
    return _HASHER.hash(password)


async def hash_password(password: str) -> str:
    """``hash_password_sync`` off the event loop."""
    return await asyncio.to_thread(hash_password_sync, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with no stored hash, the same work is done and
    False returned, so timing does not tell whether a user exists."""
    return await asyncio.to_thread(_verify, stored, password)
