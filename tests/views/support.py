"""Small readers of the real database and cookies shared by the page tests."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from idp.extensions import db
from idp.models import BrowserSession, Customer, LoginEvent, UsedLink
from idp.services import customers

CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+(")')


def customer_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Customer.id))).scalar_one()


def event_count(app: Flask, tag: str | None = None) -> int:
    query = db.select(db.func.count(LoginEvent.id))
    if tag is not None:
        query = query.where(LoginEvent.tag == tag)
    with app.app_context():
        return db.session.execute(query).scalar_one()


def used_link_count(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(UsedLink)).scalar_one()


def password_hash(app: Flask, email: str) -> str:
    with app.app_context():
        customer = customers.find_by_email(email)
        assert customer is not None and customer.password is not None
        return customer.password.password_hash


def browser_sessions(app: Flask) -> list[BrowserSession]:
    with app.app_context():
        rows = list(db.session.execute(db.select(BrowserSession)).scalars())
        db.session.expunge_all()
        return rows


def session_cookie_name(app: Flask) -> str:
    return str(app.config["IDP_SESSION_COOKIE"])


def session_cookie(client: FlaskClient, app: Flask) -> str | None:
    """The browser-session cookie value the client holds, if any."""
    cookie = client.get_cookie(session_cookie_name(app))
    return cookie.value if cookie is not None else None


def client_with_cookie(app: Flask, value: str) -> FlaskClient:
    """A fresh browser that only holds ``value`` as its session cookie (a replay)."""
    other = app.test_client()
    other.set_cookie(session_cookie_name(app), value)
    return other


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    assert response.status_code in {200, 302}, response.status_code
    return response.status_code == 200


def without_csrf(body: str) -> str:
    """The page with its CSRF token value blanked: the only part that differs per browser."""
    return CSRF_VALUE.sub(r"\1\2", body)
