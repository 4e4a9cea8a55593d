"""Dynamic client registration (RFC 7591), its management (RFC 7592), over HTTP on a live idp."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from idp.extensions import db
from idp.services import clients
from tests.live import LiveServer
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.support import assert_refused
from tests.oauth.test_code_flow import authorize, discover, verify_id_token

WEB_METADATA = {
    "client_name": "Shop",
    "client_name#fr": "Boutique",
    "redirect_uris": [WEB_REDIRECT],
    "post_logout_redirect_uris": ["https://shop.example/bye"],
    "backchannel_logout_uri": "https://shop.example/backchannel",
    "grant_types": ["authorization_code", "refresh_token"],
    "contacts": ["ops@shop.example"],
    "logo_uri": "https://shop.example/logo.png",
    "client_uri": "https://shop.example/",
    "tos_uri": "https://shop.example/tos",
    "policy_uri": "https://shop.example/privacy",
    "scope": "openid profile email offline_access",
}


def mint(live: LiveServer, *, single_use: bool = True, expires_in: int | None = None) -> str:
    with live.app.app_context():
        token = clients.mint_registration_token(single_use=single_use, expires_in=expires_in)
        db.session.commit()
    return token


def post(live: LiveServer, token: str | None, metadata: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{live.url}/register", json=metadata, headers=headers, timeout=10)


def manage(
    method: str, registered: dict, token: str | None = None, body: object = None
) -> requests.Response:
    token = registered["registration_access_token"] if token is None else token
    return requests.request(
        method,
        registered["registration_client_uri"],
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def registered_web(live: LiveServer, **changes: object) -> dict:
    response = post(live, mint(live), {**WEB_METADATA, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def as_registered(body: dict) -> Registered:
    return Registered(body["client_id"], body.get("client_secret"), body["redirect_uris"][0])


def test_discovery_names_the_registration_endpoint(live_server):
    """Both discovery documents publish registration_endpoint (RFC 8414 2, OIDC Discovery 3)."""
    assert discover(live_server)["registration_endpoint"] == f"{live_server.url}/register"
    oauth = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server", timeout=10)
    assert oauth.json()["registration_endpoint"] == f"{live_server.url}/register"


def test_registered_client_completes_code_flow(live_server, agent, customer):
    """A registered web client gets RFC 7591 3.2.1 information and completes code + PKCE."""
    response = post(live_server, mint(live_server), WEB_METADATA)
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    client_id = body["client_id"]
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert isinstance(body["client_id_issued_at"], int)
    assert body["registration_access_token"]
    assert body["registration_client_uri"] == f"{live_server.url}/register/{client_id}"
    for name, value in WEB_METADATA.items():
        assert body[name] == value, name
    assert body["application_type"] == "web"
    assert body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["id_token_signed_response_alg"] == "RS256"  # OIDC Registration 2 default
    with live_server.app.app_context():
        client = clients.get(client_id)
        assert client.first_party is False
        assert client.check_client_secret(body["client_secret"])
        assert clients.check_registration_access_token(client, body["registration_access_token"])

    meta = discover(live_server)
    session, callback, verifier, nonce = authorize(
        live_server, as_registered(body), agent, scope="openid email offline_access"
    )
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    claims = verify_id_token(live_server, token["id_token"], client_id, nonce)
    assert claims["sub"] == customer.public_id
    header = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    assert token["refresh_token"]


def test_native_client_is_public(live_server):
    """application_type native registers a public client: auth method none, no secret."""
    response = post(
        live_server,
        mint(live_server),
        {
            "application_type": "native",
            "client_name": "App",
            "redirect_uris": ["com.example.app:/callback", "http://127.0.0.1/callback"],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["application_type"] == "native"
    assert body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["grant_types"] == ["authorization_code"]  # RFC 7591 2 default


def test_client_credentials_client(live_server):
    """grant_types [client_credentials] registers a service client that gets tokens."""
    response = post(
        live_server,
        mint(live_server),
        {
            "client_name": "Batch",
            "grant_types": ["client_credentials"],
            "scope": "openid",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["response_types"] == [] and body["redirect_uris"] == []
    token = requests.post(
        discover(live_server)["token_endpoint"],
        timeout=10,
        data={"grant_type": "client_credentials"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]


def test_single_use_token_refused_second_time(live_server):
    """A single-use initial access token registers one client, then gets 401 invalid_token."""
    token = mint(live_server, single_use=True)
    assert post(live_server, token, WEB_METADATA).status_code == 201
    second = post(live_server, token, WEB_METADATA)
    assert_refused(second, 401, "invalid_token")
    assert 'error="invalid_token"' in second.headers["WWW-Authenticate"]
    assert second.headers["WWW-Authenticate"].startswith("Bearer ")


def test_expiring_token_works_until_it_expires(live_server):
    """A reusable token registers several clients, and none once expired."""
    token = mint(live_server, single_use=False, expires_in=2)
    first = post(live_server, token, WEB_METADATA)
    second = post(live_server, token, WEB_METADATA)
    assert first.status_code == second.status_code == 201
    assert first.json()["client_id"] != second.json()["client_id"]
    time.sleep(2.2)
    assert_refused(post(live_server, token, WEB_METADATA), 401, "invalid_token")


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz"])
def test_missing_or_unknown_token_refused(live_server, authorization):
    """Without a live initial access token: 401 invalid_token, and no client is made."""
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(
        f"{live_server.url}/register", json=WEB_METADATA, headers=headers, timeout=10
    )
    assert_refused(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    with live_server.app.app_context():
        assert clients.list_clients() == []


def test_failed_registration_keeps_single_use_token(live_server):
    """A refused registration does not use up a single-use token."""
    token = mint(live_server)
    assert_refused(
        post(live_server, token, {**WEB_METADATA, "redirect_uris": []}),
        400,
        "invalid_client_metadata",
    )
    assert post(live_server, token, WEB_METADATA).status_code == 201


@pytest.mark.parametrize(
    "uris",
    [
        ["http://shop.example/callback"],
        ["https://shop.example/callback#frag"],
        ["javascript:alert(1)"],
        ["https://*.shop.example/callback"],
        "https://shop.example/cb",
        ["http://localhost/callback"],
    ],
)
def test_invalid_redirect_uri(live_server, uris):
    """Non-loopback http, fragments, javascript:, wildcards: invalid_redirect_uri."""
    response = post(live_server, mint(live_server), {**WEB_METADATA, "redirect_uris": uris})
    assert_refused(response, 400, "invalid_redirect_uri")


@pytest.mark.parametrize(
    "changes",
    [
        {"grant_types": ["implicit"], "response_types": ["token"]},
        {"grant_types": ["authorization_code", "implicit"]},
        {"response_types": ["code id_token"]},
        {"response_types": ["id_token"]},
        {"grant_types": ["password"]},
        {"grant_types": ["refresh_token"]},
        {"grant_types": ["client_credentials"], "response_types": ["code"]},
        {"redirect_uris": None},
        {"application_type": "desktop"},
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {"token_endpoint_auth_method": "none"},
        {"id_token_signed_response_alg": "none"},
        {"id_token_signed_response_alg": "HS256"},
        {"jwks_uri": "https://shop.example/jwks", "jwks": {"keys": [{"kty": "EC"}]}},
        {"token_endpoint_auth_method": "private_key_jwt"},
        {"scope": "openid admin"},
        {"id_token_encrypted_response_alg": "RSA-OAEP"},
        {"subject_type": "pairwise"},
        {"post_logout_redirect_uris": ["javascript:alert(1)"]},
        {"backchannel_logout_uri": "http://shop.example/bc"},
        {"logo_uri": "http://shop.example/logo.png"},
        {"contacts": ["not an email"]},
        {"client_name": ""},
        {"client_name#fr": ""},
        {"client_name#not a tag": "Boutique"},
    ],
)
def test_invalid_client_metadata(live_server, changes):
    """Implicit, hybrid and unsupported grants or inconsistent metadata: invalid_client_metadata."""
    response = post(live_server, mint(live_server), {**WEB_METADATA, **changes})
    assert_refused(response, 400, "invalid_client_metadata")
    with live_server.app.app_context():
        assert clients.list_clients() == []


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('["a", "list"]', "application/json", 400),
        ("[" * 30_000 + "]" * 30_000, "application/json", 400),
        ("\xff\xfe", "application/json", 400),
        ("redirect_uris=https://shop.example/callback", "application/x-www-form-urlencoded", 400),
        ('{"client_name": "' + "x" * 70_000 + '"}', "application/json", 413),
    ],
)
def test_non_json_body(live_server, data, content_type, status):
    """A body that is not a JSON object is invalid_client_metadata, never a server error."""
    response = requests.post(
        f"{live_server.url}/register",
        data=data.encode("latin-1"),
        timeout=10,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {mint(live_server)}"},
    )
    assert_refused(response, status, "invalid_client_metadata")


def test_read_with_registration_access_token(live_server):
    """GET returns the registered metadata, never the secret (RFC 7592 2.1)."""
    registered = registered_web(live_server)
    response = manage("GET", registered)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    expected = {k: v for k, v in registered.items() if k != "client_secret"}
    assert body == expected


def test_update_replaces_metadata(live_server):
    """PUT replaces the whole registration: omitted fields go back to defaults, secret kept."""
    registered = registered_web(live_server)
    update = {
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
        "client_name": "Shop 2",
        "redirect_uris": ["https://shop.example/new-callback"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    response = manage("PUT", registered, body=update)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["client_id"] == registered["client_id"] and "client_secret" not in body
    assert body["client_name"] == "Shop 2"
    assert body["redirect_uris"] == ["https://shop.example/new-callback"]
    assert body["post_logout_redirect_uris"] == [] and "backchannel_logout_uri" not in body
    assert body["grant_types"] == ["authorization_code"]
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert "client_name#fr" not in body and "logo_uri" not in body
    assert manage("GET", registered).json() == body
    with live_server.app.app_context():
        client = clients.get(registered["client_id"])
        assert client.check_client_secret(registered["client_secret"])
        assert client.first_party is False


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"client_secret": "chosen-by-the-client"},
        {"registration_access_token": "x"},
        {"client_id_issued_at": 1},
    ],
)
def test_update_cannot_change_identity(live_server, changes):
    """PUT cannot pick another client_id or a secret, nor send server fields (RFC 7592 2.2)."""
    registered = registered_web(live_server)
    update = {**WEB_METADATA, "client_id": registered["client_id"], **changes}
    update = {k: v for k, v in update.items() if v is not None}
    assert_refused(manage("PUT", registered, body=update), 400, "invalid_request")
    assert manage("GET", registered).json()["client_id"] == registered["client_id"]


def test_update_refuses_invalid_metadata(live_server):
    """A PUT with bad metadata changes nothing: invalid_redirect_uri, old registration kept."""
    registered = registered_web(live_server)
    update = {
        **WEB_METADATA,
        "client_id": registered["client_id"],
        "redirect_uris": ["http://shop.example/cb"],
    }
    assert_refused(manage("PUT", registered, body=update), 400, "invalid_redirect_uri")
    assert_refused(
        manage(
            "PUT",
            registered,
            body={**update, "application_type": "native", "redirect_uris": [WEB_REDIRECT]},
        ),
        400,
        "invalid_client_metadata",
    )
    assert manage("GET", registered).json()["redirect_uris"] == [WEB_REDIRECT]
    bad = requests.put(
        registered["registration_client_uri"],
        data="{",
        timeout=10,
        headers={
            "Authorization": f"Bearer {registered['registration_access_token']}",
            "Content-Type": "application/json",
        },
    )
    assert_refused(bad, 400, "invalid_client_metadata")


def test_wrong_registration_access_token(live_server):
    """Another client's token, a made-up one, none, or an operator's client: 401."""
    one, other = registered_web(live_server), registered_web(live_server)
    for method in ("GET", "PUT", "DELETE"):
        refused = manage(method, one, token=other["registration_access_token"], body={})
        assert_refused(refused, 401, "invalid_token")
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        assert_refused(manage(method, one, token="nope", body={}), 401, "invalid_token")
    anonymous = requests.get(one["registration_client_uri"], timeout=10)
    assert_refused(anonymous, 401, "invalid_token")
    operators = register(live_server, name="Ops", client_type="web", redirect_uris=[WEB_REDIRECT])
    response = requests.get(
        f"{live_server.url}/register/{operators.client_id}",
        timeout=10,
        headers={"Authorization": "Bearer x"},
    )
    assert_refused(response, 401, "invalid_token")
    assert manage("GET", one).status_code == 200


def test_delete_ends_the_client(live_server, agent):
    """DELETE answers 204; the client then can neither refresh, nor authorize, nor manage."""
    registered = registered_web(live_server)
    meta = discover(live_server)
    session, callback, verifier, _ = authorize(
        live_server, as_registered(registered), agent, scope="openid offline_access"
    )
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    deleted = manage("DELETE", registered)
    assert deleted.status_code == 204 and deleted.headers["Cache-Control"] == "no-store"
    refresh = requests.post(
        meta["token_endpoint"],
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
        },
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert refresh.status_code in (400, 401) and refresh.json()["error"] == "invalid_client"
    assert_refused(manage("GET", registered), 401, "invalid_token")
    again = agent.session.get(
        meta["authorization_endpoint"],
        allow_redirects=False,
        timeout=10,
        params={
            "response_type": "code",
            "scope": "openid",
            "client_id": registered["client_id"],
            "redirect_uri": WEB_REDIRECT,
        },
    )
    assert again.status_code == 400 and "Location" not in again.headers
    with live_server.app.app_context():
        assert clients.get(registered["client_id"]) is None
