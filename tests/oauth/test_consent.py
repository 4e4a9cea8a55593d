"""Consent (OIDC Core 3.1.2.4): asked once per client and scope set, listed plainly, refusable,
withdrawable."""

from __future__ import annotations

import json

import requests

from idp.extensions import db
from idp.services import consent, customers
from tests.oauth.conftest import WEB_REDIRECT, register
from tests.oauth.support import answer, authorize_url, bearer, tokens


def consent_pages(agent) -> int:
    return sum('value="allow"' in page for page in agent.pages)


def test_deny_is_access_denied(live_server, web_client, agent):
    """Denying consent sends access_denied with state and iss back to the client, no code."""
    url, _ = authorize_url(live_server, web_client, state="keep-me")
    params = answer(agent.go(url, consent="deny"))
    assert params["error"] == "access_denied"
    assert params["state"] == "keep-me" and params["iss"] == live_server.url
    assert "code" not in params


def test_denied_consent_is_not_remembered(live_server, web_client, agent):
    """After a denial the next request asks again instead of issuing a code."""
    url, _ = authorize_url(live_server, web_client)
    agent.go(url, consent="deny")
    silent, _ = authorize_url(live_server, web_client, prompt="none")
    assert answer(agent.go(silent))["error"] == "consent_required"


def test_consent_page_lists_what_the_app_will_see(live_server, web_client, agent):
    """The consent page names the client and each kind of data the scopes release."""
    url, _ = authorize_url(live_server, web_client, scope="openid email phone")
    agent.go(url, consent=None)
    page = agent.last_page
    assert 'value="allow"' in page and "Shop" in page
    assert "Your email address" in page and "Your phone number" in page
    assert "Your postal address" not in page and "Your name" not in page


def test_consent_page_lists_claims_asked_by_name(live_server, web_client, agent):
    """Claims asked for with the claims parameter are on the consent page too."""
    request = json.dumps({"userinfo": {"phone_number": None}})
    url, _ = authorize_url(live_server, web_client, scope="openid", claims=request)
    agent.go(url, consent=None)
    assert "Your phone number" in agent.last_page


def test_claims_beyond_consent_ask_again(live_server, web_client, agent):
    """Consent to openid alone does not silently release claims later asked for by name."""
    tokens(live_server, web_client, agent, scope="openid")
    request = json.dumps({"userinfo": {"phone_number": None}})
    url, _ = authorize_url(live_server, web_client, prompt="none", claims=request)
    assert answer(agent.go(url))["error"] == "consent_required"


def test_first_party_client_never_asks(live_server, agent):
    """A first-party client gets its code without a consent page."""
    first = register(
        live_server,
        name="Our app",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        first_party=True,
    )
    tokens(live_server, first, agent, scope="openid profile email phone")
    assert consent_pages(agent) == 0


def test_stored_consent_reused_then_asked_for_new_scope(live_server, web_client, agent):
    """The same scopes are not asked twice; a new scope brings the page back."""
    tokens(live_server, web_client, agent, scope="openid email")
    assert consent_pages(agent) == 1
    tokens(live_server, web_client, agent, scope="openid email")
    tokens(live_server, web_client, agent, scope="openid")  # a subset is covered too
    assert consent_pages(agent) == 1
    tokens(live_server, web_client, agent, scope="openid email phone")
    assert consent_pages(agent) == 2
    assert "Your phone number" in agent.last_page


def test_consent_is_per_client(live_server, web_client, agent):
    """Consent given to one client says nothing for another."""
    tokens(live_server, web_client, agent, scope="openid email")
    other = register(
        live_server,
        name="Other shop",
        client_type="web",
        redirect_uris=["https://other.example/cb"],
    )
    url, _ = authorize_url(live_server, other, scope="openid email", prompt="none")
    assert answer(agent.go(url))["error"] == "consent_required"


def test_withdrawn_consent_revokes_tokens_and_asks_again(live_server, web_client, agent, customer):
    """Withdrawing consent revokes the client's tokens; the next request asks again."""
    token = tokens(live_server, web_client, agent, scope="openid email offline_access")
    with live_server.app.app_context():
        found = customers.find_by_public_id(customer.public_id)
        assert consent.withdraw(found, web_client.client_id)
        db.session.commit()

    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(token["access_token"]), timeout=10
    )
    assert info.status_code == 401
    refreshed = requests.post(
        f"{live_server.url}/token",
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
        },
        auth=(web_client.client_id, web_client.client_secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    url, _ = authorize_url(live_server, web_client, scope="openid email", prompt="none")
    assert answer(agent.go(url))["error"] == "consent_required"
