"""private_key_jwt with keys published at ``jwks_uri`` (RFC 7523 2.2, RFC 7591 2): fetched and
kept, fetched again for an unknown ``kid`` (OIDC Core 10.1.1) at most every 30 s, and every
failed or refused fetch an ``invalid_client``, never a server error.

The client's JWK Set is served by a real HTTP server on 127.0.0.1 that counts what it receives;
the clock and the name resolver (``socket.getaddrinfo``) are swapped only where time must pass
or a name must point somewhere without DNS.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey

from idp.errors import ValidationError
from idp.extensions import db
from idp.oauth import client_keys
from idp.oauth.client_keys import MAX_JWKS_BYTES, REFRESH_INTERVAL, ClientKeys
from idp.services import client_metadata, clients
from tests.live import LiveServer, serve
from tests.mailbox import Mailbox
from tests.oauth.conftest import register
from tests.oauth.jwks_server import Clock, JWKSServer, https_server, tls_files

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT = 1  # IDP_JWKS_FETCH_TIMEOUT for these tests: the slow servers outlast it
LOGGER = "idp.oauth.client_keys"


def _key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[LiveServer]:
    """idp over HTTP with a one-second JWKS fetch timeout."""
    with serve(database_url, tmp_path / "instance", mailbox, JWKS_FETCH_TIMEOUT=TIMEOUT) as server:
        yield server


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def clock(live_server: LiveServer) -> Clock:
    """idp's kept JWK Sets on a clock the test moves."""
    clock = Clock()
    live_server.app.extensions[client_keys.EXTENSION] = ClientKeys(clock=clock)
    return clock


def _register(live: LiveServer, jwks_uri: str) -> str:
    return register(
        live,
        name="Stock sync",
        client_type="service",
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=jwks_uri,
    ).client_id


def _set_jwks_uri(live: LiveServer, client_id: str, jwks_uri: str) -> None:
    """Write the URI straight into the row, as one stored before today's registration rule."""
    with live.app.app_context():
        client = clients.get(client_id)
        assert client is not None
        client.jwks_uri = jwks_uri
        db.session.commit()


def _token(live: LiveServer, client_id: str, key: ECKey) -> requests.Response:
    token_url = f"{live.url}/token"
    assertion = private_key_jwt_sign(
        key, client_id, token_url, alg="ES256", header={"kid": key.kid}
    )
    return requests.post(
        token_url,
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def _ok(response: requests.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def _invalid_client(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


# Fetching and keeping -------------------------------------------------------------------------


def test_published_keys_authenticate_and_are_fetched_once(live_server, jwks_server):
    """A client whose keys are at its jwks_uri gets tokens; the set is fetched once for many."""
    k1 = _key("k1")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url())
    for _ in range(3):
        _ok(_token(live_server, client_id, k1))
    assert jwks_server.paths == ["/jwks"]


def test_concurrent_assertions_share_one_fetch(live_server, jwks_server):
    """Assertions arriving together while the set is being fetched wait for that one fetch."""
    k1 = _key("k1")
    jwks_server.publish(k1)
    jwks_server.delay = 0.3
    client_id = _register(live_server, jwks_server.url())
    # idp makes its own signing keys on first use; made now, they are not part of the race.
    requests.get(f"{live_server.url}/jwks", timeout=10).raise_for_status()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: _token(live_server, client_id, k1), range(4)))
    for response in responses:
        _ok(response)
    assert jwks_server.fetches == 1


