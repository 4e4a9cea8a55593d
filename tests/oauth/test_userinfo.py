"""UserInfo (OIDC Core 5.3) behind RFC 6750 bearer tokens, and what counts as a valid token."""

from __future__ import annotations

import pytest
import requests

from tests.oauth.support import bearer, forge, jwt_parts, tokens


@pytest.fixture
def token(live_server, web_client, agent) -> dict:
    return tokens(live_server, web_client, agent, scope="openid email")


def _userinfo(live_server, **kwargs) -> requests.Response:
    method = kwargs.pop("method", "GET")
    return requests.request(method, f"{live_server.url}/userinfo", timeout=10, **kwargs)


def _invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "sub" not in response.json()


def test_userinfo_with_header(live_server, token, customer):
    """GET with the token in the Authorization header answers the scope's claims."""
    response = _userinfo(live_server, headers=bearer(token["access_token"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    info = response.json()
    assert info["sub"] == customer.public_id and info["email"] == customer.email
    assert "phone_number" not in info


def test_userinfo_with_form_body(live_server, token, customer):
    """POST with the token as the access_token form field works too (RFC 6750 2.2)."""
    response = _userinfo(live_server, method="POST", data={"access_token": token["access_token"]})
    assert response.status_code == 200 and response.json()["sub"] == customer.public_id


def test_token_in_query_string_is_ignored(live_server, token):
    """A token in the URL is not accepted (RFC 9700 2.4): it is as if none were sent."""
    response = _userinfo(live_server, params={"access_token": token["access_token"]})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "sub" not in response.json()


def test_no_token_gets_a_bare_challenge(live_server):
    """No token at all: 401 with a Bearer challenge and no error code (RFC 6750 3.1)."""
    response = _userinfo(live_server)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_two_token_methods_at_once_is_invalid_request(live_server, token):
    """A token in both the header and the body is an invalid_request (RFC 6750 2)."""
    response = _userinfo(
        live_server,
        method="POST",
        headers=bearer(token["access_token"]),
        data={"access_token": token["access_token"]},
    )
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_tampered_access_token(live_server, token):
    """An access token whose payload was changed is invalid_token."""
    _, claims = jwt_parts(token["access_token"])
    tampered = forge(token["access_token"], claims={**claims, "scope": "openid email phone"})
    _invalid_token(_userinfo(live_server, headers=bearer(tampered)))


def test_unsigned_access_token(live_server, token):
    """An alg=none copy of a real access token is refused."""
    header, _ = jwt_parts(token["access_token"])
    unsigned = forge(token["access_token"], header={**header, "alg": "none"}, signature="")
    _invalid_token(_userinfo(live_server, headers=bearer(unsigned)))


def test_unsigned_id_token_as_bearer(live_server, token):
    """An ID token, signed or turned into alg=none, is not an access token."""
    header, _ = jwt_parts(token["id_token"])
    unsigned = forge(token["id_token"], header={**header, "alg": "none"}, signature="")
    _invalid_token(_userinfo(live_server, headers=bearer(unsigned)))
    _invalid_token(_userinfo(live_server, headers=bearer(token["id_token"])))


def test_access_token_with_another_key_id(live_server, token):
    """A token naming a key idp never published is refused."""
    header, _ = jwt_parts(token["access_token"])
    foreign = forge(token["access_token"], header={**header, "kid": "not-ours"})
    _invalid_token(_userinfo(live_server, headers=bearer(foreign)))


def test_token_without_openid_scope(live_server, web_client, agent):
    """An access token without the openid scope gets 403 insufficient_scope (RFC 6750 3.1)."""
    plain = tokens(live_server, web_client, agent, scope="email")
    assert "id_token" not in plain
    response = _userinfo(live_server, headers=bearer(plain["access_token"]))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert "email" not in response.json()
