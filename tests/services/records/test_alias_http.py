"""An absorbed record's old sub over real HTTP: UserInfo and introspection answer for the
survivor with ``merged_from``, refreshed tokens carry the survivor's sub, and an old
id_token_hint still names the (moved) session at /authorize and /logout."""

from __future__ import annotations

import pytest
import requests

from idp.extensions import db
from idp.models import Customer
from idp.services.records import merge as merging
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, register
from tests.oauth.support import answer, authorize_url, bearer, jwt_parts, token_request, tokens
from tests.services.records.seed import ACTOR, merge_settings

TIMEOUT = 10


@pytest.fixture
def merged(live_server: LiveServer):
    """Bo signed in to the shop as the record later absorbed into Ana's."""
    shop = register(
        live_server,
        name="Shop",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        post_logout_redirect_uris=["https://shop.example/bye"],
    )
    ana = make_customer(live_server.app, email="ana@example.com", given_name="Ana")
    old = make_customer(live_server.app, email="ana.old@example.com")
    agent = UserAgent(live_server.url, email=old.email, password=PASSWORD)
    issued = tokens(live_server, shop, agent, scope="openid email")
    with live_server.app.app_context():
        merging.merge(
            db.session.get(Customer, ana.id),  # type: ignore[arg-type]
            db.session.get(Customer, old.id),  # type: ignore[arg-type]
            choices={"email": "survivor"},
            reason="same person",
            actor=ACTOR,
            settings=merge_settings(live_server.app),
        )
        db.session.commit()
    return shop, ana, old, agent, issued


def test_userinfo_answers_the_survivor_with_merged_from(live_server, merged):
    """A token issued to the old sub gets the survivor's claims and sub, and the old id."""
    _, ana, old, _, issued = merged
    assert jwt_parts(issued["access_token"])[1]["sub"] == old.public_id
    response = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(issued["access_token"]), timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["sub"] == ana.public_id and info["email"] == "ana@example.com"
    assert info["merged_from"] == [old.public_id]


def test_introspection_answers_the_survivor_with_merged_from(live_server, merged):
    """RFC 7662 answer for an old token: active, the survivor's sub, the old one in merged_from."""
    shop, ana, old, _, issued = merged
    response = requests.post(
        f"{live_server.url}/introspect",
        data={"token": issued["access_token"]},
        auth=(shop.client_id, shop.client_secret),
        timeout=TIMEOUT,
    )
    body = response.json()
    assert body["active"] is True and body["sub"] == ana.public_id
    assert body["merged_from"] == [old.public_id]


def test_refreshed_tokens_carry_the_survivors_sub(live_server, merged):
    """Nothing was revoked: the old refresh token works, and what it gives names the survivor."""
    shop, ana, _, _, issued = merged
    response = token_request(
        live_server,
        shop,
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
    )
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert jwt_parts(fresh["access_token"])[1]["sub"] == ana.public_id
    if "id_token" in fresh:
        assert jwt_parts(fresh["id_token"])[1]["sub"] == ana.public_id
    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(fresh["access_token"]), timeout=TIMEOUT
    ).json()
    assert info["sub"] == ana.public_id and "merged_from" not in info


def test_old_id_token_hint_names_the_moved_session(live_server, merged):
    """prompt=none with the old ID token as hint: the session moved to the survivor, same
    person, so a code is issued for the survivor; logout with that hint needs no prompt."""
    shop, _, _, agent, issued = merged
    url, _ = authorize_url(live_server, shop, prompt="none", id_token_hint=issued["id_token"])
    assert "code" in answer(agent.go(url))
    response = agent.session.get(
        f"{live_server.url}/logout",
        allow_redirects=False,
        timeout=TIMEOUT,
        params={
            "id_token_hint": issued["id_token"],
            "state": "bye",
            "post_logout_redirect_uri": "https://shop.example/bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/bye?state=bye"
