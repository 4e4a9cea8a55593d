"""The customer sees the apps they allowed and can withdraw one, which revokes its tokens."""

from __future__ import annotations

import re

import requests

from tests.oauth.test_code_flow import authorize, discover


def test_withdraw_consent_from_account(live_server, web_client, agent):
    """Withdrawing on /account/apps revokes the app's tokens and brings the consent page back."""
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(live_server, web_client, agent, scope="openid email")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    page = agent.session.get(f"{live_server.url}/account/apps", timeout=10)
    assert "Shop" in page.text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    done = agent.session.post(
        f"{live_server.url}/account/apps/{web_client.client_id}/withdraw",
        data={"csrf_token": csrf},
        timeout=10,
    )
    assert done.status_code == 200 and "can no longer use your account" in done.text
    info = requests.get(
        meta["userinfo_endpoint"],
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert info.status_code == 401
    refresh = requests.post(
        meta["token_endpoint"],
        timeout=10,
        auth=(web_client.client_id, web_client.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert refresh.json()["error"] == "invalid_grant"
    # Next time, the consent page is shown again.
    authorize(live_server, web_client, agent, scope="openid email")
    assert any('value="allow"' in html for html in agent.pages[-3:])


def test_withdraw_without_csrf_is_refused(live_server, web_client, agent):
    """The withdraw form is CSRF-protected like every other."""
    authorize(live_server, web_client, agent, scope="openid")
    response = agent.session.post(
        f"{live_server.url}/account/apps/{web_client.client_id}/withdraw", timeout=10
    )
    assert response.status_code == 400
