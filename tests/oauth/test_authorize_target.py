"""/authorize decides the client and redirect URI before anything echoes the request.

RFC 6749 4.1.2.1 (no valid client or redirect URI: an error page, never a redirect), OIDC Core
3.1.2.1 (``redirect_uri`` REQUIRED), RFC 6749 4.1.2.1 error descriptions in printable ASCII.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask.testing import FlaskClient

from idp.extensions import db
from idp.services import clients
from tests.oauth.support import answer

REDIRECT = "https://shop.example/callback"
HOSTILE = "javascript:alert(1)//\"'><svg onload=alert(1)>"
CHALLENGE = create_s256_code_challenge("v" * 64)


@pytest.fixture
def client_id(app) -> str:
    with app.app_context():
        client, _ = clients.create(name="Shop", client_type="web", redirect_uris=[REDIRECT])
        db.session.commit()
        return client.client_id


def _authorize(client: FlaskClient, **params: str):
    query = {
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **params,
    }
    return client.get("/authorize", query_string={k: v for k, v in query.items() if v})


def _error_page(response, error: str) -> str:
    assert response.status_code == 400, response.status_code
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert error in body
    return body


@pytest.mark.parametrize(
    "redirect_uri",
    [HOSTILE, 'https://shop.example/callback"', "https://shop.example/caf\u00e9", "a\\b", "\x01"],
)
def test_hostile_redirect_uri_gets_an_error_page(client, client_id, redirect_uri):
    """A quote, backslash, control or non-ASCII character in redirect_uri: a 400 page, no 500."""
    body = _error_page(_authorize(client, client_id=client_id, redirect_uri=redirect_uri), "")
    assert "<svg" not in body
    assert "not registered" in body


@pytest.mark.parametrize("response_type", ['co"de', "code\\", "t\u00f6ken", "<svg>", "token"])
def test_unsupported_response_type_is_redirected_without_echo(client, client_id, response_type):
    """An unsupported response_type goes back to the registered URI, the value not echoed."""
    response = _authorize(client, client_id=client_id, response_type=response_type)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    params = answer(location)
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "st-1"
    assert response_type not in params["error_description"]


def test_missing_response_type_is_invalid_request(client, client_id):
    """No response_type at all: invalid_request back to the client, with its state."""
    response = _authorize(client, client_id=client_id, response_type="")
    assert answer(response.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("client_id_value", ["", "nope", HOSTILE, "x" * 5000])
def test_unknown_client_gets_an_error_page(client, client_id_value):
    """Unknown, missing, hostile or overlong client_id: a 400 page, never a redirect."""
    body = _error_page(_authorize(client, client_id=client_id_value), "invalid_client")
    assert "<svg" not in body


@pytest.mark.parametrize("name", ["client_id", "redirect_uri", "response_type"])
def test_repeated_target_parameter_gets_an_error_page(client, client_id, name):
    """client_id, redirect_uri or response_type twice: an error page (RFC 6749 3.1)."""
    query = [
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
    ]
    query.append((name, dict(query)[name]))
    _error_page(client.get("/authorize", query_string=query), "invalid_request")


def test_openid_request_without_redirect_uri_is_refused(client, client_id):
    """OIDC Core 3.1.2.1: redirect_uri is REQUIRED, even when one URI is registered."""
    body = _error_page(_authorize(client, client_id=client_id, redirect_uri=""), "invalid_request")
    assert "redirect_uri" in body


def test_plain_oauth_request_keeps_the_single_registered_uri(client, client_id):
    """RFC 6749 3.1.2.3: without openid, a client with one URI may leave it out."""
    response = _authorize(client, client_id=client_id, redirect_uri="", scope="profile")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_hostile_claims_member_name_is_not_echoed(client, client_id):
    """A claims member named with a quote is refused with invalid_request, the name not echoed."""
    claims = '{"id_token": {"a\\"<svg>": 5}}'
    response = _authorize(client, client_id=client_id, claims=claims)
    assert response.status_code == 302
    params = answer(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "svg" not in params["error_description"]
