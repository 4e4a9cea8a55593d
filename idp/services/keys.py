"""Signing keys for ID tokens and JWT access tokens: creation, rotation, selection, the JWKS.

Everything lives in the database, so every process and thread agrees on which key signs.
A key is published in the JWKS from creation, signs from ``activates_at`` ("publish before
use", so clients that cache the JWKS know a key before they meet it), stops signing at
``retired_at`` when its successor activates, and leaves the JWKS at ``expires_at``, once every
token it signed has expired.

Concurrency: each key of an alg has a ``generation`` (1, 2, ...) and ``(alg, generation)`` is
unique. Creating a key means inserting "generation = highest + 1", so two processes that both
find no key (or the same current key) insert the same generation and the database lets only one
commit; the other gets an ``IntegrityError``, rolls back its savepoint and reads the winner's
key. A unique constraint rather than a row lock because the race that matters most,
``ensure_keys`` on an empty table, has no row to lock (``SELECT ... FOR UPDATE`` locks nothing
there), and because it behaves the same on SQLite and PostgreSQL. Signing picks the highest
usable generation, so even rows written by hand cannot make two processes choose differently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeAlias

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from idp import security
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import SigningKey

ALGORITHMS = ("ES256", "RS256")
# 2048 bits: what every OIDC client accepts and signs fast; ES256 is the stronger default anyway.
RSA_KEY_SIZE = 2048
_CONFLICT_RETRIES = 3

# A joserfc key with its private part, ready for ``joserfc.jwt.encode``.
SigningJWK: TypeAlias = ECKey | RSAKey


def _generate(alg: str) -> SigningJWK:
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    return RSAKey.generate_key(RSA_KEY_SIZE)


def _check_alg(alg: str) -> None:
    if alg not in ALGORITHMS:
        raise ValidationError({"alg": f"unknown algorithm {alg!r}; one of {', '.join(ALGORITHMS)}"})


def _new_key(
    alg: str, generation: int, activates_at: datetime, now: datetime, encryption_key: bytes
) -> SigningKey:
    key = _generate(alg)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    return SigningKey(
        kid=kid,
        alg=alg,
        generation=generation,
        public_jwk=public,
        private_key_ciphertext=security.encrypt(
            key.as_pem(private=True), encryption_key, kid.encode("ascii")
        ),
        created_at=now,
        activates_at=activates_at,
    )


def _highest_generation(alg: str) -> int:
    return db.session.execute(
        select(func.coalesce(func.max(SigningKey.generation), 0)).where(SigningKey.alg == alg)
    ).scalar_one()


def _current(alg: str) -> list[SigningKey]:
    """Keys of ``alg`` that sign now or will: no successor has taken over yet."""
    return list(
        db.session.execute(
            select(SigningKey)
            .where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
            .order_by(SigningKey.generation)
        ).scalars()
    )


def ensure_keys(now: datetime, *, encryption_key: bytes) -> list[SigningKey]:
    """Give each of ES256 and RS256 a key active at ``now`` unless it has one; returns the new.

    Idempotent and safe to run from several processes at once (see the module docstring).
    The caller commits.
    """
    created = []
    for alg in ALGORITHMS:
        for _ in range(_CONFLICT_RETRIES):
            key = None
            try:
                with db.session.begin_nested():
                    if not _current(alg):
                        key = _new_key(alg, _highest_generation(alg) + 1, now, now, encryption_key)
                        db.session.add(key)
                        db.session.flush()
            except IntegrityError:
                continue  # another process created it first: look again
            if key is not None:
                created.append(key)
            break
        else:
            raise RuntimeError(f"could not create a {alg} signing key: concurrent writers")
    return created


def rotate(
    alg: str,
    publish_ahead: timedelta,
    token_max_lifetime: timedelta,
    now: datetime,
    *,
    encryption_key: bytes,
) -> SigningKey:
    """Add a key of ``alg`` that signs from ``now + publish_ahead``; returns it.

    The current key keeps signing until then, is retired at that moment, and stays in the JWKS
    for ``token_max_lifetime`` more so tokens it signed still verify. ``publish_ahead`` of zero is
    the emergency rotation after a leak: the new key signs at once and the old one is retired at
    once (still published until its tokens expire); a scheduled key that never signed is
    withdrawn with it. Refused when a key is already scheduled and ``publish_ahead`` is not zero,
    so rotating more often than ``publish_ahead`` cannot postpone activation forever. With no
    key of ``alg`` yet, the new one signs at once. The caller commits.
    """
    _check_alg(alg)
    if publish_ahead < timedelta(0) or token_max_lifetime < timedelta(0):
        raise ValidationError({"rotate": "durations must not be negative"})
    for _ in range(_CONFLICT_RETRIES):
        try:
            with db.session.begin_nested():
                key = _rotate_once(alg, publish_ahead, token_max_lifetime, now, encryption_key)
                db.session.flush()
        except IntegrityError:
            continue  # a concurrent rotation took this generation: start again from its result
        return key
    raise RuntimeError(f"could not rotate the {alg} signing key: concurrent writers")


def _rotate_once(
    alg: str,
    publish_ahead: timedelta,
    token_max_lifetime: timedelta,
    now: datetime,
    encryption_key: bytes,
) -> SigningKey:
    current = _current(alg)
    scheduled = [k for k in current if k.activates_at > now]
    if scheduled and publish_ahead > timedelta(0):
        raise ValidationError(
            {
                "alg": (
                    f"{alg} already has key {scheduled[-1].kid} scheduled to sign from "
                    f"{scheduled[-1].activates_at.isoformat()}; rotate --now to replace it at once"
                )
            }
        )
    # Nothing signs yet: waiting for the new key to be known would only leave a gap.
    activates_at = now + publish_ahead if current else now
    key = _new_key(alg, _highest_generation(alg) + 1, activates_at, now, encryption_key)
    for old in current:
        old.retired_at = activates_at
        signed_tokens = old.activates_at < activates_at
        old.expires_at = activates_at + token_max_lifetime if signed_tokens else activates_at
    db.session.add(key)
    return key


def active_key(alg: str, now: datetime, *, encryption_key: bytes) -> tuple[str, SigningJWK]:
    """The kid and private key that sign ``alg`` tokens at ``now``.

    Raises ``NotFound`` when none does (``ensure_keys`` was never run) and
    ``security.DecryptionError`` when the stored key cannot be opened with ``encryption_key``.
    """
    _check_alg(alg)
    row = db.session.execute(
        select(SigningKey.kid, SigningKey.private_key_ciphertext)
        .where(
            SigningKey.alg == alg,
            SigningKey.activates_at <= now,
            or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now),
        )
        .order_by(SigningKey.generation.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no {alg} signing key is active")
    return row.kid, _private_key(alg, row.kid, row.private_key_ciphertext, encryption_key)


@lru_cache(maxsize=32)
def _private_key(alg: str, kid: str, ciphertext: bytes, encryption_key: bytes) -> SigningJWK:
    """Decrypt and parse once per process: the arguments fully determine the key."""
    pem = security.decrypt(ciphertext, encryption_key, kid.encode("ascii"))
    parameters: Any = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.import_key(pem, parameters)
    return RSAKey.import_key(pem, parameters)


def jwks(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set (RFC 7517 section 5): public keys not yet expired, scheduled ones included."""
    rows = db.session.execute(
        select(SigningKey.public_jwk)
        .where(or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now))
        .order_by(SigningKey.alg, SigningKey.generation.desc())
    ).scalars()
    return {"keys": [dict(jwk) for jwk in rows]}


def list_keys() -> list[SigningKey]:
    """Every stored key, by alg then newest first."""
    return list(
        db.session.execute(
            select(SigningKey).order_by(SigningKey.alg, SigningKey.generation.desc())
        ).scalars()
    )


def purge_expired(now: datetime) -> int:
    """Delete keys that have left the JWKS; returns how many. The caller commits."""
    result = db.session.execute(
        delete(SigningKey).where(SigningKey.expires_at.is_not(None), SigningKey.expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
