"""The web shop's session store and its back-channel logout endpoint, against a live idp."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from clients.webshop import Settings, create_app
from clients.webshop.app import answered_by_issuer
from clients.webshop.logout_token import BACKCHANNEL_EVENT
from clients.webshop.sessions import SessionStore
from idp import config
from idp.extensions import db
from idp.models.types import utcnow
from idp.oauth import signing
from idp.services import keys
from tests.live import LiveServer
from tests.oauth.conftest import register


def test_store_ends_only_the_named_sid() -> None:
    """A logout token's sid ends that idp session's shop sessions, and no other customer's."""
    store = SessionStore()
    a1 = store.create(sub="ana", sid="s1", id_token="t", profile={})
    a2 = store.create(sub="ana", sid="s2", id_token="t", profile={})
    bo = store.create(sub="bo", sid="s3", id_token="t", profile={})
    assert store.end(sid="s1", sub="ana") == 1
    assert store.get(a1.key) is None
    assert store.get(a2.key) == a2 and store.get(bo.key) == bo


def test_store_ends_every_session_of_sub_without_sid() -> None:
    """Without a sid, every session of the customer ends (Back-Channel Logout 2.7)."""
    store = SessionStore()
    a1 = store.create(sub="ana", sid="s1", id_token="t", profile={})
    a2 = store.create(sub="ana", sid=None, id_token="t", profile={})
    bo = store.create(sub="bo", sid="s3", id_token="t", profile={})
    assert store.end(sid=None, sub="ana") == 2
    assert store.get(a1.key) is None and store.get(a2.key) is None
    assert store.get(bo.key) == bo


def test_store_refuses_a_jti_twice() -> None:
    """The same logout token's jti counts once until it expires."""
    store = SessionStore()
    exp = int(time.time()) + 60
    assert store.first_use_of("j1", exp)
    assert not store.first_use_of("j1", exp)
    assert store.first_use_of("j2", exp)


@pytest.fixture
def shop(live_server: LiveServer) -> Iterator[tuple[Flask, str]]:
    registered = register(
        live_server,
        name="Shop",
        client_type="web",
        redirect_uris=["http://127.0.0.1:8001/callback"],
        backchannel_logout_uri="http://127.0.0.1:8001/backchannel-logout",
    )
    assert registered.client_secret is not None
    app = create_app(
        Settings(
            issuer=live_server.url,
            client_id=registered.client_id,
            client_secret=registered.client_secret,
        )
    )
    yield app, registered.client_id


def logout_token(live: LiveServer, client_id: str, **changes: Any) -> str:
    """A logout token signed by idp itself, with its real keys."""
    now = int(time.time())
    claims = {
        "iss": live.url,
        "aud": client_id,
        "sub": "customer-1",
        "sid": "session-1",
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.monotonic_ns()}",
        "events": {BACKCHANNEL_EVENT: {}},
        **changes,
    }
    with live.app.app_context():
        return signing.sign(claims, "ES256", "logout+jwt")


def test_backchannel_logout_ends_the_session(live_server: LiveServer, shop: Any) -> None:
    """POST /backchannel-logout with idp's token ends that sid's session: 200, no-store."""
    app, client_id = shop
    store: SessionStore = app.extensions["shop_sessions"]
    doomed = store.create(sub="customer-1", sid="session-1", id_token="t", profile={})
    kept = store.create(sub="customer-1", sid="session-2", id_token="t", profile={})
    response = app.test_client().post(
        "/backchannel-logout", data={"logout_token": logout_token(live_server, client_id)}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert store.get(doomed.key) is None and store.get(kept.key) == kept


@pytest.mark.parametrize("changes", [{"nonce": "abc"}, {"aud": "another-shop"}])
def test_backchannel_logout_refuses_bad_tokens(
    live_server: LiveServer, shop: Any, changes: dict[str, Any]
) -> None:
    """A token with a nonce or for another client gets 400 invalid_request; nothing ends."""
    app, client_id = shop
    store: SessionStore = app.extensions["shop_sessions"]
    kept = store.create(sub="customer-1", sid="session-1", id_token="t", profile={})
    response = app.test_client().post(
        "/backchannel-logout",
        data={"logout_token": logout_token(live_server, client_id, **changes)},
    )
    assert response.status_code == 400
    assert response.json is not None and response.json["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"
    assert store.get(kept.key) == kept


def test_backchannel_logout_refuses_a_replay(live_server: LiveServer, shop: Any) -> None:
    """The same logout token posted twice is refused the second time."""
    app, client_id = shop
    token = logout_token(live_server, client_id)
    client = app.test_client()
    assert client.post("/backchannel-logout", data={"logout_token": token}).status_code == 200
    assert client.post("/backchannel-logout", data={"logout_token": token}).status_code == 400


def test_backchannel_logout_follows_key_rotation(live_server: LiveServer, shop: Any) -> None:
    """After idp rotates its keys at once, the shop refetches the JWKS and accepts the token."""
    app, client_id = shop
    client = app.test_client()
    first = logout_token(live_server, client_id)
    assert client.post("/backchannel-logout", data={"logout_token": first}).status_code == 200
    with live_server.app.app_context():
        keys.rotate(
            "ES256",
            timedelta(0),
            timedelta(hours=1),
            utcnow(),
            encryption_key=config.key_encryption_key(live_server.app.config),
        )
        db.session.commit()
    rotated = logout_token(live_server, client_id)
    assert rotated.split(".")[0] != first.split(".")[0]  # another kid in the header
    assert client.post("/backchannel-logout", data={"logout_token": rotated}).status_code == 200


@pytest.mark.parametrize(
    ("iss", "advertised", "accepted"),
    [
        ("http://127.0.0.1:5000", True, True),
        ("http://127.0.0.1:6666", True, False),
        (None, True, False),
        (None, False, True),
        ("http://127.0.0.1:6666", False, False),
    ],
)
def test_callback_iss_must_be_idp(iss: str | None, advertised: bool, accepted: bool) -> None:
    """RFC 9207: another issuer is refused; a missing iss only when idp never promised one."""
    metadata = {
        "issuer": "http://127.0.0.1:5000",
        "authorization_response_iss_parameter_supported": advertised,
    }
    assert answered_by_issuer(iss, metadata) is accepted
