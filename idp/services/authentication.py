"""Checking a password sign-in: throttled, constant in shape, recorded either way."""

from __future__ import annotations

from dataclasses import dataclass

from idp import security
from idp.errors import AccountDisabled, AuthenticationFailed, Throttled, ValidationError
from idp.extensions import db
from idp.models import Customer
from idp.models.types import utcnow
from idp.services import RequestMeta, customers, events
from idp.services.events import EventTag
from idp.services.throttle import Throttle


@dataclass(frozen=True)
class LoginLimits:
    per_account: str
    per_ip: str


def account_key(email: str) -> str:
    """The normalised address, so another spelling of it (punycode, accents) gets no new tries."""
    try:
        return customers.normalize_email(email)[1]
    except ValidationError:
        return email.strip().casefold()[:320]


def authenticate_password(
    email: str,
    password: str,
    *,
    meta: RequestMeta,
    throttle: Throttle,
    limits: LoginLimits,
) -> Customer:
    """The customer whose email and password these are.

    An unknown email and a wrong password raise the same ``AuthenticationFailed`` after the
    same argon2 work, so the answer tells an attacker nothing (OWASP ASVS 2.2.x, 3.x).
    """
    key = account_key(email)
    ip_key = meta.ip or "unknown"
    try:
        throttle.check(limits.per_ip, "login-ip", ip_key)
        throttle.check(limits.per_account, "login-account", key)
    except Throttled:
        customer = customers.find_by_email(email)
        events.record(
            EventTag.LOGIN_FAILURE,
            success=False,
            customer=customer,
            meta=meta,
            method="pwd",
            reason="throttled",
        )
        db.session.commit()
        raise

    customer = customers.find_by_email(email)
    credential = customer.password if customer is not None else None
    if credential is None:
        security.burn_password_check(password)
        ok = False
    else:
        ok = security.verify_password(credential.password_hash, password)

    if not ok or customer is None:
        throttle.hit(limits.per_ip, "login-ip", ip_key)
        throttle.hit(limits.per_account, "login-account", key)
        events.record(
            EventTag.LOGIN_FAILURE,
            success=False,
            customer=customer,
            meta=meta,
            method="pwd",
            reason="unknown_account" if customer is None else "bad_password",
        )
        db.session.commit()
        raise AuthenticationFailed()

    if not customer.is_active:
        events.record(
            EventTag.LOGIN_FAILURE,
            success=False,
            customer=customer,
            meta=meta,
            method="pwd",
            reason="disabled",
        )
        db.session.commit()
        raise AccountDisabled()

    assert credential is not None
    if security.password_needs_rehash(credential.password_hash):
        credential.password_hash = security.hash_password(password)
        credential.updated_at = utcnow()
    throttle.clear(limits.per_account, "login-account", key)
    return customer
