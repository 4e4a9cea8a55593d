"""Test data made through the real services, never by writing rows by hand."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pyotp
from flask import Flask

from idp import config
from idp.extensions import db
from idp.models import Customer
from idp.services import customers, totp
from idp.services.totp import TotpSettings

PASSWORD = "a long enough passphrase"
_counter = itertools.count(1)


def make_customer(
    app: Flask,
    *,
    email: str | None = None,
    password: str | None = PASSWORD,
    verified: bool = True,
    **fields: Any,
) -> Customer:
    email = email or f"customer{next(_counter)}@example.com"
    with app.app_context():
        customer = customers.create(
            email=email, password=password, email_verified=verified, **fields
        )
        db.session.commit()
        db.session.refresh(customer)
        db.session.expunge(customer)
    return customer


def totp_settings(app: Flask) -> TotpSettings:
    return TotpSettings(key=config.factor_encryption_key(app.config), issuer_name="idp")


def totp_code(secret: str, steps: int = 0) -> str:
    """The code an authenticator app shows ``steps`` periods of 30 s from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def enroll_totp(app: Flask, customer: Customer) -> str:
    """Turn on an authenticator app for ``customer``; return its secret.

    The confirming code is the previous period's, so the current and next ones stay unused for
    the test's own sign-ins (each code works once).
    """
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        assert row is not None
        secret = totp.enrollment(row, totp_settings(app)).secret
        assert totp.confirm(row, totp_code(secret, -1), totp_settings(app)) is not None
        db.session.commit()
    return secret
