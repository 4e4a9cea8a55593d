"""Refresh tokens die when idle too long, and their family dies at its absolute lifetime."""

from __future__ import annotations

import time

import requests

from tests.factories import PASSWORD, make_customer
from tests.live import serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import register
from tests.oauth.test_code_flow import authorize, discover


def _tokens(live):
    make_customer(live.app, email="life@example.com")
    client = register(
        live,
        name="Shop",
        client_type="web",
        redirect_uris=["https://shop.example/cb"],
        first_party=True,
    )
    agent = UserAgent(live.url, email="life@example.com", password=PASSWORD)
    meta = discover(live)
    session, callback, verifier, _ = authorize(live, client, agent, scope="openid offline_access")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    return client, meta, token


def _refresh(meta, client, raw) -> requests.Response:
    return requests.post(
        meta["token_endpoint"],
        timeout=10,
        auth=(client.client_id, client.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": raw},
    )


def test_idle_refresh_token_expires(database_url, tmp_path, mailbox):
    """An unused refresh token is refused after REFRESH_TOKEN_IDLE_LIFETIME."""
    with serve(database_url, tmp_path / "i", mailbox, REFRESH_TOKEN_IDLE_LIFETIME=2) as live:
        client, meta, token = _tokens(live)
        fresh = _refresh(meta, client, token["refresh_token"])
        assert fresh.status_code == 200
        time.sleep(2.5)
        stale = _refresh(meta, client, fresh.json()["refresh_token"])
        assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_family_absolute_lifetime(database_url, tmp_path, mailbox):
    """However often it is used, a family ends at REFRESH_TOKEN_ABSOLUTE_LIFETIME."""
    with serve(database_url, tmp_path / "i", mailbox, REFRESH_TOKEN_ABSOLUTE_LIFETIME=3) as live:
        client, meta, token = _tokens(live)
        raw = token["refresh_token"]
        deadline = time.monotonic() + 6
        refused = None
        while time.monotonic() < deadline:
            answer = _refresh(meta, client, raw)
            if answer.status_code != 200:
                refused = answer
                break
            raw = answer.json()["refresh_token"]
            time.sleep(0.5)
        assert refused is not None and refused.json()["error"] == "invalid_grant"
