"""Resource indicators (RFC 8707): tokens whose ``aud`` is the API asked for, and only those
the client may reach."""

from __future__ import annotations

import json

import pytest
import requests

from idp.extensions import db
from idp.services import clients
from tests.cli_runner import run_idp
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.support import TIMEOUT, answer, authorize_url, exchange, jwt_parts, token_request

ORDERS = "https://api.shop.example/orders"
LOYALTY = "https://api.shop.example/loyalty"
PAYMENTS = "https://payments.example/"


@pytest.fixture
def shop(live_server) -> Registered:
    return register(
        live_server,
        name="Shop",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        resources=[ORDERS, LOYALTY],
    )


@pytest.fixture
def backend(live_server) -> Registered:
    return register(
        live_server,
        name="Backend",
        client_type="service",
        redirect_uris=[],
        resources=[ORDERS],
    )


def _code(live, client, agent, resources=(), **params):
    url, verifier = authorize_url(live, client, scope="openid offline_access", **params)
    if resources:
        url += "".join(f"&resource={requests.utils.quote(r, safe='')}" for r in resources)
    callback = agent.go(url)
    return callback, verifier


def _aud(response: requests.Response):
    assert response.status_code == 200, response.text
    return jwt_parts(response.json()["access_token"])[1]["aud"]


def test_client_credentials_token_for_a_resource(live_server, backend):
    """client_credentials with resource: the token's aud is that API."""
    data = {"grant_type": "client_credentials", "resource": ORDERS}
    assert _aud(token_request(live_server, backend, data)) == ORDERS


def test_client_credentials_for_an_unregistered_resource(live_server, backend):
    """A resource the operator did not register for the client: invalid_target, no token."""
    data = {"grant_type": "client_credentials", "resource": PAYMENTS}
    response = token_request(live_server, backend, data)
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


@pytest.mark.parametrize("value", ["not a uri", "https://api.shop.example/orders#frag", "urn:x"])
def test_malformed_resource_is_invalid_target(live_server, backend, value):
    """RFC 8707 2: not an absolute URI, or with a fragment: invalid_target."""
    data = {"grant_type": "client_credentials", "resource": value}
    assert token_request(live_server, backend, data).json()["error"] == "invalid_target"


def test_without_resource_the_default_audience_stays(live_server, backend):
    """No resource asked: the token is for idp itself, as before."""
    data = {"grant_type": "client_credentials"}
    assert _aud(token_request(live_server, backend, data)) == live_server.url


def test_code_flow_resources_narrowed_at_the_token_endpoint(live_server, shop, agent):
    """Both APIs asked at authorization; the token request narrows to one; refresh too."""
    callback, verifier = _code(live_server, shop, agent, [ORDERS, LOYALTY])
    both = exchange(live_server, shop, callback, verifier)
    assert sorted(_aud(both)) == sorted([ORDERS, LOYALTY])
    refresh = {"grant_type": "refresh_token", "refresh_token": both.json()["refresh_token"]}
    narrowed = token_request(live_server, shop, {**refresh, "resource": LOYALTY})
    assert _aud(narrowed) == LOYALTY
    refresh["refresh_token"] = narrowed.json()["refresh_token"]
    assert sorted(_aud(token_request(live_server, shop, refresh))) == sorted([ORDERS, LOYALTY])


def test_token_request_cannot_widen_the_grant(live_server, shop, agent):
    """A code asked for one API cannot be exchanged for a token to another."""
    callback, verifier = _code(live_server, shop, agent, [ORDERS])
    widened = exchange(live_server, shop, callback, verifier, resource=LOYALTY)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"


def test_authorization_for_an_unregistered_resource_is_refused(live_server, shop, agent):
    """At /authorize, a resource the client may not reach goes back as invalid_target."""
    url, _ = authorize_url(live_server, shop)
    response = requests.get(
        url + f"&resource={requests.utils.quote(PAYMENTS, safe='')}",
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer(response.headers["Location"])["error"] == "invalid_target"


def test_userinfo_refuses_a_token_for_another_api(live_server, shop, agent):
    """A token whose aud is an API is not a token for UserInfo."""
    callback, verifier = _code(live_server, shop, agent, [ORDERS])
    token = exchange(live_server, shop, callback, verifier).json()["access_token"]
    response = requests.get(
        f"{live_server.url}/userinfo",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401 and "another resource" in response.text


def test_introspection_shows_the_resource_audience(live_server, backend):
    """Introspection answers the API audience a resource server checks."""
    token = token_request(
        live_server, backend, {"grant_type": "client_credentials", "resource": ORDERS}
    ).json()["access_token"]
    seen = requests.post(
        f"{live_server.url}/introspect",
        data={"token": token},
        auth=(backend.client_id, backend.client_secret),
        timeout=TIMEOUT,
    )
    assert seen.json()["active"] is True and seen.json()["aud"] == ORDERS


def test_cli_registers_resources(app, database_url, tmp_path):
    """`idp clients create|update --resource` sets them; a bad URI is refused by field."""
    created = run_idp(
        database_url,
        tmp_path,
        "clients",
        "create",
        "--name",
        "API caller",
        "--type",
        "service",
        "--resource",
        ORDERS,
        "--json",
    )
    assert created.returncode == 0, created.stderr
    client_id = json.loads(created.stdout)["client_id"]
    assert json.loads(created.stdout)["resources"] == [ORDERS]
    updated = run_idp(
        database_url, tmp_path, "clients", "update", client_id, "--resource", LOYALTY, "--json"
    )
    assert json.loads(updated.stdout)["resources"] == [LOYALTY]
    bad = run_idp(database_url, tmp_path, "clients", "update", client_id, "--resource", "ftp://x")
    assert bad.returncode == 1 and "resources" in bad.stderr
    cleared = run_idp(database_url, tmp_path, "clients", "update", client_id, "--no-resources")
    assert cleared.returncode == 0
    with app.app_context():
        assert clients.get(client_id).resources == []
        db.session.remove()
