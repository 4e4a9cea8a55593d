"""Discovery (OpenID Connect Discovery 1.0 section 3, RFC 8414 section 2) and the JWKS: what
they advertise is what the server does."""

from __future__ import annotations

import pytest
import requests

from tests.oauth.support import answer, authorize_url

DOCUMENTS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
# Members of a private or symmetric JWK (RFC 7518 6.2.2, 6.3.2, 6.4).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def fetch(live_server, path: str) -> dict:
    response = requests.get(f"{live_server.url}{path}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def advertised(document: dict) -> dict[str, str]:
    return {k: v for k, v in document.items() if k.endswith("_endpoint") or k == "jwks_uri"}


@pytest.mark.parametrize("path", DOCUMENTS)
def test_every_advertised_endpoint_answers(live_server, path):
    """Each endpoint a document lists is served at that URL, under the issuer."""
    document = fetch(live_server, path)
    endpoints = advertised(document)
    assert {"authorization_endpoint", "token_endpoint", "jwks_uri"} <= set(endpoints)
    for name, url in endpoints.items():
        assert url.startswith(document["issuer"] + "/"), name
        response = requests.get(url, timeout=10, allow_redirects=False)
        if response.status_code == 405:  # a POST-only endpoint (token, revocation, ...)
            response = requests.post(url, timeout=10, allow_redirects=False)
        assert response.status_code not in (404, 405), (name, url, response.status_code)


def test_every_protocol_route_is_advertised(live_server):
    """No OAuth endpoint is served without being listed (the documents are computed)."""
    document = fetch(live_server, DOCUMENTS[0])
    listed = {url.removeprefix(live_server.url) for url in advertised(document).values()}
    routes = {
        rule.rule
        for rule in live_server.app.url_map.iter_rules()
        if rule.endpoint.startswith("oauth.")
    }
    assert routes and routes <= listed


@pytest.mark.parametrize("path", DOCUMENTS)
def test_issuer_and_security_flags(live_server, path):
    """issuer is the configured ISSUER; S256 only; iss in authorization responses."""
    document = fetch(live_server, path)
    assert document["issuer"] == live_server.app.config["ISSUER"] == live_server.url
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["response_types_supported"] == ["code"]


def test_documents_agree(live_server):
    """The RFC 8414 document says the same as the OpenID one wherever they overlap."""
    oidc, oauth = (fetch(live_server, path) for path in DOCUMENTS)
    assert oauth.items() <= oidc.items()


def test_openid_specific_members(live_server):
    """The OpenID document has the members Discovery 3 requires, and no unsigned tokens."""
    document = fetch(live_server, DOCUMENTS[0])
    for member in (
        "userinfo_endpoint",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "scopes_supported",
    ):
        assert member in document
    assert "openid" in document["scopes_supported"]
    assert "none" not in document["id_token_signing_alg_values_supported"]
    assert document["request_parameter_supported"] is False
    assert document["request_uri_parameter_supported"] is False


def test_advertised_grant_types_are_served(live_server, web_client):
    """Every advertised grant type reaches its grant, never unsupported_grant_type."""
    document = fetch(live_server, DOCUMENTS[0])
    for grant_type in document["grant_types_supported"]:
        response = requests.post(
            document["token_endpoint"],
            data={"grant_type": grant_type},
            auth=(web_client.client_id, web_client.client_secret),
            timeout=10,
        )
        assert response.json()["error"] != "unsupported_grant_type", grant_type


def test_advertised_scopes_and_modes_are_accepted(live_server, web_client):
    """Every advertised scope and response mode passes the authorization request's checks."""
    document = fetch(live_server, DOCUMENTS[0])
    scope = " ".join(document["scopes_supported"])
    for mode in document["response_modes_supported"]:
        url, _ = authorize_url(
            live_server, web_client, scope=scope, response_mode=mode, prompt="none"
        )
        response = requests.get(url, allow_redirects=False, timeout=10)
        if mode == "query":
            assert answer(response.headers["Location"])["error"] == "login_required"
        else:
            assert 'value="login_required"' in response.text


def test_jwks_has_public_signing_keys_only(live_server):
    """Each published key has kid, alg and use=sig, and no private member."""
    document = fetch(live_server, DOCUMENTS[0])
    response = requests.get(document["jwks_uri"], timeout=10)
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    kids = [key["kid"] for key in keys]
    assert len(set(kids)) == len(kids)
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert key["alg"] in document["id_token_signing_alg_values_supported"]
        assert not PRIVATE_MEMBERS & set(key), key["kid"]
    assert {key["alg"] for key in keys} >= {"ES256", "RS256"}
