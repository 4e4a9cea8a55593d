"""Test data made through the real services, never by writing rows by hand."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask

from idp.extensions import db
from idp.models import Customer
from idp.services import customers

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
