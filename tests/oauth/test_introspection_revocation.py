"""Token introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

import pytest
import requests

from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.support import bearer, forge, jwt_parts, tokens


@pytest.fixture
def token(live_server, web_client, agent) -> dict:
    return tokens(live_server, web_client, agent, scope="openid email offline_access")


def introspect(live_server, client: Registered, value: str, **extra: str) -> requests.Response:
    return requests.post(
        f"{live_server.url}/introspect",
        data={"token": value, **extra},
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )


def revoke(live_server, client: Registered, value: str, **extra: str) -> requests.Response:
    return requests.post(
        f"{live_server.url}/revoke",
        data={"token": value, **extra},
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )


def _active(response: requests.Response) -> bool:
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return bool(response.json()["active"])


def test_live_access_token(live_server, web_client, token, customer):
    """A live access token is active, with client_id, sub, scope and exp."""
    body = introspect(live_server, web_client, token["access_token"]).json()
    assert body["active"] is True
    assert body["client_id"] == web_client.client_id and body["sub"] == customer.public_id
    assert set(body["scope"].split()) == {"openid", "email", "offline_access"}
    assert body["exp"] == jwt_parts(token["access_token"])[1]["exp"]


def test_live_refresh_token(live_server, web_client, token, customer):
    """A live refresh token is active, with client_id, sub, scope and a later exp."""
    body = introspect(
        live_server, web_client, token["refresh_token"], token_type_hint="refresh_token"
    ).json()
    assert body["active"] is True
    assert body["client_id"] == web_client.client_id and body["sub"] == customer.public_id
    assert "offline_access" in body["scope"].split()
    assert body["exp"] > jwt_parts(token["access_token"])[1]["exp"]


def test_wrong_hint_still_finds_the_token(live_server, web_client, token):
    """token_type_hint is only a hint: a wrong one does not hide the token (RFC 7662 2.1)."""
    assert _active(
        introspect(live_server, web_client, token["refresh_token"], token_type_hint="access_token")
    )
    assert _active(
        introspect(live_server, web_client, token["access_token"], token_type_hint="refresh_token")
    )


@pytest.mark.parametrize("value", ["garbage", "a.b.c", "", "x" * 5000])
def test_garbage_is_inactive(live_server, web_client, value):
    """Anything that is not a live token of ours is just active: false."""
    assert introspect(live_server, web_client, value).json() == {"active": False}


def test_missing_token_parameter(live_server, web_client):
    """The token parameter is required (RFC 7662 2.1): invalid_request without it."""
    response = requests.post(
        f"{live_server.url}/introspect",
        data={},
        timeout=10,
        auth=(web_client.client_id, web_client.client_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_forged_tokens_are_inactive(live_server, web_client, token):
    """An alg=none or re-written copy of a real access token is inactive."""
    header, claims = jwt_parts(token["access_token"])
    unsigned = forge(token["access_token"], header={**header, "alg": "none"}, signature="")
    rewritten = forge(token["access_token"], claims={**claims, "exp": claims["exp"] + 3600})
    for value in (unsigned, rewritten):
        assert introspect(live_server, web_client, value).json() == {"active": False}


def test_another_clients_token_is_inactive(live_server, web_client, token):
    """A client asking about another client's token learns nothing (RFC 7662 2.2)."""
    other = register(live_server, name="Other", client_type="web", redirect_uris=[WEB_REDIRECT])
    for value in (token["access_token"], token["refresh_token"]):
        assert introspect(live_server, other, value).json() == {"active": False}


def test_introspection_needs_client_authentication(live_server, web_client, token):
    """An unauthenticated caller gets invalid_client, not the token's details."""
    response = requests.post(
        f"{live_server.url}/introspect", timeout=10, data={"token": token["access_token"]}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_revoked_access_token_is_inactive(live_server, web_client, token):
    """After revocation an access token is inactive and refused by UserInfo."""
    assert revoke(live_server, web_client, token["access_token"]).status_code == 200
    assert not _active(introspect(live_server, web_client, token["access_token"]))
    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(token["access_token"]), timeout=10
    )
    assert info.status_code == 401


def test_revoking_refresh_token_revokes_the_family(live_server, web_client, token):
    """Revoking a refresh token ends its access tokens too (RFC 7009 2.1)."""
    response = revoke(
        live_server, web_client, token["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    assert not _active(introspect(live_server, web_client, token["refresh_token"]))
    assert not _active(introspect(live_server, web_client, token["access_token"]))
    info = requests.get(
        f"{live_server.url}/userinfo", headers=bearer(token["access_token"]), timeout=10
    )
    assert info.status_code == 401
    refreshed = requests.post(
        f"{live_server.url}/token",
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(web_client.client_id, web_client.client_secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_revoking_unknown_token_is_200(live_server, web_client):
    """Revoking a token idp does not know answers 200 all the same (RFC 7009 2.2)."""
    response = revoke(live_server, web_client, "never-issued")
    assert response.status_code == 200


def test_another_client_cannot_revoke(live_server, web_client, token):
    """A client cannot revoke another client's token; it is told 200 and nothing changes."""
    other = register(live_server, name="Other", client_type="web", redirect_uris=[WEB_REDIRECT])
    assert revoke(live_server, other, token["refresh_token"]).status_code == 200
    assert revoke(live_server, other, token["access_token"]).status_code == 200
    assert _active(introspect(live_server, web_client, token["refresh_token"]))
    assert _active(introspect(live_server, web_client, token["access_token"]))


def test_revocation_needs_client_authentication(live_server, web_client, token):
    """An unauthenticated revocation request is refused and the token stays active."""
    response = requests.post(
        f"{live_server.url}/revoke", timeout=10, data={"token": token["refresh_token"]}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert _active(introspect(live_server, web_client, token["refresh_token"]))
