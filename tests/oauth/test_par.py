"""Pushed authorization requests (RFC 9126) over HTTP on a live idp."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from idp.extensions import db
from idp.models import Client
from tests.factories import PASSWORD
from tests.live import LiveServer, serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.support import TIMEOUT, answer, assert_refused, exchange

URN = "urn:ietf:params:oauth:request_uri:"


def _params(client: Registered, **extra: str) -> tuple[dict[str, str], str]:
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid email",
        "state": "st-par",
        "nonce": "n-par",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return params, verifier


def push(live: LiveServer, client: Registered, params: dict[str, str]) -> requests.Response:
    auth = (client.client_id, client.client_secret) if client.client_secret else None
    return requests.post(f"{live.url}/par", data=params, auth=auth, timeout=TIMEOUT)


def _front(live: LiveServer, client: Registered, request_uri: str, **extra: str) -> str:
    query = {"client_id": client.client_id, "request_uri": request_uri, **extra}
    return f"{live.url}/authorize?{urlencode(query)}"


def test_discovery_advertises_par(live_server):
    """Discovery names the PAR endpoint and says whether every client must use it."""
    document = requests.get(
        f"{live_server.url}/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert document["pushed_authorization_request_endpoint"] == f"{live_server.url}/par"
    assert document["require_pushed_authorization_requests"] is False


def test_pushed_request_signs_in_and_gets_tokens(live_server, web_client, agent):
    """Push, send the browser with client_id + request_uri only, get a code and tokens."""
    params, verifier = _params(web_client)
    pushed = push(live_server, web_client, params)
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["request_uri"].startswith(URN)
    assert body["expires_in"] == 300
    assert pushed.headers["Cache-Control"] == "no-store"
    callback = agent.go(_front(live_server, web_client, body["request_uri"]))
    assert answer(callback)["state"] == "st-par"
    token = exchange(live_server, web_client, callback, verifier)
    assert token.status_code == 200, token.text
    assert token.json()["scope"].split() == ["openid", "email"]


def test_request_uri_gives_one_answer(live_server, web_client, agent):
    """After a code was issued, the same request_uri gets an error page, no second code."""
    params, _ = _params(web_client)
    request_uri = push(live_server, web_client, params).json()["request_uri"]
    assert "code" in answer(agent.go(_front(live_server, web_client, request_uri)))
    again = agent.session.get(
        _front(live_server, web_client, request_uri), allow_redirects=False, timeout=TIMEOUT
    )
    assert again.status_code == 400 and "invalid_request_uri" in again.text
    assert "Location" not in again.headers


def test_front_channel_parameters_are_ignored(live_server, web_client, agent):
    """Only pushed parameters count: a redirect_uri or scope added in the URL changes nothing."""
    params, _ = _params(web_client)
    request_uri = push(live_server, web_client, params).json()["request_uri"]
    callback = agent.go(
        _front(
            live_server,
            web_client,
            request_uri,
            redirect_uri="https://evil.example/cb",
            scope="openid phone",
            state="forged",
        )
    )
    assert callback.startswith(web_client.redirect_uri)
    assert answer(callback)["state"] == "st-par"


def test_request_uri_is_bound_to_its_client(live_server, web_client, native_client, agent):
    """Another client_id with a valid request_uri: invalid_request_uri, no redirect."""
    params, _ = _params(web_client)
    request_uri = push(live_server, web_client, params).json()["request_uri"]
    stolen = agent.session.get(
        _front(live_server, native_client, request_uri), allow_redirects=False, timeout=TIMEOUT
    )
    assert stolen.status_code == 400 and "invalid_request_uri" in stolen.text


@pytest.mark.parametrize("request_uri", [URN + "made-up", URN + "x" * 300, URN])
def test_unknown_request_uri_gets_an_error_page(live_server, web_client, request_uri):
    """A request_uri idp never issued: an error page."""
    response = requests.get(
        _front(live_server, web_client, request_uri), allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 400 and "invalid_request_uri" in response.text


def test_expired_request_uri_is_refused(database_url, tmp_path, mailbox):
    """Past PAR_LIFETIME the request_uri names nothing."""
    with serve(database_url, tmp_path / "instance", mailbox, PAR_LIFETIME=1) as live:
        client = _register(live)
        params, _ = _params(client)
        pushed = push(live, client, params).json()
        assert pushed["expires_in"] == 1
        time.sleep(1.2)
        response = requests.get(
            _front(live, client, pushed["request_uri"]), allow_redirects=False, timeout=TIMEOUT
        )
        assert response.status_code == 400 and "invalid_request_uri" in response.text


def _register(live: LiveServer) -> Registered:
    return register(live, name="Shop", client_type="web", redirect_uris=[WEB_REDIRECT])


def test_push_needs_client_authentication(live_server, web_client):
    """A confidential client pushing with a wrong secret: 401 invalid_client."""
    params, _ = _params(web_client)
    response = requests.post(
        f"{live_server.url}/par", data=params, auth=(web_client.client_id, "wrong"), timeout=10
    )
    assert_refused(response, 401, "invalid_client")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"request_uri": URN + "nested"}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "openid", "redirect_uri": ""}, "invalid_request"),
    ],
)
def test_pushed_request_is_checked_like_authorize(live_server, web_client, change, error):
    """Bad pushed parameters are refused as JSON at /par, never redirected (RFC 9126 2.3)."""
    params, _ = _params(web_client)
    params.update(change)
    response = push(live_server, web_client, {k: v for k, v in params.items() if v})
    assert_refused(response, 400, error)
    assert "Location" not in response.headers


def test_public_client_pushes_with_pkce(live_server, native_client, agent):
    """A native app pushes with its client_id and PKCE; without a challenge it is refused."""
    params, verifier = _params(native_client)
    pushed = push(live_server, native_client, params)
    assert pushed.status_code == 201, pushed.text
    callback = agent.go(_front(live_server, native_client, pushed.json()["request_uri"]))
    assert exchange(live_server, native_client, callback, verifier).status_code == 200
    del params["code_challenge"], params["code_challenge_method"]
    assert_refused(push(live_server, native_client, params), 400, "invalid_request")


def test_server_wide_requirement_refuses_plain_requests(database_url, tmp_path, mailbox):
    """IDP_REQUIRE_PAR: a request in the URL is sent back with invalid_request; PAR works."""
    with serve(database_url, tmp_path / "instance", mailbox, REQUIRE_PAR=True) as live:
        client = _register(live)
        params, _ = _params(client)
        plain = requests.get(
            f"{live.url}/authorize?{urlencode(params)}", allow_redirects=False, timeout=10
        )
        assert plain.status_code == 302
        assert answer(plain.headers["Location"])["error"] == "invalid_request"
        document = requests.get(f"{live.url}/.well-known/openid-configuration", timeout=10)
        assert document.json()["require_pushed_authorization_requests"] is True
        assert push(live, client, params).status_code == 201


def test_client_requirement_refuses_plain_requests(live_server, web_client):
    """A client registered with require_pushed_authorization_requests must push."""
    with live_server.app.app_context():
        row = db.session.execute(
            db.select(Client).where(Client.client_id == web_client.client_id)
        ).scalar_one()
        row.software = {**(row.software or {}), "require_pushed_authorization_requests": True}
        db.session.commit()
    params, _ = _params(web_client)
    plain = requests.get(
        f"{live_server.url}/authorize?{urlencode(params)}", allow_redirects=False, timeout=10
    )
    assert answer(plain.headers["Location"])["error"] == "invalid_request"
    assert push(live_server, web_client, params).status_code == 201


def test_denied_pushed_request_is_spent(live_server, web_client, customer):
    """Denying consent answers access_denied and spends the request_uri too."""
    agent = UserAgent(live_server.url, email=customer.email, password=PASSWORD)
    params, _ = _params(web_client)
    request_uri = push(live_server, web_client, params).json()["request_uri"]
    denied = agent.go(_front(live_server, web_client, request_uri), consent="deny")
    assert answer(denied)["error"] == "access_denied"
    again = agent.session.get(
        _front(live_server, web_client, request_uri), allow_redirects=False, timeout=TIMEOUT
    )
    assert again.status_code == 400
