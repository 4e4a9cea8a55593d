"""Rows in every customer-owned table, made through the real services, for the merge tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask

from idp.extensions import db
from idp.models import Customer
from idp.models.types import utcnow
from idp.oauth import device as device_settings
from idp.oauth import issuance
from idp.services import (
    RequestMeta,
    audit,
    consent,
    devices,
    email_sign_in,
    events,
    mail,
    mfa,
    passkeys,
    recovery_codes,
    sessions,
    tokens,
)
from idp.services import clients as client_service
from idp.services.events import EventTag
from idp.services.records import linked
from idp.services.records.merge import MergeSettings
from idp.views import context
from tests.factories import enroll_totp
from tests.soft_authenticator import SoftAuthenticator

META = RequestMeta(ip="192.0.2.10", user_agent="pytest")
ACTOR = audit.Actor.cli()


@dataclass
class Seeded:
    """What a test needs to use a seeded customer's credentials after a merge."""

    id: int
    public_id: str
    refresh_token: str
    trusted_cookie: str
    passkey: SoftAuthenticator
    totp_secret: str | None


def make_clients(app: Flask) -> dict[str, str]:
    """A web shop, a second app and a TV client: client ids by name."""
    with app.app_context():
        made = {}
        for name, kind, uris in (
            ("shop", "web", ["https://shop.example/cb"]),
            ("app", "web", ["https://app.example/cb"]),
            ("tv", "device", []),
        ):
            client, _ = client_service.create(name=name, client_type=kind, redirect_uris=uris)
            made[name] = client.client_id
        db.session.commit()
        return made


def merge_settings(app: Flask, **overrides: Any) -> MergeSettings:
    settings = MergeSettings.from_config(app.config)
    if overrides:
        settings = MergeSettings(**{**settings.__dict__, **overrides})
    return settings


def seed(
    app: Flask, customer: Customer, clients: dict[str, str], *, totp: bool, tag: str
) -> Seeded:
    """One customer's life: sessions, codes, tokens, consents, a TV, factors, a linked account,
    an emailed sign-in and history. ``tag`` keeps the two customers' values apart."""
    if totp:
        secret: str | None = enroll_totp(app, customer)
    else:
        secret = None
    with app.test_request_context():
        row = db.session.get(Customer, customer.id)
        assert row is not None
        lifetimes = issuance.lifetimes()
        linked.link(row, "loyalty", f"L-{tag}", {"tier": tag}, actor=ACTOR)
        _, browser = sessions.start(row, amr=["pwd"], meta=META, policy=context.session_policy())
        db.session.flush()
        sessions.join(browser, clients["shop"])
        consent.grant(
            row, clients["shop"], {"openid", "email"} if tag == "a" else {"openid", "phone"}
        )
        if tag == "b":
            consent.grant(row, clients["app"], {"openid", "profile"})
        _, code = tokens.create_code(
            tokens.CodeRequest(
                client_id=clients["shop"],
                customer=row,
                redirect_uri="https://shop.example/cb",
                redirect_uri_given=True,
                scope="openid email",
                nonce=f"n-{tag}",
                code_challenge=None,
                code_challenge_method=None,
                claims=None,
                sid=browser.sid,
                auth_time=utcnow(),
                acr=None,
                amr=["pwd"],
            ),
            lifetimes,
        )
        db.session.flush()
        family = tokens.start_family(
            client_id=clients["shop"],
            customer=row,
            scope="openid email",
            lifetimes=lifetimes,
            code=code,
        )
        refresh = f"refresh-{tag}-" + "x" * 20
        tokens.store_refresh_token(family, refresh, lifetimes)
        tokens.record_access_token(
            jti=f"jti-{tag}",
            client_id=clients["shop"],
            customer=row,
            scope="openid email",
            family=family,
            expires_at=utcnow() + timedelta(minutes=5),
        )
        started = devices.start(clients["tv"], "openid", device_settings.settings())
        devices.approve(started.authorization, browser, name="TV", acr=None, lifetimes=lifetimes)
        recovery_codes.generate(row)
        rp = passkeys.relying_party(app.config["ISSUER"], app.config["WEBAUTHN_RP_ID"])
        key = SoftAuthenticator(rp.origin)
        ceremony = passkeys.registration_options(row, rp)
        passkeys.register(
            row, key.create(ceremony.options), challenge=ceremony.challenge, name="Laptop", rp=rp
        )
        cookie = mfa.remember_browser(row, meta=META, settings=context.trust_settings())
        events.record(EventTag.LOGIN_SUCCESS, customer=row, meta=META, method="password")
        db.session.commit()
        email_sign_in.start(
            row.email,
            meta=META,
            mailer=mail.mailer(app),
            settings=email_sign_in.EmailSignInSettings(
                issuer=app.config["ISSUER"],
                lifetime=timedelta(minutes=10),
                code_key=email_sign_in.code_key(app.config["SECRET_KEY"]),
            ),
        )
        db.session.commit()
        return Seeded(row.id, row.public_id, refresh, cookie, key, secret)
