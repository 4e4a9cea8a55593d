"""Authorization request parameters other than the interaction ones (RFC 6749 4.1, OIDC Core
3.1.2.1, 5.5 and 6, OAuth 2.0 Form Post Response Mode, RFC 9207)."""

from __future__ import annotations

import json
import re

import pytest

from tests.oauth.conftest import WEB_REDIRECT, register
from tests.oauth.support import (
    answer,
    authorize_url,
    exchange,
    form_fields,
    jwt_parts,
    tokens,
)


def test_unknown_parameters_are_ignored(live_server, web_client, agent):
    """Parameters idp does not know are ignored (RFC 6749 3.1), not refused."""
    url, verifier = authorize_url(live_server, web_client, colour="blue", display_x="1")
    callback = agent.go(url)
    assert "code" in answer(callback) and "error" not in answer(callback)
    assert exchange(live_server, web_client, callback, verifier).status_code == 200


@pytest.mark.parametrize(
    ("param", "error"),
    [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ],
)
def test_request_objects_not_supported(live_server, web_client, agent, param, error):
    """request and request_uri are refused with their own error codes (Core 6.1, 6.2)."""
    tokens(live_server, web_client, agent)
    url, _ = authorize_url(live_server, web_client, **{param: "eyJhbGciOiJub25lIn0.e30."})
    params = answer(agent.go(url))
    assert params["error"] == error and params["state"] == "st-1"
    assert params["iss"] == live_server.url and "code" not in params


def test_form_post_response_mode(live_server, web_client, agent):
    """response_mode=form_post answers with a page that posts code, state and iss, no inline
    script, under a CSP without 'unsafe-inline'."""
    tokens(live_server, web_client, agent)
    url, verifier = authorize_url(live_server, web_client, response_mode="form_post")
    response = agent.session.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    form = re.search(r'<form method="post" action="([^"]+)"', html)
    assert form and form.group(1) == web_client.redirect_uri
    fields = form_fields(html)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == "st-1" and fields["iss"] == live_server.url
    # Scripts only from idp's own origin, none inline; the one that submits the form is served.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        assert src.startswith("/")
        script = agent.session.get(f"{live_server.url}{src}", timeout=10)
        assert script.status_code == 200 and "submit" in script.text
    assert re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE) is None  # no onload=...
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    callback = f"{web_client.redirect_uri}?code={fields['code']}"
    assert exchange(live_server, web_client, callback, verifier).status_code == 200


def test_form_post_carries_errors_too(live_server, web_client, agent):
    """An error for a form_post request is posted as well, never put in the URL."""
    url, _ = authorize_url(live_server, web_client, response_mode="form_post", prompt="none")
    response = agent.session.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 200
    fields = form_fields(response.text)
    assert fields["error"] == "login_required" and fields["state"] == "st-1"
    assert fields["iss"] == live_server.url


def test_unknown_response_mode_is_refused(live_server, web_client, agent):
    """A response_mode idp does not offer is an invalid_request (OAuth 2.0 Multiple Response
    Type Encoding Practices 2.1)."""
    url, _ = authorize_url(live_server, web_client, response_mode="fragment")
    params = answer(agent.go(url))
    assert params["error"] == "invalid_request" and params["state"] == "st-1"


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "foo"])
def test_unsupported_response_type(live_server, web_client, agent, response_type):
    """A response_type other than code is sent back as unsupported_response_type with state."""
    url, _ = authorize_url(live_server, web_client, response_type=response_type)
    location = agent.go(url)
    assert location.startswith(web_client.redirect_uri + "?")
    params = answer(location)
    assert params["error"] == "unsupported_response_type" and params["state"] == "st-1"
    assert "#" not in location and "access_token" not in location


def test_invalid_scope(live_server, web_client, agent):
    """A scope idp does not know is invalid_scope, sent back with state (RFC 6749 4.1.2.1)."""
    url, _ = authorize_url(live_server, web_client, scope="openid admin")
    params = answer(agent.go(url))
    assert params["error"] == "invalid_scope" and params["state"] == "st-1"
    assert params["iss"] == live_server.url


def test_claims_request_for_the_id_token(live_server, web_client, agent, customer):
    """claims={"id_token":{"email":{"essential":true}}} puts email in the ID token itself."""
    request = json.dumps({"id_token": {"email": {"essential": True}}})
    token = tokens(live_server, web_client, agent, claims=request)
    _, claims = jwt_parts(token["id_token"])
    assert claims["email"] == customer.email
    plain = tokens(live_server, web_client, agent, scope="openid email")
    assert "email" not in jwt_parts(plain["id_token"])[1]  # scope claims go to UserInfo


def test_claims_request_for_userinfo(live_server, web_client, agent, customer):
    """claims={"userinfo":{"phone_number":null}} adds phone_number without the phone scope."""
    request = json.dumps({"userinfo": {"phone_number": None}})
    token = tokens(live_server, web_client, agent, claims=request)
    info = agent.session.get(
        f"{live_server.url}/userinfo",
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert info["sub"] == customer.public_id
    assert info["phone_number"] == "+33612345678"
    assert "email" not in info and "address" not in info


def test_claims_request_limited_to_registered_scopes(live_server, agent):
    """Naming a claim does not release data of a scope the client is not registered for."""
    narrow = register(
        live_server,
        name="Narrow",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        scope="openid email",
    )
    request = json.dumps(
        {"userinfo": {"phone_number": None, "email": None}, "id_token": {"address": None}}
    )
    token = tokens(live_server, narrow, agent, claims=request)
    assert "address" not in jwt_parts(token["id_token"])[1]
    info = agent.session.get(
        f"{live_server.url}/userinfo",
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert info["email"] == "ana@example.com" and "phone_number" not in info


@pytest.mark.parametrize(
    "value", ["{not json", "[1, 2]", '{"userinfo": ["email"]}', '{"id_token": {"email": true}}']
)
def test_invalid_claims_parameter(live_server, web_client, agent, value):
    """A claims parameter that is not the JSON object of Core 5.5 is invalid_request."""
    url, _ = authorize_url(live_server, web_client, claims=value)
    params = answer(agent.go(url))
    assert params["error"] == "invalid_request" and params["state"] == "st-1"
