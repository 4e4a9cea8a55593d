"""DPoP (RFC 9449): sender-constrained tokens, proofs checked rule by rule, nonces, replay."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from joserfc import jws
from joserfc.jwk import OctKey

from idp.extensions import db
from idp.models import Client
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.dpop_client import DPoPKey
from tests.oauth.support import TIMEOUT, answer, assert_refused, authorize_url, jwt_parts
from tests.oauth.test_par import _front, _params

KEY = DPoPKey()


def _post(
    live: LiveServer, path: str, client: Registered, data: dict[str, str], proof: str | None
) -> requests.Response:
    headers = {"DPoP": proof} if proof else {}
    if client.client_secret:
        auth: Any = (client.client_id, client.client_secret)
    else:
        auth = None
        data = {**data, "client_id": client.client_id}
    return requests.post(
        f"{live.url}{path}", data=data, headers=headers, auth=auth, timeout=TIMEOUT
    )


def _code(live: LiveServer, client: Registered, agent: UserAgent, **params: str):
    url, verifier = authorize_url(live, client, scope="openid offline_access", **params)
    callback = agent.go(url)
    return {
        "grant_type": "authorization_code",
        "code": answer(callback)["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier or "",
    }


def _token(live, client, agent, key: DPoPKey | None = KEY, **params) -> requests.Response:
    proof = key.proof("POST", f"{live.url}/token") if key else None
    return _post(live, "/token", client, _code(live, client, agent, **params), proof)


def _userinfo(live: LiveServer, token: str, scheme: str, proof: str | None) -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof:
        headers["DPoP"] = proof
    return requests.get(f"{live.url}/userinfo", headers=headers, timeout=TIMEOUT)


def test_discovery_advertises_dpop_algorithms(live_server):
    """Discovery lists the proof algorithms idp checks."""
    document = requests.get(
        f"{live_server.url}/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert {"ES256", "RS256", "PS256"} <= set(document["dpop_signing_alg_values_supported"])


def test_token_with_a_proof_is_dpop_bound(live_server, web_client, agent):
    """A proof at the token endpoint: token_type DPoP, cnf.jkt in the JWT and introspection."""
    response = _token(live_server, web_client, agent)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    _, claims = jwt_parts(body["access_token"])
    assert claims["cnf"] == {"jkt": KEY.jkt}
    seen = _post(live_server, "/introspect", web_client, {"token": body["access_token"]}, None)
    assert seen.json()["cnf"] == {"jkt": KEY.jkt}
    assert seen.json()["token_type"] == "DPoP"


def test_token_without_a_proof_stays_bearer(live_server, web_client, agent):
    """No proof, no binding: a Bearer token without cnf."""
    body = _token(live_server, web_client, agent, key=None).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in jwt_parts(body["access_token"])[1]


def test_userinfo_needs_the_proof_for_a_bound_token(live_server, web_client, agent):
    """UserInfo answers a bound token with a proof by its key and refuses every shortcut."""
    token = _token(live_server, web_client, agent).json()["access_token"]
    url = f"{live_server.url}/userinfo"
    good = _userinfo(live_server, token, "DPoP", KEY.proof("GET", url, access_token=token))
    assert good.status_code == 200, good.text
    assert good.json()["sub"]
    as_bearer = _userinfo(live_server, token, "Bearer", None)
    assert_refused(as_bearer, 401, "invalid_token")
    assert as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")
    assert_refused(_userinfo(live_server, token, "DPoP", None), 401, "invalid_token")
    other = DPoPKey().proof("GET", url, access_token=token)
    assert_refused(_userinfo(live_server, token, "DPoP", other), 401, "invalid_token")
    wrong_ath = KEY.proof("GET", url, access_token=token + "x")
    assert_refused(_userinfo(live_server, token, "DPoP", wrong_ath), 401, "invalid_dpop_proof")
    replayed = KEY.proof("GET", url, access_token=token)
    assert _userinfo(live_server, token, "DPoP", replayed).status_code == 200
    assert_refused(_userinfo(live_server, token, "DPoP", replayed), 401, "invalid_dpop_proof")


def test_bearer_token_sent_as_dpop_is_refused(live_server, web_client, agent):
    """A Bearer token presented with the DPoP scheme is not a DPoP token."""
    token = _token(live_server, web_client, agent, key=None).json()["access_token"]
    proof = KEY.proof("GET", f"{live_server.url}/userinfo", access_token=token)
    assert_refused(_userinfo(live_server, token, "DPoP", proof), 401, "invalid_token")


BAD_PROOFS = {
    "wrong method": {"htm": "GET"},
    "wrong url": {"htu": "https://elsewhere.example/token"},
    "too old": {"iat": int(time.time()) - 3600},
    "from the future": {"iat": int(time.time()) + 3600},
    "no jti": {"jti": None},
    "iat as text": {"iat": "now"},
}


@pytest.mark.parametrize("change", list(BAD_PROOFS.values()), ids=list(BAD_PROOFS))
def test_proof_claims_are_checked(live_server, web_client, agent, change):
    """htm, htu, iat and jti must name this request, now: invalid_dpop_proof otherwise."""
    proof = KEY.proof("POST", f"{live_server.url}/token", **change)
    data = _code(live_server, web_client, agent)
    assert_refused(_post(live_server, "/token", web_client, data, proof), 400, "invalid_dpop_proof")


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT"},
        {"alg": "HS256"},
        {"jwk": None},
        {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
        {"jwk": DPoPKey().public_jwk},
    ],
    ids=["typ", "symmetric alg", "no jwk", "secret jwk", "another key"],
)
def test_proof_header_is_checked(live_server, web_client, header):
    """typ dpop+jwt, an asymmetric alg, and a public jwk that verifies the signature."""
    url = f"{live_server.url}/token"
    if header.get("alg") == "HS256":
        proof = _hs256_proof(url)
    else:
        proof = KEY.proof("POST", url, header=header)
    data = {"grant_type": "client_credentials"}
    assert_refused(_post(live_server, "/token", web_client, data, proof), 400, "invalid_dpop_proof")


def _hs256_proof(url: str) -> str:
    key = OctKey.import_key("s" * 32)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct"}}
    body = f'{{"jti":"x","htm":"POST","htu":"{url}","iat":{int(time.time())}}}'
    return jws.serialize_compact(header, body.encode(), key, algorithms=["HS256"])


@pytest.mark.parametrize("value", ["not a jwt", "a.b.c", "x" * 9000])
def test_malformed_proof_is_refused(live_server, web_client, value):
    """Garbage in the DPoP header: invalid_dpop_proof, never a 5xx."""
    data = {"grant_type": "client_credentials"}
    assert_refused(_post(live_server, "/token", web_client, data, value), 400, "invalid_dpop_proof")


def test_two_proofs_are_refused(live_server, web_client):
    """RFC 9449 4.3: exactly one DPoP header."""
    url = f"{live_server.url}/token"
    response = live_server.app.test_client().post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=[("DPoP", KEY.proof("POST", url)), ("DPoP", KEY.proof("POST", url))],
        auth=(web_client.client_id, web_client.client_secret),
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_replayed_proof_is_refused_on_another_node(database_url, tmp_path, mailbox):
    """A proof's jti is remembered in the shared database: a second node refuses it too."""
    with (
        serve(database_url, tmp_path / "a", mailbox) as first,
        serve(database_url, tmp_path / "b", mailbox, create_schema=False) as second,
    ):
        client = register(first, name="Backend", client_type="service", redirect_uris=[])
        proof = KEY.proof("POST", f"{first.url}/token")
        data = {"grant_type": "client_credentials"}
        assert _post(first, "/token", client, data, proof).status_code == 200
        # The second node has its own port, so the same htu needs a proof for its URL: replay
        # the same jti there.
        jti = jwt_parts(proof)[1]["jti"]
        again = KEY.proof("POST", f"{second.url}/token", jti=jti)
        assert_refused(_post(second, "/token", client, data, again), 400, "invalid_dpop_proof")


