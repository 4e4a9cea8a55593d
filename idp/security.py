"""Random secrets, digests, password hashing and encryption at rest: the only place idp touches
raw secrets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random secret with ``nbytes`` of entropy."""
    return secrets.token_urlsafe(nbytes)


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def random_identifier(length: int = 32) -> str:
    """A random public identifier of letters and digits only (190 bits at 32 characters).

    Unlike ``random_token`` it never starts with ``-``, which a shell command would read as an
    option, and it needs no quoting anywhere.
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


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


class DecryptionError(ValueError):
    """Ciphertext that the given key did not produce, or that was altered since."""


_SEALED_VERSION = b"\x01"
_NONCE_BYTES = 12


def encrypt(data: bytes, key: bytes, associated_data: bytes = b"") -> bytes:
    """AES-256-GCM: version byte, random 96-bit nonce, ciphertext and tag.

    ``associated_data`` (a key id, say) is authenticated but not stored: a ciphertext copied
    onto another row no longer decrypts.
    """
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _SEALED_VERSION + nonce + AESGCM(key).encrypt(nonce, data, associated_data)


def decrypt(blob: bytes, key: bytes, associated_data: bytes = b"") -> bytes:
    """Undo ``encrypt``; raises ``DecryptionError`` for a wrong key, other data or tampering."""
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _SEALED_VERSION:
        raise DecryptionError("not a sealed value")
    nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated_data)
    except InvalidTag as exc:
        raise DecryptionError("wrong key or altered ciphertext") from exc


def derive_key(secret: str, info: bytes) -> bytes:
    """A 256-bit key from a high-entropy secret; ``info`` keeps each purpose's key apart."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret.encode("utf-8"))


def decode_key(value: str) -> bytes:
    """A 256-bit key written as URL-safe base64 (padding optional), as settings hold it."""
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not URL-safe base64") from exc
    if len(key) != 32:
        raise ValueError(f"{len(key)} bytes instead of 32")
    return key
