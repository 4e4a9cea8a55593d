"""Fixtures for protocol tests: a live idp, a customer, and registered clients."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from idp.extensions import db
from idp.services import clients
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer
from tests.oauth.agent import UserAgent

WEB_REDIRECT = "https://shop.example/callback"
NATIVE_REDIRECT = "http://127.0.0.1/callback"


@dataclass(frozen=True)
class Registered:
    client_id: str
    client_secret: str | None
    redirect_uri: str


def register(live: LiveServer, **kwargs: object) -> Registered:
    with live.app.app_context():
        client, secret = clients.create(**kwargs)  # type: ignore[arg-type]
        db.session.commit()
        redirect = client.redirect_uris[0] if client.redirect_uris else ""
        return Registered(client.client_id, secret, redirect)


@pytest.fixture
def customer(live_server: LiveServer):
    return make_customer(
        live_server.app,
        email="ana@example.com",
        given_name="Ana",
        family_name="Lopez",
        phone="+33612345678",
        address={"locality": "Lyon", "country": "FR"},
    )


@pytest.fixture
def web_client(live_server: LiveServer) -> Registered:
    return register(
        live_server,
        name="Shop",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        post_logout_redirect_uris=["https://shop.example/bye"],
    )


@pytest.fixture
def native_client(live_server: LiveServer) -> Registered:
    return register(
        live_server,
        name="Mobile",
        client_type="native",
        redirect_uris=[NATIVE_REDIRECT],
    )


@pytest.fixture
def agent(live_server: LiveServer, customer) -> UserAgent:
    return UserAgent(live_server.url, email=customer.email, password=PASSWORD)
