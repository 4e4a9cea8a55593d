"""Staff accounts and console sign-ins for tests, through the real services and pages."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idp.extensions import db
from idp.models import AdminUser
from idp.services import audit, totp
from idp.services.admin import staff
from tests.factories import PASSWORD, totp_code, totp_settings
from tests.helpers import submit

_counter = itertools.count(1)
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')


@dataclass(frozen=True)
class Staff:
    email: str
    public_id: str
    role: str
    secret: str | None  # the authenticator app's secret, once set up


def make_admin(app: Flask, role: str = "admin", *, enrolled: bool = True) -> Staff:
    """A staff account; ``enrolled`` sets up its authenticator app with last period's code, so
    the current and next codes stay free for the test's sign-ins."""
    email = f"staff{next(_counter)}@company.example"
    with app.app_context():
        admin = staff.create(email=email, role=role, password=PASSWORD, actor=audit.Actor.cli())
        db.session.commit()
        secret = None
        if enrolled:
            secret = totp.enrollment(admin, totp_settings(app)).secret
            assert totp.confirm(admin, totp_code(secret, -1), totp_settings(app)) is not None
            db.session.commit()
        return Staff(email, admin.public_id, role, secret)


def password_step(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    return submit(client, "/admin/login", {"email": email, "password": password})


def sign_in(client: FlaskClient, who: Staff, steps: int = 0) -> TestResponse:
    """Both steps through the pages; ``steps`` picks another period's code (each works once)."""
    assert who.secret is not None
    first = password_step(client, who.email)
    assert first.status_code == 302, first.get_data(as_text=True)
    return submit(client, "/admin/second-factor", {"code": totp_code(who.secret, steps)})


def admin_row(app: Flask, who: Staff) -> AdminUser:
    with app.app_context():
        row = staff.get(who.public_id)
        db.session.expunge(row)
        return row