def test_kept_set_expires_after_the_ttl(live_server, jwks_server, clock):
    """The kept set is used for IDP_JWKS_CACHE_TTL seconds, then fetched again."""
    k1 = _key("k1")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url())
    _ok(_token(live_server, client_id, k1))
    clock.now += live_server.app.config["JWKS_CACHE_TTL"] - 1
    _ok(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 1
    clock.now += 2
    _ok(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 2


def test_rotated_key_is_fetched_on_unknown_kid(live_server, jwks_server, clock):
    """A new kid not in the kept set makes idp fetch the set again (key rotation)."""
    k1, k2 = _key("k1"), _key("k2")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url())
    _ok(_token(live_server, client_id, k1))
    clock.now += REFRESH_INTERVAL
    jwks_server.publish(k1, k2)
    _ok(_token(live_server, client_id, k2))
    _ok(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 2


def test_unknown_kid_refresh_is_rate_limited(live_server, jwks_server, clock, caplog):
    """Unknown kids fetch the set again at most once per REFRESH_INTERVAL seconds."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    k1, k2, k3 = _key("k1"), _key("k2"), _key("k3")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url())
    _ok(_token(live_server, client_id, k1))
    jwks_server.publish(k2)
    for _ in range(5):  # an attacker's stream of made-up kids costs idp no fetch
        _invalid_client(_token(live_server, client_id, _key("made-up")))
    clock.now += REFRESH_INTERVAL - 1
    _invalid_client(_token(live_server, client_id, k2))
    assert jwks_server.fetches == 1
    assert "kid 'k2' is not in the JWK Set" in caplog.text

    clock.now += 1
    _ok(_token(live_server, client_id, k2))
    assert jwks_server.fetches == 2
    jwks_server.publish(k3)
    clock.now += REFRESH_INTERVAL / 2
    _invalid_client(_token(live_server, client_id, k3))
    assert jwks_server.fetches == 2


def test_failed_fetch_is_not_retried_at_once(live_server, jwks_server, clock):
    """After a failed fetch, assertions are refused without fetching until the interval ends."""
    k1 = _key("k1")
    jwks_server.publish(k1)
    jwks_server.behaviour = "404"
    client_id = _register(live_server, jwks_server.url())
    for _ in range(3):
        _invalid_client(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 1
    jwks_server.behaviour = "jwks"
    clock.now += REFRESH_INTERVAL
    _ok(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 2


def test_changed_jwks_uri_is_fetched_afresh(live_server, jwks_server):
    """A client that moves its jwks_uri is checked against the new URI's set at once."""
    k1, k2 = _key("k1"), _key("k2")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url())
    _ok(_token(live_server, client_id, k1))
    jwks_server.publish(k2)
    with live_server.app.app_context():
        client = clients.get(client_id)
        assert client is not None
        clients.update(client, jwks_uri=jwks_server.url(path="/keys-v2"))
        db.session.commit()
    _ok(_token(live_server, client_id, k2))
    assert jwks_server.paths == ["/jwks", "/keys-v2"]


def test_localhost_jwks_uri_over_http(live_server, jwks_server):
    """http://localhost is a loopback host too: fetched once it resolves to loopback."""
    k1 = _key("k1")
    jwks_server.publish(k1)
    client_id = _register(live_server, jwks_server.url(host="localhost"))
    _ok(_token(live_server, client_id, k1))
    assert jwks_server.fetches == 1


# Failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("redirect", "answered HTTP 302 (a redirect: idp follows none)"),
        ("404", "answered HTTP 404"),
        ("big", f"bytes, more than {MAX_JWKS_BYTES}"),
        ("big-unannounced", f"sent more than {MAX_JWKS_BYTES} bytes"),
        ("not-json", "did not send JSON"),
        ("gzip", "sent a compressed body"),
        ("slow", "took longer than IDP_JWKS_FETCH_TIMEOUT"),
        ("trickle", "took longer than IDP_JWKS_FETCH_TIMEOUT"),
    ],
)
def test_failed_fetch_is_invalid_client(live_server, jwks_server, caplog, behaviour, reason):
    """A redirect, an error status, too big a body, not JSON, a slow server: 401, reason logged."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    k1 = _key("k1")
    jwks_server.publish(k1)
    jwks_server.behaviour = behaviour
    client_id = _register(live_server, jwks_server.url())
    started = time.monotonic()
    _invalid_client(_token(live_server, client_id, k1))
    assert time.monotonic() - started < TIMEOUT + 2
    assert jwks_server.paths == ["/jwks"]  # never "/moved": the redirect was not followed
    assert reason in caplog.text, caplog.text


@pytest.mark.parametrize(
    "document",
    [
        {"keys": []},
        {"issuer": "https://shop.example"},
        [1, 2, 3],
        # A symmetric key published for all to read would let anyone sign as the client.
        {"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "k1"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "bad", "y": "bad", "kid": "k1"}]},
    ],
)
def test_document_that_is_not_a_public_jwk_set_is_refused(
    live_server, jwks_server, caplog, document
):
    """JSON that is not a JWK Set of public keys is refused like a failed fetch."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    jwks_server.document = document
    client_id = _register(live_server, jwks_server.url())
    _invalid_client(_token(live_server, client_id, _key("k1")))
    assert "did not send a public JWK Set" in caplog.text


