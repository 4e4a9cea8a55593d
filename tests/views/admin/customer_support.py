"""A customer with something in every section of the console's customer page, made through the
real services: a linked account, an authenticator app, browser sessions with apps in them, a TV,
consents and grants, and events on the web, mobile and device channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask

from idp.extensions import db
from idp.models import Customer
from idp.models.types import utcnow
from idp.oauth import device as device_settings
from idp.oauth import issuance
from idp.services import RequestMeta, audit, consent, devices, events, sessions, tokens
from idp.services import clients as client_service
from idp.services.events import EventTag
from idp.services.records import linked
from idp.views import context

META = RequestMeta(ip="192.0.2.10", user_agent="pytest-agent")
START = datetime(2024, 3, 1, 12, 0, tzinfo=utcnow().tzinfo)


@dataclass
class Apps:
    shop: str
    shop_secret: str
    mobile: str
    tv: str
    others: list[str] = field(default_factory=list)


def make_apps(app: Flask, *, backchannel_uri: str | None = None, extra: int = 0) -> Apps:
    with app.app_context():
        shop, secret = client_service.create(
            name="Shop",
            client_type="web",
            redirect_uris=["https://shop.example/cb"],
            backchannel_logout_uri=backchannel_uri,
        )
        mobile, _ = client_service.create(
            name="Mobile", client_type="native", redirect_uris=["http://127.0.0.1/cb"]
        )
        tv, _ = client_service.create(name="TV", client_type="device", redirect_uris=[])
        others = [
            client_service.create(
                name=f"App {i}", client_type="web", redirect_uris=[f"https://app{i}.example/cb"]
            )[0].client_id
            for i in range(extra)
        ]
        db.session.commit()
        assert secret is not None
        return Apps(shop.client_id, secret, mobile.client_id, tv.client_id, others)


def grant_app(row: Customer, client_id: str, refresh: str | None = None) -> None:
    """A consent and a live token family (with a refresh token when ``refresh`` is given)."""
    lifetimes = issuance.lifetimes()
    consent.grant(row, client_id, {"openid", "profile"})
    family = tokens.start_family(
        client_id=client_id, customer=row, scope="openid profile", lifetimes=lifetimes
    )
    if refresh is not None:
        tokens.store_refresh_token(family, refresh, lifetimes)


def start_session(row: Customer, client_ids: list[str], ip: str = "203.0.113.7") -> str:
    _, browser = sessions.start(
        row,
        amr=["pwd"],
        meta=RequestMeta(ip=ip, user_agent="Firefox/125"),
        policy=context.session_policy(),
    )
    db.session.flush()
    for client_id in client_ids:
        sessions.join(browser, client_id)
    return browser.sid


def event(
    row: Customer,
    tag: EventTag,
    minutes: int,
    *,
    channel: str | None = None,
    client_id: str | None = None,
    success: bool = True,
) -> int:
    """An event ``minutes`` after START: written by ``events.record``, dated by hand."""
    written = events.record(
        tag, customer=row, meta=META, channel=channel, client_id=client_id, success=success
    )
    written.created_at = START + timedelta(minutes=minutes)
    db.session.flush()
    return written.id


def seed(
    app: Flask, customer: Customer, apps: Apps, *, sessions_count: int = 1, events_count: int = 0
) -> str:
    """Fill every section; returns the raw refresh token the shop holds."""
    refresh = f"refresh-{customer.id}-" + "r" * 30
    with app.test_request_context():
        row = db.session.get(Customer, customer.id)
        assert row is not None
        linked.link(row, "loyalty", f"L-{row.id}", {"tier": "gold"}, actor=audit.Actor.cli())
        grant_app(row, apps.shop, refresh)
        for other in apps.others:
            grant_app(row, other)
        for _ in range(sessions_count):
            start_session(row, [apps.shop, *apps.others])
        _, browser = sessions.start(row, amr=["pwd"], meta=META, policy=context.session_policy())
        db.session.flush()
        started = devices.start(apps.tv, "openid", device_settings.settings())
        devices.approve(
            started.authorization,
            browser,
            name="Living room TV",
            acr=None,
            lifetimes=issuance.lifetimes(),
        )
        sessions.end(browser)  # only the device stays from that phone sign-in
        event(row, EventTag.LOGIN_SUCCESS, 0, channel="web", client_id=apps.shop)
        event(row, EventTag.TOKEN_ISSUED, 1, channel="web", client_id=apps.shop)
        event(row, EventTag.TOKEN_REFRESHED, 10, channel="mobile", client_id=apps.mobile)
        event(row, EventTag.DEVICE_APPROVED, 20, channel="device", client_id=apps.tv)
        event(row, EventTag.TOKEN_ISSUED, 21, channel="device", client_id=apps.tv)
        event(row, EventTag.LOGIN_FAILURE, 30, channel="web", success=False)
        for i in range(events_count):
            event(row, EventTag.TOKEN_REFRESHED, 40 + i, channel="mobile", client_id=apps.mobile)
        db.session.commit()
    return refresh
