"""private_key_jwt client authentication (RFC 7523 2.2 and 3, OIDC Core 9) with Authlib's
own client-side ``PrivateKeyJWT``."""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey

from tests.oauth.conftest import Registered, register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256", "use": "sig"})


@pytest.fixture
def service(live_server, key) -> Registered:
    """A service client that authenticates with a key pair it keeps; idp has the public half."""
    return register(
        live_server,
        name="Stock sync",
        client_type="service",
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )


def _session(service: Registered, key: ECKey, token_url: str, **auth: object) -> OAuth2Session:
    session = OAuth2Session(service.client_id, key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_url, alg="ES256", **auth))
    return session


def _assertion(service: Registered, key: ECKey, audience: str) -> dict[str, str]:
    signed = private_key_jwt_sign(key, service.client_id, audience, alg="ES256")
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


def _invalid_client(response: requests.Response) -> None:
    # RFC 6749 5.2: 401 is required only for HTTP Basic; 400 is fine for an assertion.
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"


def test_private_key_jwt_authenticates(live_server, service, key):
    """An assertion signed with the registered key authenticates the client."""
    token_url = f"{live_server.url}/token"
    session = _session(service, key, token_url)
    token = session.fetch_token(token_url, grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["access_token"]
    assert service.client_secret is None


def test_replayed_assertion_is_refused(live_server, service, key):
    """The same assertion, or another one with the same jti, works once only."""
    token_url = f"{live_server.url}/token"
    sent: list[bytes | str] = []
    session = _session(service, key, token_url, claims={"jti": "once-only"})
    session.hooks["response"].append(lambda response, **_: sent.append(response.request.body))
    session.fetch_token(token_url, grant_type="client_credentials")

    again = _session(service, key, token_url, claims={"jti": "once-only"})
    with pytest.raises(Exception, match="invalid_client"):
        again.fetch_token(token_url, grant_type="client_credentials")
    replay = requests.post(
        token_url,
        data=sent[0],
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _invalid_client(replay)


def test_assertion_of_a_failed_request_is_spent(live_server, service, key):
    """An assertion is used up by a request that failed after authenticating the client."""
    token_url = f"{live_server.url}/token"
    assertion = _assertion(service, key, token_url)
    bad = requests.post(
        token_url,
        timeout=10,
        data={"grant_type": "client_credentials", "scope": "admin", **assertion},
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_scope"
    replay = requests.post(
        token_url, timeout=10, data={"grant_type": "client_credentials", **assertion}
    )
    _invalid_client(replay)


def test_assertion_replayed_at_introspection_is_refused(live_server, service, key):
    """Introspection spends an assertion too: a second call with it is refused."""
    introspect = f"{live_server.url}/introspect"
    assertion = _assertion(service, key, live_server.url)
    first = requests.post(introspect, data={"token": "x", **assertion}, timeout=10)
    assert first.status_code == 200 and first.json() == {"active": False}
    second = requests.post(introspect, data={"token": "x", **assertion}, timeout=10)
    _invalid_client(second)


def test_assertion_signed_with_another_key_is_refused(live_server, service):
    """An assertion signed with a key the client did not register is invalid_client."""
    token_url = f"{live_server.url}/token"
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
    with pytest.raises(Exception, match="invalid_client"):
        _session(service, stranger, token_url).fetch_token(
            token_url, grant_type="client_credentials"
        )


def test_assertion_for_another_audience_is_refused(live_server, service, key):
    """An assertion made out to another server is refused (RFC 7523 3, item 3)."""
    assertion = _assertion(service, key, "https://other-idp.example/token")
    response = requests.post(
        f"{live_server.url}/token",
        timeout=10,
        data={"grant_type": "client_credentials", **assertion},
    )
    _invalid_client(response)


def test_secret_is_not_accepted_for_a_key_client(live_server, service):
    """A private_key_jwt client cannot fall back to a client secret or to no authentication."""
    for auth in ((service.client_id, "guess"), None):
        response = requests.post(
            f"{live_server.url}/token",
            timeout=10,
            auth=auth,
            data={"grant_type": "client_credentials", "client_id": service.client_id},
        )
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
