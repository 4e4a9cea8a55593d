"""The grants a client holds are the ones the token and device endpoints serve it, over HTTP:
adding or removing one takes effect at once, whatever the client's type."""

from __future__ import annotations

import requests

from idp.extensions import db
from idp.services import clients
from tests.oauth.conftest import Registered, register
from tests.oauth.support import answer, authorize_url, token_request
from tests.oauth.test_device_flow import DEVICE_CODE, TIMEOUT, decide, error_of

CODE, REFRESH, CC = "authorization_code", "refresh_token", "client_credentials"


def set_grants(live, client: Registered, grants: list[str], **changes: object) -> None:
    with live.app.app_context():
        clients.update(clients.get(client.client_id), grant_types=grants, **changes)
        db.session.commit()


def test_web_client_with_client_credentials_added(live_server, web_client):
    """A web client gets a client_credentials token once the grant is added, and
    unauthorized_client again once it is removed."""
    assert error_of(token_request(live_server, web_client, {"grant_type": CC})) == (
        "unauthorized_client"
    )
    set_grants(live_server, web_client, [CODE, REFRESH, CC])
    response = token_request(live_server, web_client, {"grant_type": CC})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] and "refresh_token" not in body
    set_grants(live_server, web_client, [CODE, REFRESH])
    refused = token_request(live_server, web_client, {"grant_type": CC})
    assert refused.status_code == 400 and error_of(refused) == "unauthorized_client"


def test_confidential_client_with_the_device_grant(live_server, agent, customer):
    """A web client holding only the device grant authenticates with its secret at the device
    and token endpoints and gets tokens once the customer approves; without the secret it is
    invalid_client."""
    shop = register(
        live_server, name="Shop TV", client_type="web", redirect_uris=[], grant_types=[DEVICE_CODE]
    )
    url = f"{live_server.url}/device_authorization"
    anonymous = requests.post(url, data={"client_id": shop.client_id}, timeout=TIMEOUT)
    assert error_of(anonymous) == "invalid_client"
    auth = (shop.client_id, shop.client_secret)
    codes = requests.post(url, data={"scope": "openid"}, auth=auth, timeout=TIMEOUT).json()
    assert decide(agent, codes["user_code"]).status_code == 200
    tokens = requests.post(
        f"{live_server.url}/token",
        data={"grant_type": DEVICE_CODE, "device_code": codes["device_code"]},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["access_token"] and "refresh_token" not in tokens.json()


def test_public_client_with_the_code_grant_needs_pkce(live_server, agent, customer):
    """A device client given authorization_code is public: no code without PKCE."""
    tv = register(
        live_server,
        name="TV",
        client_type="device",
        redirect_uris=["http://127.0.0.1/callback"],
        grant_types=[DEVICE_CODE, CODE],
    )
    url, _ = authorize_url(live_server, tv, pkce=False)
    refused = answer(agent.go(url))
    assert refused["error"] == "invalid_request" and "code" not in refused
    url, _ = authorize_url(live_server, tv)
    assert "code" in answer(agent.go(url))
