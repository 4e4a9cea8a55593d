"""Hypothesis profiles and one real app per module for the hostile-input tests.

An app per example would make each example cost a database; a module-scoped app is built once
(``make_app`` on an ``isolated_database``), with clients, customers and half-finished sign-ins
made through the real services and pages. Each example then uses a fresh test client.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

from idp.extensions import db
from idp.models import Customer
from idp.services import RequestMeta, clients, sessions, totp
from idp.services.admin import console_sessions, staff
from idp.services.audit import Actor
from idp.views import context
from tests.conftest_support import isolated_database, make_app
from tests.factories import PASSWORD, enroll_totp, make_customer, totp_code, totp_settings
from tests.helpers import login, submit
from tests.hostile.checks import csrf_of

# Hypothesis also caches (constants found in the source, Unicode tables) under ./.hypothesis;
# those go to the temporary directory instead, unless HYPOTHESIS_STORAGE_DIRECTORY says where.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "idp-hypothesis")
# database=None: no example database, so no .hypothesis/ directory is written into the repo.
# deadline=None: a first request on a fresh app (templates, PostgreSQL) is slow once.
_COMMON = {
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("ci", max_examples=25, **_COMMON)
settings.register_profile("thorough", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# For tests marked xfail on a known defect: the first failing example is enough, shrinking it
# would cost seconds on every run until the fix lands.
NO_SHRINK = settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])
# For tests parametrized over many forms, each example several page loads: fewer per form.
FEWER = settings(max_examples=max(8, settings.default.max_examples // 3))

WEB_REDIRECT = "https://shop.example/callback"
NATIVE_REDIRECT = "http://127.0.0.1/callback"
POST_LOGOUT = "https://shop.example/bye"
# Hostile examples must reach the code behind the throttles, not a 429 after the tenth try.
UNTHROTTLED = {
    name: "1000000 per minute"
    for name in (
        "LOGIN_LIMIT_PER_ACCOUNT",
        "LOGIN_LIMIT_PER_IP",
        "FORM_LIMIT_PER_IP",
        "USER_CODE_LIMIT_PER_CUSTOMER",
        "USER_CODE_LIMIT_PER_IP",
        "MFA_LIMIT_PER_ACCOUNT",
        "MFA_LIMIT_PER_IP",
    )
}


@dataclass(frozen=True)
class App:
    client_id: str
    secret: str | None
    redirect_uri: str


@dataclass(repr=False)  # Hypothesis prints the arguments of a failing example; keep it short
class World:
    """The module's app and what lives in its database."""

    app: Flask
    web: App  # confidential, third-party: its requests need consent
    native: App  # public, PKCE
    service: App  # client_credentials only
    device: App  # the device grant, public
    customer: Customer
    mfa_customer: Customer
    registered: App  # made through RFC 7591
    registration_token: str  # its RFC 7592 registration access token
    initial_token: str  # a multi-use RFC 7591 initial access token
    access_token: str  # the customer's, for the web client, with openid profile
    user_code: str  # a pending device request's user code
    pending_mfa: str  # Flask session cookie of a sign-in waiting for its second step
    email_code: str  # Flask session cookie of a browser waiting for an emailed code
    admin_id: str  # a staff account (role admin) with its authenticator app set up

    def __repr__(self) -> str:
        return "world"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("world")

    @property
    def redirect_uris(self) -> set[str]:
        """Every URI idp may send a browser to: the registered ones."""
        return {WEB_REDIRECT, NATIVE_REDIRECT, POST_LOGOUT, self.registered.redirect_uri}

    def client(self, flask_session: str | None = None) -> FlaskClient:
        """A fresh browser, optionally holding a Flask session cookie taken earlier."""
        browser = self.app.test_client()
        if flask_session is not None:
            browser.set_cookie(self.app.config["SESSION_COOKIE_NAME"], flask_session)
        return browser

    def signed_in(self, customer: Customer | None = None) -> FlaskClient:
        """A fresh browser with a new session of its own, so an example may end it."""
        with self.app.app_context():
            row = db.session.get(Customer, (customer or self.customer).id)
            assert row is not None
            raw, _ = sessions.start(
                row, amr=["pwd"], meta=RequestMeta(), policy=context.session_policy()
            )
            db.session.commit()
        browser = self.client()
        browser.set_cookie(self.app.config["IDP_SESSION_COOKIE"], raw)
        return browser

    def console(self, *, second_factor: bool = True) -> FlaskClient:
        """A fresh browser with a console session of its own: both factors proven, or only the
        password (``second_factor=False``), waiting for its code."""
        with self.app.app_context():
            admin = staff.get(self.admin_id)
            raw, row = console_sessions.start(
                admin, meta=RequestMeta(), policy=admin_guard_policy(self.app)
            )
            if second_factor:
                console_sessions.second_factor_done(row)
            db.session.commit()
        browser = self.client()
        browser.set_cookie("idp_admin", raw, path="/admin")
        return browser


