"""The FAPI 2.0 Security Profile: PAR + PKCE + DPoP + private_key_jwt, 60-second codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import AuthorizationCode
from idp.services import clients
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.dpop_client import DPoPKey
from tests.oauth.support import TIMEOUT, answer
from tests.oauth.test_par import _front, _params
from tests.oauth.test_registration import WEB_METADATA, mint, post

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def fapi(database_url, tmp_path, mailbox):
    """idp with IDP_PROFILE=fapi2 and codes configured longer than FAPI allows."""
    with serve(
        database_url, tmp_path / "instance", mailbox, PROFILE="fapi2", CODE_LIFETIME=300
    ) as live:
        yield live


@pytest.fixture
def signing_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "bank-1", "alg": "ES256"})


def _bank(live: LiveServer, key: ECKey, **kwargs: object) -> Registered:
    return register(
        live,
        name="Bank",
        client_type="web",
        redirect_uris=[WEB_REDIRECT],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
        **kwargs,
    )


def _assertion(client: Registered, key: ECKey, live: LiveServer) -> dict[str, str]:
    # FAPI 2.0 5.3.2.1 item 8: the issuer is the audience the server must accept.
    signed = private_key_jwt_sign(key, client.client_id, live.url, alg="ES256")
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


def _send(live, path, data, proof=None) -> requests.Response:
    headers = {"DPoP": proof} if proof else {}
    return requests.post(f"{live.url}{path}", data=data, headers=headers, timeout=TIMEOUT)


def _push(live, client, key, dpop_key, **changes) -> requests.Response:
    params, _ = _params(client)
    params.update(changes)
    params = {k: v for k, v in params.items() if v is not None}
    proof = dpop_key.proof("POST", f"{live.url}/par")
    return _send(live, "/par", {**params, **_assertion(client, key, live)}, proof)


def test_discovery_advertises_only_what_fapi_allows(fapi):
    """Discovery says PAR is required and private_key_jwt is the only client authentication."""
    document = requests.get(f"{fapi.url}/.well-known/openid-configuration", timeout=10).json()
    assert document["require_pushed_authorization_requests"] is True
    assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert document["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "DPoP" not in document.get("token_endpoint_auth_methods_supported", [])


def test_fapi2_client_signs_in(fapi, signing_key):
    """PAR with a DPoP proof and an assertion, the browser, a DPoP-bound token; 60 s codes."""
    customer = make_customer(fapi.app, email="saver@example.com")
    client = _bank(fapi, signing_key)
    dpop_key = DPoPKey()
    params, verifier = _params(client)
    proof = dpop_key.proof("POST", f"{fapi.url}/par")
    pushed = _send(fapi, "/par", {**params, **_assertion(client, signing_key, fapi)}, proof)
    assert pushed.status_code == 201, pushed.text
    agent = UserAgent(fapi.url, email=customer.email, password=PASSWORD)
    callback = agent.go(_front(fapi, client, pushed.json()["request_uri"]))
    with fapi.app.app_context():
        code = db.session.execute(db.select(AuthorizationCode)).scalar_one()
        assert code.expires_at - code.created_at <= timedelta(seconds=60)
        db.session.remove()
    data = {
        "grant_type": "authorization_code",
        "code": answer(callback)["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
        **_assertion(client, signing_key, fapi),
    }
    token = _send(fapi, "/token", data, dpop_key.proof("POST", f"{fapi.url}/token"))
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "DPoP"


def test_front_channel_request_is_refused(fapi, signing_key):
    """A request in the URL, not pushed, goes back with invalid_request."""
    client = _bank(fapi, signing_key)
    params, _ = _params(client)
    response = requests.get(
        f"{fapi.url}/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert answer(response.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "changes",
    [{"code_challenge": None, "code_challenge_method": None}, {"redirect_uri": None}],
    ids=["no PKCE", "no redirect_uri"],
)
def test_push_needs_pkce_and_redirect_uri(fapi, signing_key, changes):
    """FAPI 2.0 5.3.2.2: PKCE and redirect_uri in every pushed request."""
    client = _bank(fapi, signing_key)
    response = _push(fapi, client, signing_key, DPoPKey(), **changes)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_token_without_dpop_is_refused(fapi, signing_key):
    """Sender-constrained tokens only: client_credentials without a proof is refused."""
    client = register(
        fapi,
        name="Batch",
        client_type="service",
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [signing_key.as_dict(private=False)]},
    )
    data = {"grant_type": "client_credentials", **_assertion(client, signing_key, fapi)}
    refused = _send(fapi, "/token", data)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    again = {"grant_type": "client_credentials", **_assertion(client, signing_key, fapi)}
    proof = DPoPKey().proof("POST", f"{fapi.url}/token")
    assert _send(fapi, "/token", again, proof).json()["token_type"] == "DPoP"


def test_client_secret_is_refused(fapi):
    """A client registered with a secret before the switch cannot authenticate with it."""
    client = register(fapi, name="Old", client_type="service", redirect_uris=[])
    response = requests.post(
        f"{fapi.url}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_registration_refuses_a_secret_client(fapi):
    """Dynamic registration under FAPI 2.0 accepts private_key_jwt clients only."""
    response = post(fapi, mint(fapi), WEB_METADATA)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert "private_key_jwt" in response.json()["error_description"]


def test_one_client_held_to_fapi2(live_server, signing_key):
    """On an oidc server, a client with profile fapi2 must push; others need not."""
    client = _bank(live_server, signing_key, profile="fapi2")
    params, _ = _params(client)
    plain = requests.get(
        f"{live_server.url}/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert answer(plain.headers["Location"])["error"] == "invalid_request"
    assert _push(live_server, client, signing_key, DPoPKey()).status_code == 201


def test_fapi2_profile_needs_private_key_jwt(live_server):
    """A fapi2 client with a secret is refused at registration by the operator."""
    with live_server.app.app_context(), pytest.raises(ValidationError) as refused:
        clients.create(
            name="Bank", client_type="web", redirect_uris=[WEB_REDIRECT], profile="fapi2"
        )
    assert "token_endpoint_auth_method" in refused.value.errors
