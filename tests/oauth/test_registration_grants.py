"""Dynamic registration of grant sets (RFC 7591 2, RFC 8252 8.4) over HTTP on a live idp: any
combination of the advertised grants within the policy, native clients included; the rest is
invalid_client_metadata naming the field."""

from __future__ import annotations

import pytest
import requests

from idp.services import clients
from tests.oauth.conftest import NATIVE_REDIRECT, WEB_REDIRECT
from tests.oauth.support import answer, authorize_url, token_request
from tests.oauth.test_code_flow import authorize, discover
from tests.oauth.test_device_flow import DEVICE_CODE, start
from tests.oauth.test_registration import as_registered, assert_refused, manage, mint, post

CODE, REFRESH, CC = "authorization_code", "refresh_token", "client_credentials"
NATIVE = {
    "application_type": "native",
    "client_name": "App",
    "redirect_uris": [NATIVE_REDIRECT, "com.example.app:/callback"],
    "grant_types": [CODE, REFRESH],
}
WEB = {"client_name": "Shop", "redirect_uris": [WEB_REDIRECT]}


def registered(live, metadata: dict) -> dict:
    response = post(live, mint(live), metadata)
    assert response.status_code == 201, response.text
    return response.json()


def assert_reads_back(registration: dict) -> None:
    """RFC 7592 2.1: what was registered reads back exactly, the secret aside."""
    read = manage("GET", registration)
    assert read.status_code == 200, read.text
    assert read.json() == {k: v for k, v in registration.items() if k != "client_secret"}


def test_every_advertised_grant_registers_within_policy(live_server):
    """A web client may register every grant discovery advertises at once, a native one every
    one but client_credentials; each reads back exactly, with its type's authentication."""
    advertised = discover(live_server)["grant_types_supported"]
    assert set(advertised) == {CODE, REFRESH, CC, DEVICE_CODE}
    web = registered(live_server, {**WEB, "grant_types": advertised})
    assert web["grant_types"] == advertised and web["response_types"] == ["code"]
    assert web["application_type"] == "web" and web["client_secret"]
    assert_reads_back(web)
    native_grants = [g for g in advertised if g != CC]
    native = registered(live_server, {**NATIVE, "grant_types": native_grants})
    assert native["grant_types"] == native_grants
    assert native["application_type"] == "native"
    assert native["token_endpoint_auth_method"] == "none" and "client_secret" not in native
    assert_reads_back(native)
    with live_server.app.app_context():
        assert clients.get(web["client_id"]).client_type == "web"
        assert clients.get(native["client_id"]).client_type == "native"


def test_native_client_needs_pkce_and_gets_tokens_without_secret(live_server, agent):
    """RFC 8252 8.4: a registered native app has no secret; without PKCE it gets no code,
    with it the code flow completes with token_endpoint_auth_method none."""
    body = registered(live_server, NATIVE)
    client = as_registered(body)
    assert client.client_secret is None
    url, _ = authorize_url(live_server, client, pkce=False)
    refused = answer(agent.go(url))
    assert refused["error"] == "invalid_request" and "code" not in refused
    session, callback, verifier, _ = authorize(
        live_server, client, agent, scope="openid offline_access"
    )
    token = session.fetch_token(
        discover(live_server)["token_endpoint"],
        authorization_response=callback,
        code_verifier=verifier,
    )
    assert token["access_token"] and token["refresh_token"]


def test_native_device_grant_client(live_server):
    """A native app registering only the device grant becomes a public device client: no
    redirect URIs, no secret, codes by client_id alone, and it reads back as registered."""
    body = registered(
        live_server,
        {"application_type": "native", "client_name": "TV", "grant_types": [DEVICE_CODE]},
    )
    assert body["grant_types"] == [DEVICE_CODE] and body["response_types"] == []
    assert body["redirect_uris"] == [] and "client_secret" not in body
    assert body["application_type"] == "native"
    assert_reads_back(body)
    with live_server.app.app_context():
        assert clients.get(body["client_id"]).client_type == "device"
    assert start(live_server, body["client_id"], "openid")["device_code"]


def test_web_client_with_client_credentials_gets_both(live_server):
    """A web client registering code, refresh and client_credentials gets a client token."""
    body = registered(live_server, {**WEB, "grant_types": [CODE, REFRESH, CC]})
    response = token_request(live_server, as_registered(body), {"grant_type": CC})
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({**NATIVE, "grant_types": [CODE, CC]}, "grant_types"),
        ({"application_type": "native", "grant_types": [CC]}, "grant_types"),
        (
            {**NATIVE, "token_endpoint_auth_method": "client_secret_basic"},
            "token_endpoint_auth_method",
        ),
        ({**WEB, "token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({"grant_types": [CC], "token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({**WEB, "grant_types": [REFRESH]}, "grant_types"),
        ({"grant_types": [CC, REFRESH]}, "grant_types"),
        ({**WEB, "grant_types": []}, "grant_types"),
        ({**WEB, "grant_types": [CODE, "device_code"]}, "grant_types"),
        ({**WEB, "grant_types": [CODE, "password"]}, "grant_types"),
        ({**WEB, "grant_types": [CC]}, "redirect_uris"),
        ({"grant_types": [DEVICE_CODE], **WEB}, "redirect_uris"),
        ({"client_name": "Shop", "grant_types": [CODE]}, "redirect_uris"),
        (
            {"grant_types": [CC], "post_logout_redirect_uris": [WEB_REDIRECT]},
            "post_logout_redirect_uris",
        ),
        ({"grant_types": [CC], "backchannel_logout_uri": WEB_REDIRECT}, "backchannel_logout_uri"),
        ({"grant_types": [CC], "response_types": ["code"]}, "response_types"),
        ({**WEB, "response_types": []}, "response_types"),
    ],
)
def test_refused_combinations_name_the_field(live_server, metadata, field):
    """Outside the policy: invalid_client_metadata whose description starts with the field."""
    response = post(live_server, mint(live_server), metadata)
    assert_refused(response, 400, "invalid_client_metadata")
    assert response.json()["error_description"].startswith(f"{field}: "), response.text
    with live_server.app.app_context():
        assert clients.list_clients() == []


def test_update_changes_grants_within_the_type(live_server):
    """RFC 7592 2.2: a web client may drop authorization_code for client_credentials alone and
    stays a web client; it may not become a native application."""
    body = registered(live_server, {**WEB, "grant_types": [CODE, REFRESH, CC]})
    update = {"client_id": body["client_id"], "client_name": "Batch", "grant_types": [CC]}
    response = manage("PUT", body, body=update)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["grant_types"] == [CC] and changed["response_types"] == []
    assert changed["redirect_uris"] == [] and changed["application_type"] == "web"
    assert manage("GET", body).json() == changed
    with live_server.app.app_context():
        assert clients.get(body["client_id"]).client_type == "web"
    code = requests.get(authorize_url(live_server, as_registered(body))[0], timeout=10)
    assert code.status_code == 400 and "Location" not in code.headers
    native = manage("PUT", body, body={**update, **NATIVE, "client_id": body["client_id"]})
    assert_refused(native, 400, "invalid_client_metadata")
    assert native.json()["error_description"].startswith("application_type: ")
