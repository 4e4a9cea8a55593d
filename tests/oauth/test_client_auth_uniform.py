"""A failed client authentication looks the same whatever the cause (no client enumeration).

RFC 6749 5.2 allows 401 ``invalid_client`` for every failure; idp answers an unknown
``client_id`` exactly as it answers a known one with a wrong secret, at every endpoint that
authenticates clients.
"""

from __future__ import annotations

import base64

import pytest

from idp.extensions import db
from idp.services import clients

ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "x"},
    "/revoke": {"token": "x"},
    "/device_authorization": {"scope": "openid"},
}


@pytest.fixture
def known(app) -> str:
    with app.app_context():
        client, _ = clients.create(name="Backend", client_type="service", redirect_uris=[])
        db.session.commit()
        return client.client_id


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _seen(response) -> tuple[int, dict, str | None, str | None]:
    """What a caller can observe of a refusal."""
    return (
        response.status_code,
        response.get_json(),
        response.headers.get("WWW-Authenticate"),
        response.headers.get("Cache-Control"),
    )


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_unknown_client_and_wrong_secret_answer_alike_in_basic(client, known, path):
    """HTTP Basic: an unknown client_id and a wrong secret get the same status, body, headers."""
    unknown = client.post(path, data=ENDPOINTS[path], headers=_basic("no-such-client", "s"))
    wrong = client.post(path, data=ENDPOINTS[path], headers=_basic(known, "wrong"))
    assert _seen(unknown) == _seen(wrong)
    status, body, challenge, cache = _seen(unknown)
    assert status == 401 and body["error"] == "invalid_client"
    assert challenge is not None and challenge.startswith("Basic ")
    assert cache == "no-store"
    assert known not in str(body) and "method" not in body["error_description"]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_unknown_client_and_wrong_secret_answer_alike_in_the_body(client, known, path):
    """client_secret_post: the same answer for an unknown client_id and a wrong secret."""
    unknown = client.post(path, data={**ENDPOINTS[path], "client_id": "nope", "client_secret": "s"})
    wrong = client.post(path, data={**ENDPOINTS[path], "client_id": known, "client_secret": "w"})
    assert _seen(unknown) == _seen(wrong)
    assert unknown.status_code == 401


def test_unknown_and_known_public_client_without_secret_alike(client, known):
    """A confidential client posing as public and an unknown id: the same refusal."""
    unknown = client.post("/token", data={"grant_type": "client_credentials", "client_id": "x"})
    posing = client.post("/token", data={"grant_type": "client_credentials", "client_id": known})
    assert _seen(unknown) == _seen(posing)


def test_assertion_for_unknown_and_known_client_alike(client, known):
    """private_key_jwt: an assertion naming an unknown client or a client without keys."""

    def assertion_for(client_id: str) -> dict[str, str]:
        header = base64.urlsafe_b64encode(b'{"alg":"ES256"}').rstrip(b"=").decode()
        claims = base64.urlsafe_b64encode(
            f'{{"iss":"{client_id}","sub":"{client_id}"}}'.encode()
        ).rstrip(b"=")
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": f"{header}.{claims.decode()}.c2ln",
        }

    unknown = client.post("/token", data=assertion_for("no-such-client"))
    without_keys = client.post("/token", data=assertion_for(known))
    assert _seen(unknown) == _seen(without_keys)
    assert unknown.status_code == 401