def admin_guard_policy(app: Flask) -> console_sessions.ConsolePolicy:
    return console_sessions.ConsolePolicy(
        idle=timedelta(seconds=app.config["ADMIN_IDLE_TIMEOUT"]),
        absolute=timedelta(seconds=app.config["ADMIN_SESSION_LIFETIME"]),
    )


def _register(**kwargs: object) -> App:
    client, secret = clients.create(**kwargs)  # type: ignore[arg-type]
    db.session.commit()
    return App(client.client_id, secret, (client.redirect_uris or [""])[0])


def _flask_session(app: Flask, browser: FlaskClient) -> str:
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def _access_token(app: Flask, web: App, customer: Customer) -> str:
    """The code flow through the real pages: consent, code, token."""
    browser = app.test_client()
    verifier = "v" * 43
    query = {
        "response_type": "code",
        "client_id": web.client_id,
        "redirect_uri": web.redirect_uri,
        "scope": "openid profile",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    assert login(browser, customer.email, PASSWORD).status_code == 302
    url = f"/authorize?{urlencode(query)}"
    token = csrf_of(browser.get(url))
    allowed = browser.post(url, data={"csrf_token": token, "decision": "allow"})
    code = parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]
    answer = browser.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": web.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(web.client_id, web.secret or ""),
    )
    assert answer.status_code == 200, answer.get_data()
    return str(answer.get_json()["access_token"])


def _build(app: Flask) -> World:
    with app.app_context():
        db.create_all()
        web = _register(
            name="Shop",
            client_type="web",
            redirect_uris=[WEB_REDIRECT],
            post_logout_redirect_uris=[POST_LOGOUT],
        )
        native = _register(name="Mobile", client_type="native", redirect_uris=[NATIVE_REDIRECT])
        service = _register(name="Batch", client_type="service", redirect_uris=[])
        device = _register(name="TV", client_type="device", redirect_uris=[])
        initial_token = clients.mint_registration_token(single_use=False, expires_in=None)
        db.session.commit()
    browser = app.test_client()
    browser.get("/jwks")  # the signing keys exist before any snapshot is taken
    answer = browser.post(
        "/register",
        json={"redirect_uris": ["https://dyn.example/cb"], "client_name": "Dyn"},
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert answer.status_code == 201, answer.get_data()
    doc = answer.get_json()
    registered = App(doc["client_id"], doc.get("client_secret"), "https://dyn.example/cb")
    device_answer = browser.post("/device_authorization", data={"client_id": device.client_id})
    assert device_answer.status_code == 200, device_answer.get_data()

    customer = make_customer(app, email="ana@example.com", given_name="Ana")
    mfa_customer = make_customer(app, email="bob@example.com")
    enroll_totp(app, mfa_customer)
    waiting = app.test_client()
    assert login(waiting, mfa_customer.email, PASSWORD).status_code == 302
    emailed = app.test_client()
    assert submit(emailed, "/login/email", {"email": customer.email}).status_code == 303
    app.extensions["idp"]["mailer"].flush()
    return World(
        app=app,
        web=web,
        native=native,
        service=service,
        device=device,
        customer=customer,
        mfa_customer=mfa_customer,
        registered=registered,
        registration_token=doc["registration_access_token"],
        initial_token=initial_token,
        # Another customer's: Ana has given no consent, so her requests stop at the consent page.
        access_token=_access_token(app, web, make_customer(app, email="cleo@example.com")),
        user_code=device_answer.get_json()["user_code"],
        pending_mfa=_flask_session(app, waiting),
        email_code=_flask_session(app, emailed),
        admin_id=_admin(app),
    )


def _admin(app: Flask) -> str:
    with app.app_context():
        admin = staff.create(
            email="staff@company.example", role="admin", password=PASSWORD, actor=Actor.cli()
        )
        db.session.commit()
        settings = totp_settings(app)
        secret = totp.enrollment(admin, settings).secret
        assert totp.confirm(admin, totp_code(secret, -1), settings) is not None
        db.session.commit()
        return admin.public_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    with isolated_database(directory) as url:
        # No SMTP server: mail goes to instance/outbox, nothing waits on a socket.
        app = make_app(url, directory / "instance", None, **UNTHROTTLED)
        try:
            yield _build(app)
        finally:
            app.extensions["idp"]["mailer"].flush()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()  # before the schema is dropped, or the drop would wait