def test_public_client_refresh_token_is_bound_to_the_key(live_server, native_client, agent):
    """RFC 9449 5: a native app's refresh token needs a proof by the same key."""
    first = _token(live_server, native_client, agent).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    url = f"{live_server.url}/token"
    assert_refused(_post(live_server, "/token", native_client, refresh, None), 400, "invalid_grant")
    other = DPoPKey().proof("POST", url)
    assert_refused(
        _post(live_server, "/token", native_client, refresh, other), 400, "invalid_grant"
    )
    good = _post(live_server, "/token", native_client, refresh, KEY.proof("POST", url))
    assert good.status_code == 200, good.text
    assert jwt_parts(good.json()["access_token"])[1]["cnf"] == {"jkt": KEY.jkt}


def test_confidential_client_refresh_token_is_not_bound(live_server, web_client, agent):
    """A confidential client authenticates itself: its refresh token works without DPoP."""
    first = _token(live_server, web_client, agent).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    response = _post(live_server, "/token", web_client, refresh, None)
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


def test_dpop_jkt_binds_the_code(live_server, web_client, agent):
    """RFC 9449 10: a code asked with dpop_jkt is exchanged only with a proof by that key."""
    data = _code(live_server, web_client, agent, dpop_jkt=KEY.jkt)
    url = f"{live_server.url}/token"
    assert_refused(_post(live_server, "/token", web_client, data, None), 400, "invalid_grant")
    assert_refused(
        _post(live_server, "/token", web_client, data, DPoPKey().proof("POST", url)),
        400,
        "invalid_grant",
    )
    good = _post(live_server, "/token", web_client, data, KEY.proof("POST", url))
    assert good.status_code == 200 and good.json()["token_type"] == "DPoP"


