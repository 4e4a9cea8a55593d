"""Random secrets, digests and password hashing: the only place idp touches raw secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random secret with ``nbytes`` of entropy."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """SHA-256 hex digest: how high-entropy secrets (session ids, tokens) are stored and found."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@cache
def password_hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the stored hash was made with other parameters than today's."""
    try:
        return password_hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return hash_password(random_token())


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check so an unknown email cannot be told from a wrong one."""
    verify_password(_dummy_hash(), password)