def test_deeply_nested_json_is_refused(live_server, jwks_server, caplog):
    """JSON nested deeper than the parser goes is a failed fetch, not a server error."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client_id = _register(live_server, jwks_server.url())

    def nested(handler: BaseHTTPRequestHandler) -> None:
        body = b"[" * 30000 + b"]" * 30000
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    jwks_server.answer = nested  # type: ignore[method-assign]
    _invalid_client(_token(live_server, client_id, _key("k1")))
    assert "did not send JSON" in caplog.text


# Refused addresses (server-side request forgery) ----------------------------------------------


def _resolving(mapping: dict[str, list[str]]) -> Any:
    """A getaddrinfo that answers these names without DNS; IP literals resolve as usual."""

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in mapping:
            return socket.getaddrinfo(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
            for address in mapping[host]
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["169.254.169.254"], "169.254.169.254 is a link-local address"),
        (["10.0.0.1"], "10.0.0.1 is a private address"),
        # The name points at the test's own JWKS server: a connection would be counted there.
        (["127.0.0.1"], "127.0.0.1 is a loopback address"),
        (["93.184.215.14", "192.168.1.10"], "192.168.1.10 is a private address"),
        (["::ffff:127.0.0.1"], "::ffff:127.0.0.1 is a loopback address"),
    ],
)
def test_name_resolving_to_an_internal_address_is_never_connected_to(
    live_server, jwks_server, caplog, addresses, reason
):
    """A jwks_uri whose name resolves to any internal address is refused before connecting."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    k1 = _key("k1")
    jwks_server.publish(k1)
    resolve = _resolving({"keys.shop.example": addresses})
    live_server.app.extensions[client_keys.EXTENSION] = ClientKeys(getaddrinfo=resolve)
    client_id = _register(live_server, jwks_server.url(host="keys.shop.example", scheme="https"))
    _invalid_client(_token(live_server, client_id, k1))
    assert jwks_server.connections == 0
    assert f"keys.shop.example resolves to {reason}; not fetched" in caplog.text


