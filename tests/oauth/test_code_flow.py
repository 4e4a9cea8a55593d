"""Authorization code + PKCE, end to end, with Authlib's own OAuth client against a live idp."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.grants.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.live import LiveServer
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import Registered


def discover(live: LiveServer) -> dict:
    return requests.get(f"{live.url}/.well-known/openid-configuration", timeout=10).json()


def verify_id_token(live: LiveServer, token: str, client_id: str, nonce: str | None) -> dict:
    meta = discover(live)
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    if nonce is not None:
        assert decoded.claims["nonce"] == nonce
    assert "kid" in decoded.header
    return dict(decoded.claims)


def authorize(
    live: LiveServer, client: Registered, agent: UserAgent, *, scope: str, **params: str
) -> tuple[OAuth2Session, str, str, str]:
    """Run the front channel; return the session, the callback URL, the verifier and nonce."""
    meta = discover(live)
    session = OAuth2Session(
        client.client_id,
        client.client_secret,
        scope=scope,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if client.client_secret else "none",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
    )
    callback = agent.go(url)
    return session, callback, verifier, nonce


def test_web_client_full_flow(live_server, web_client, agent, customer):
    """Discovery, sign-in, consent, code + PKCE, ID token, UserInfo, refresh rotation."""
    meta = discover(live_server)
    session, callback, verifier, nonce = authorize(
        live_server, web_client, agent, scope="openid profile email phone address offline_access"
    )
    query = parse_qs(urlsplit(callback).query)
    assert callback.startswith(web_client.redirect_uri)
    assert query["iss"] == [meta["issuer"]]  # RFC 9207
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = verify_id_token(live_server, token["id_token"], web_client.client_id, nonce)
    assert claims["sub"] == customer.public_id
    assert claims["azp"] == web_client.client_id
    assert claims["amr"] == ["pwd"] and "auth_time" in claims and "sid" in claims
    assert claims["at_hash"] == create_half_hash(token["access_token"], "ES256").decode()

    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == customer.public_id
    assert info["email"] == "ana@example.com" and info["email_verified"] is True
    assert info["given_name"] == "Ana" and info["phone_number"] == "+33612345678"
    assert info["address"]["locality"] == "Lyon"

    first_refresh = token["refresh_token"]
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    again = verify_id_token(live_server, refreshed["id_token"], web_client.client_id, None)
    assert again["sub"] == customer.public_id and again["auth_time"] == claims["auth_time"]


def test_access_token_is_an_rfc9068_jwt(live_server, web_client, agent):
    """Access tokens are `at+jwt` JWTs that a resource server verifies with the JWKS alone."""
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(live_server, web_client, agent, scope="openid")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["access_token"], keys, algorithms=["ES256", "RS256"])
    assert decoded.header["typ"] == "at+jwt" and decoded.header["kid"]
    assert decoded.claims["client_id"] == web_client.client_id
    assert decoded.claims["iss"] == meta["issuer"]
    assert decoded.claims["exp"] - decoded.claims["iat"] <= 300


def test_native_client_requires_pkce(live_server, native_client, agent):
    """A public client without code_challenge is sent back with invalid_request, no code."""
    meta = discover(live_server)
    url = (
        f"{meta['authorization_endpoint']}?response_type=code&client_id={native_client.client_id}"
        f"&redirect_uri={native_client.redirect_uri}&scope=openid&state=s1"
    )
    callback = agent.go(url)
    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["s1"]
    assert "code" not in query


def test_plain_pkce_refused(live_server, native_client, agent):
    """code_challenge_method=plain is refused (RFC 9700 2.1.1)."""
    meta = discover(live_server)
    url = (
        f"{meta['authorization_endpoint']}?response_type=code&client_id={native_client.client_id}"
        f"&redirect_uri={native_client.redirect_uri}&scope=openid&code_challenge=abc"
        f"{'x' * 40}&code_challenge_method=plain"
    )
    query = parse_qs(urlsplit(agent.go(url)).query)
    assert query["error"] == ["invalid_request"]


def test_native_loopback_any_port(live_server, native_client, agent):
    """A native client's loopback redirect may use any port (RFC 8252 7.3), path exact."""
    meta = discover(live_server)
    verifier = secrets.token_urlsafe(48)
    redirect = "http://127.0.0.1:49152/callback"
    session = OAuth2Session(
        native_client.client_id,
        scope="openid",
        redirect_uri=redirect,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    url, _ = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    callback = agent.go(url)
    assert callback.startswith(redirect + "?code=")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert "id_token" in token


def test_replayed_code_fails_and_revokes(live_server, web_client, agent):
    """A code used twice fails the second time and revokes the tokens of the first."""
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(live_server, web_client, agent, scope="openid")
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replay = requests.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": web_client.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(web_client.client_id, web_client.client_secret),
        timeout=10,
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert replay.headers["Cache-Control"] == "no-store"
    userinfo = requests.get(
        meta["userinfo_endpoint"],
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]


def test_refresh_reuse_revokes_family(live_server, web_client, agent):
    """Presenting a rotated refresh token revokes the newest one of its family too."""
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(
        live_server, web_client, agent, scope="openid offline_access"
    )
    first = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    second = session.refresh_token(meta["token_endpoint"], refresh_token=first["refresh_token"])

    def refresh(raw: str) -> requests.Response:
        return requests.post(
            meta["token_endpoint"],
            timeout=10,
            data={"grant_type": "refresh_token", "refresh_token": raw},
            auth=(web_client.client_id, web_client.client_secret),
        )

    reused = refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(second["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect",
    [
        "https://shop.example/callback/",
        "https://shop.example/callback?x=1",
        "https://evil.example/callback",
        "https://shop.example/CALLBACK",
    ],
)
def test_foreign_redirect_uri_shows_page_never_redirects(live_server, web_client, agent, redirect):
    """An unregistered redirect URI gets an error page from idp, not a redirect to it."""
    meta = discover(live_server)
    response = agent.session.get(
        meta["authorization_endpoint"],
        allow_redirects=False,
        params={
            "response_type": "code",
            "client_id": web_client.client_id,
            "redirect_uri": redirect,
            "scope": "openid",
            "code_challenge": create_s256_code_challenge("v" * 50),
            "code_challenge_method": "S256",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_request" in response.text or "invalid_client" in response.text


def test_unknown_client_shows_page(live_server, agent):
    """An unknown client_id gets an error page, not a redirect."""
    response = agent.session.get(
        f"{live_server.url}/authorize",
        allow_redirects=False,
        params={
            "response_type": "code",
            "client_id": "nope",
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
        },
        timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers
