"""The token endpoint (RFC 6749 3.2, 4.1.3, 4.4, 5; RFC 7636 4.6; RFC 9700 2.1.1)."""

from __future__ import annotations

import threading
import time

import requests

from tests.factories import PASSWORD, make_customer
from tests.live import serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, register
from tests.oauth.support import (
    answer,
    authorize_url,
    exchange,
    jwt_parts,
    token_request,
)


def _code(live_server, client, agent, **params) -> tuple[str, str | None]:
    url, verifier = authorize_url(live_server, client, **params)
    callback = agent.go(url)
    assert "code" in answer(callback), callback
    return callback, verifier


def _code_data(client, callback: str, verifier: str | None) -> dict[str, str]:
    data = {
        "grant_type": "authorization_code",
        "code": answer(callback)["code"],
        "redirect_uri": client.redirect_uri,
    }
    if verifier:
        data["code_verifier"] = verifier
    return data


def _error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_missing_client_authentication_is_401(live_server, web_client, agent):
    """A confidential client that does not authenticate gets 401 invalid_client."""
    callback, verifier = _code(live_server, web_client, agent)
    response = requests.post(
        f"{live_server.url}/token", timeout=10, data=_code_data(web_client, callback, verifier)
    )
    _error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_is_401_with_basic_challenge(live_server, web_client, agent):
    """A wrong secret in HTTP Basic: 401 invalid_client with a Basic WWW-Authenticate."""
    callback, verifier = _code(live_server, web_client, agent)
    response = requests.post(
        f"{live_server.url}/token",
        timeout=10,
        data=_code_data(web_client, callback, verifier),
        auth=(web_client.client_id, "not-the-secret"),
    )
    _error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    # The code survives a failed client authentication and still works for the real client.
    assert exchange(live_server, web_client, callback, verifier).status_code == 200


def test_client_secret_post_only_for_its_clients(live_server, agent):
    """A client_secret_post client authenticates in the body; HTTP Basic is then refused."""
    poster = register(
        live_server,
        name="Poster",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        token_endpoint_auth_method="client_secret_post",
    )
    callback, verifier = _code(live_server, poster, agent)
    data = _code_data(poster, callback, verifier)
    _error(token_request(live_server, poster, data, auth="basic"), 401, "invalid_client")
    good = token_request(live_server, poster, data, auth="post")
    assert good.status_code == 200, good.text
    assert "access_token" in good.json()


def test_basic_client_cannot_use_post(live_server, web_client, agent):
    """A client registered for client_secret_basic cannot send its secret in the body."""
    callback, verifier = _code(live_server, web_client, agent)
    response = token_request(
        live_server, web_client, _code_data(web_client, callback, verifier), auth="post"
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_public_client_wrong_verifier(live_server, native_client, agent):
    """A public client's code with the wrong code_verifier is invalid_grant (RFC 7636 4.6)."""
    callback, _ = _code(live_server, native_client, agent)
    response = exchange(live_server, native_client, callback, "w" * 50)
    _error(response, 400, "invalid_grant")


def test_public_client_missing_verifier(live_server, native_client, agent):
    """A public client must send the code_verifier of its challenge."""
    callback, _ = _code(live_server, native_client, agent)
    response = exchange(live_server, native_client, callback, None)
    _error(response, 400, "invalid_request")


def test_verifier_without_challenge_is_refused(live_server, web_client, agent):
    """A code_verifier for a code requested without a challenge is refused (RFC 9700 2.1.1,
    PKCE downgrade)."""
    callback, _ = _code(live_server, web_client, agent, pkce=False)
    response = exchange(live_server, web_client, callback, "v" * 50)
    _error(response, 400, "invalid_request")


def test_redirect_uri_mismatch(live_server, agent):
    """The redirect_uri at the token endpoint must be the one of the authorization request."""
    two = register(
        live_server,
        name="Two",
        client_type="web",
        redirect_uris=[WEB_REDIRECT, "https://shop.example/other"],
    )
    callback, verifier = _code(live_server, two, agent)
    data = {**_code_data(two, callback, verifier), "redirect_uri": "https://shop.example/other"}
    _error(token_request(live_server, two, data), 400, "invalid_grant")
    missing = {k: v for k, v in _code_data(two, callback, verifier).items() if k != "redirect_uri"}
    assert token_request(live_server, two, missing).status_code == 400


def test_expired_code(database_url, tmp_path, mailbox):
    """A code presented after CODE_LIFETIME is invalid_grant."""
    with serve(database_url, tmp_path / "short", mailbox, CODE_LIFETIME=1) as short:
        customer = make_customer(short.app)
        client = register(short, name="Shop", client_type="web", redirect_uris=[WEB_REDIRECT])
        agent = UserAgent(short.url, email=customer.email, password=PASSWORD)
        callback, verifier = _code(short, client, agent)
        time.sleep(1.1)
        _error(exchange(short, client, callback, verifier), 400, "invalid_grant")


def test_code_of_another_client(live_server, web_client, agent):
    """A code issued to client A is invalid_grant when client B presents it."""
    other = register(live_server, name="Other", client_type="web", redirect_uris=[WEB_REDIRECT])
    callback, verifier = _code(live_server, web_client, agent)
    _error(exchange(live_server, other, callback, verifier), 400, "invalid_grant")
    # Client A's code is still its own.
    assert exchange(live_server, web_client, callback, verifier).status_code == 200


def test_unsupported_grant_type(live_server, web_client):
    """An unknown grant_type is unsupported_grant_type."""
    response = token_request(
        live_server, web_client, {"grant_type": "password", "username": "a", "password": "b"}
    )
    _error(response, 400, "unsupported_grant_type")


def test_client_credentials_for_a_service(live_server):
    """client_credentials gives a service an access token about itself, nothing more."""
    service = register(live_server, name="Stock sync", client_type="service", redirect_uris=[])
    response = token_request(live_server, service, {"grant_type": "client_credentials"})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body and "id_token" not in body
    _, claims = jwt_parts(body["access_token"])
    assert claims["sub"] == service.client_id and claims["client_id"] == service.client_id
    # It names no customer, so UserInfo has nothing to say about it.
    userinfo = requests.get(
        f"{live_server.url}/userinfo",
        timeout=10,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert userinfo.status_code in (401, 403)


def test_client_credentials_refused_for_web_client(live_server, web_client):
    """A web client is not allowed client_credentials: unauthorized_client."""
    response = token_request(live_server, web_client, {"grant_type": "client_credentials"})
    _error(response, 400, "unauthorized_client")


def test_token_response_is_not_cached(live_server, web_client, agent):
    """Token responses carry Cache-Control: no-store and Pragma: no-cache (RFC 6749 5.1)."""
    callback, verifier = _code(live_server, web_client, agent)
    response = exchange(live_server, web_client, callback, verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Type"].startswith("application/json")
    for data in (
        {"grant_type": "authorization_code", "code": "nope", "redirect_uri": WEB_REDIRECT},
        {},
        {"grant_type": "refresh_token"},
    ):
        error = token_request(live_server, web_client, data)
        assert error.status_code == 400
        assert error.headers["Cache-Control"] == "no-store", data


def test_concurrent_exchange_of_one_code(live_server, web_client, agent):
    """Two simultaneous exchanges of one code: exactly one gets tokens."""
    callback, verifier = _code(live_server, web_client, agent)
    barrier = threading.Barrier(2)
    results: list[requests.Response] = []

    def run() -> None:
        barrier.wait()
        results.append(exchange(live_server, web_client, callback, verifier))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"