@pytest.mark.parametrize(
    ("jwks_uri", "reason"),
    [
        ("https://10.0.0.1/jwks", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:a9fe:a9fe]/jwks", "::ffff:a9fe:a9fe is a link-local address"),
        ("http://keys.shop.example/jwks", "must use https"),
    ],
)
def test_stored_uri_breaking_the_rule_is_refused_without_a_fetch(
    live_server, jwks_server, caplog, jwks_uri, reason
):
    """A row stored before the registration rule is held to it at fetch time, before DNS."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    asked: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        return socket.getaddrinfo(host, *args, **kwargs)

    live_server.app.extensions[client_keys.EXTENSION] = ClientKeys(getaddrinfo=getaddrinfo)
    client_id = _register(live_server, jwks_server.url())
    _set_jwks_uri(live_server, client_id, jwks_uri)
    _invalid_client(_token(live_server, client_id, _key("k1")))
    assert asked == [] and jwks_server.fetches == 0
    assert reason in caplog.text, caplog.text


@pytest.mark.parametrize(
    "uri",
    [
        "https://keys.shop.example/jwks",
        "https://keys.shop.example:8443/.well-known/jwks.json?v=2",
        "https://93.184.215.14/jwks",
        "https://localhost/jwks",
        "http://127.0.0.1:8080/jwks",
        "http://[::1]:8080/jwks",
        "http://localhost:8080/jwks",
    ],
)
def test_registration_accepts_https_and_loopback_http(app, uri):
    """RFC 7591 2 jwks_uri: https anywhere public, http only on 127.0.0.1, [::1] or localhost
    (the test app's issuer is http://localhost:5000, a development setup)."""
    with app.app_context():
        assert client_metadata.validate_jwks_uri(uri) == uri


@pytest.mark.parametrize(
    "uri", ["https://localhost/jwks", "http://127.0.0.1:8080/jwks", "http://[::1]:8080/jwks"]
)
def test_deployed_issuer_refuses_loopback(app, uri):
    """An idp whose issuer is a public https URL never fetches from its own machine: whatever
    listens there (an admin port, a metrics endpoint) is not a client's key server."""
    app.config["ISSUER"] = "https://login.shop.example"
    with app.app_context(), pytest.raises(ValidationError, match="names this machine"):
        client_metadata.validate_jwks_uri(uri)
    with app.app_context(), pytest.raises(client_keys.KeysUnavailable, match="names this machine"):
        client_keys.fetch(uri, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://keys.shop.example/jwks", "must use https"),
        ("http://127.1/jwks", "must use https"),  # a loopback spelling is not a loopback host
        ("ftp://keys.shop.example/jwks", "must use https"),
        ("https://10.0.0.1/jwks", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:a9fe:a9fe]/jwks", "is a link-local address"),
        ("https://127.0.0.2/jwks", "127.0.0.2 is a loopback address"),
        ("https://[fe80::1%25eth0]/jwks", "is a link-local address"),
        ("https://user:pw@keys.shop.example/jwks", "user name or password"),
        ("https:///jwks", "must have a host"),
        ("https://keys.shop.example:99999/jwks", "not a valid URI"),
        ("https://keys.shop.example/jwks#k", "fragment"),
    ],
)
def test_registration_refuses_what_would_not_be_fetched(uri, reason):
    """The registration rule refuses the URIs the fetch would refuse, with a reason."""
    with pytest.raises(ValidationError) as refused:
        client_metadata.validate_jwks_uri(uri)
    assert reason in refused.value.errors["jwks_uri"]


def test_client_registration_applies_the_jwks_uri_rule(app):
    """Creating a client (the CLI's and RFC 7591's one door) refuses an internal jwks_uri."""
    with app.app_context(), pytest.raises(ValidationError, match="private address"):
        clients.create(
            name="S",
            client_type="service",
            redirect_uris=[],
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri="https://10.0.0.1/jwks",
        )


# https ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("certified", "trusted", "works"),
    [
        (["localhost", "127.0.0.1"], True, True),
        # Connected to the checked address, the certificate is still checked for the name.
        (["keys.other.example"], True, False),
        # The system's authorities are used by default; a test authority is not one of them.
        (["localhost", "127.0.0.1"], False, False),
    ],
)
def test_https_checks_the_certificate_for_the_host_name(
    live_server, tmp_path, caplog, certified, trusted, works
):
    """https fetches connect to the checked address yet verify the certificate for the name."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    authority, chain = tls_files(tmp_path, certified)
    server = https_server(chain)
    try:
        k1 = _key("k1")
        server.publish(k1)
        tls = ssl.create_default_context(cafile=authority) if trusted else None
        live_server.app.extensions[client_keys.EXTENSION] = ClientKeys(tls=tls)
        client_id = _register(live_server, server.url(host="localhost", scheme="https"))
        response = _token(live_server, client_id, k1)
        if works:
            _ok(response)
            assert server.fetches == 1
        else:
            _invalid_client(response)
            assert server.fetches == 0 and "could not connect" in caplog.text
    finally:
        server.close()