def test_malformed_dpop_jkt_is_refused(live_server, web_client):
    """A dpop_jkt that is no thumbprint goes back to the client as invalid_request."""
    url, _ = authorize_url(live_server, web_client, dpop_jkt="<not a thumbprint>")
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert answer(response.headers["Location"])["error"] == "invalid_request"


def test_proof_at_par_binds_the_code(live_server, web_client, agent):
    """RFC 9449 10.1: a DPoP proof on the pushed request binds the code to that key."""
    params, verifier = _params(web_client)
    proof = KEY.proof("POST", f"{live_server.url}/par")
    pushed = _post(live_server, "/par", web_client, params, proof)
    assert pushed.status_code == 201, pushed.text
    callback = agent.go(_front(live_server, web_client, pushed.json()["request_uri"]))
    data = {
        "grant_type": "authorization_code",
        "code": answer(callback)["code"],
        "redirect_uri": web_client.redirect_uri,
        "code_verifier": verifier,
    }
    assert_refused(_post(live_server, "/token", web_client, data, None), 400, "invalid_grant")
    good = _post(
        live_server, "/token", web_client, data, KEY.proof("POST", f"{live_server.url}/token")
    )
    assert good.status_code == 200 and good.json()["token_type"] == "DPoP"


def test_client_registered_for_dpop_must_send_proofs(live_server, web_client, agent):
    """dpop_bound_access_tokens (RFC 9449 5.2): a token request without a proof is refused."""
    with live_server.app.app_context():
        row = db.session.execute(
            db.select(Client).where(Client.client_id == web_client.client_id)
        ).scalar_one()
        row.software = {**(row.software or {}), "dpop_bound_access_tokens": True}
        db.session.commit()
    assert_refused(_token(live_server, web_client, agent, key=None), 400, "invalid_dpop_proof")
    assert _token(live_server, web_client, agent).status_code == 200


def test_server_nonces(database_url, tmp_path, mailbox):
    """IDP_DPOP_NONCE: a proof without the nonce gets use_dpop_nonce and the nonce to use,
    at the token endpoint (400) and at UserInfo (401 with a DPoP challenge)."""
    with serve(database_url, tmp_path / "instance", mailbox, DPOP_NONCE=True) as live:
        client = register(live, name="Backend", client_type="service", redirect_uris=[])
        url = f"{live.url}/token"
        data = {"grant_type": "client_credentials"}
        first = _post(live, "/token", client, data, KEY.proof("POST", url))
        assert_refused(first, 400, "use_dpop_nonce")
        nonce = first.headers["DPoP-Nonce"]
        assert_refused(
            _post(live, "/token", client, data, KEY.proof("POST", url, nonce="1.forged")),
            400,
            "use_dpop_nonce",
        )
        good = _post(live, "/token", client, data, KEY.proof("POST", url, nonce=nonce))
        assert good.status_code == 200, good.text
        assert good.headers["DPoP-Nonce"]


def test_userinfo_asks_for_the_nonce(database_url, tmp_path, mailbox):
    """With nonces on, UserInfo answers a proof without one with 401 use_dpop_nonce."""
    with serve(database_url, tmp_path / "instance", mailbox, DPOP_NONCE=True) as live:
        customer = make_customer(live.app, email="nonce@example.com")
        client = register(live, name="Shop", client_type="web", redirect_uris=[WEB_REDIRECT])
        agent = UserAgent(live.url, email=customer.email, password=PASSWORD)
        data = _code(live, client, agent)
        url = f"{live.url}/token"
        nonce = _post(live, "/token", client, data, KEY.proof("POST", url)).headers["DPoP-Nonce"]
        token = _post(live, "/token", client, data, KEY.proof("POST", url, nonce=nonce)).json()
        access = token["access_token"]
        userinfo = f"{live.url}/userinfo"
        without = _userinfo(live, access, "DPoP", KEY.proof("GET", userinfo, access_token=access))
        assert_refused(without, 401, "use_dpop_nonce")
        assert 'error="use_dpop_nonce"' in without.headers["WWW-Authenticate"]
        fresh = without.headers["DPoP-Nonce"]
        proof = KEY.proof("GET", userinfo, access_token=access, nonce=fresh)
        assert _userinfo(live, access, "DPoP", proof).status_code == 200


def test_rsa_proofs_are_accepted(live_server):
    """PS256 and RS256 keys work as well as ES256."""
    client = register(live_server, name="Backend", client_type="service", redirect_uris=[])
    for alg in ("PS256", "RS256"):
        key = DPoPKey(alg)
        proof = key.proof("POST", f"{live_server.url}/token")
        response = _post(live_server, "/token", client, {"grant_type": "client_credentials"}, proof)
        assert response.status_code == 200, response.text
        assert jwt_parts(response.json()["access_token"])[1]["cnf"] == {"jkt": key.jkt}
