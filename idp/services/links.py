"""Signed, expiring, single-use links for email verification and password reset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from idp import security
from idp.errors import InvalidLink
from idp.extensions import db
from idp.models import Customer, UsedLink
from idp.models.types import utcnow
from idp.services import customers


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"


@dataclass(frozen=True)
class LinkClaims:
    customer: Customer
    nonce: str
    purpose: Purpose
    max_age: int


def _serializer(secret_key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    # The salt separates purposes: a verification link can never reset a password.
    return URLSafeTimedSerializer(secret_key, salt=f"idp.link.{purpose}")


def _binding(customer: Customer, purpose: Purpose) -> str:
    """What the link is tied to; when it changes (new email, new password) the link dies."""
    if purpose is Purpose.VERIFY_EMAIL:
        return security.digest(customer.email_normalized)[:16]
    current = customer.password.password_hash if customer.password else "none"
    return security.digest(current)[:16]


def make(secret_key: str, customer: Customer, purpose: Purpose) -> str:
    payload = {
        "c": customer.public_id,
        "n": security.random_token(16),
        "b": _binding(customer, purpose),
    }
    return _serializer(secret_key, purpose).dumps(payload)


def read(secret_key: str, token: str, purpose: Purpose, max_age: int) -> LinkClaims:
    """Check signature, age, binding and prior use, without spending the link."""
    if len(token) > 1024:
        raise InvalidLink("too long")
    try:
        payload: Any = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidLink("expired") from exc
    except BadSignature as exc:
        raise InvalidLink("bad signature") from exc
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "cnb"):
        raise InvalidLink("malformed")
    customer = customers.find_by_public_id(payload["c"])
    if customer is None or not security.constant_time_equals(
        payload["b"], _binding(customer, purpose)
    ):
        raise InvalidLink("stale")
    used = db.session.get(UsedLink, security.digest(payload["n"]))
    if used is not None:
        raise InvalidLink("used")
    return LinkClaims(customer=customer, nonce=payload["n"], purpose=purpose, max_age=max_age)


def spend(claims: LinkClaims) -> None:
    """Mark the link used in the caller's transaction; a concurrent spend loses on the key."""
    db.session.add(
        UsedLink(
            nonce_digest=security.digest(claims.nonce),
            purpose=str(claims.purpose),
            expires_at=utcnow() + timedelta(seconds=claims.max_age),
        )
    )
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise InvalidLink("used") from exc
