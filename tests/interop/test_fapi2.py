"""openid-client as a FAPI 2.0 client of a live idp: PAR, DPoP, private_key_jwt, RFC 8707.

fapi2.mjs makes its client key and its DPoP key in Node; these tests register the public client
key, drive the browser, and check from Python what openid-client got: DPoP-bound tokens whose
``cnf.jkt`` is the thumbprint of Node's key (RFC 7638, computed here), the API audiences asked
for, and the errors idp answers when the profile is not followed. Each runs with the profile
server-wide (``IDP_PROFILE=fapi2``) and held by one client (``profile="fapi2"``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from idp.models import Customer
from tests.factories import PASSWORD, make_customer
from tests.interop.relying_party import run_fapi2_flow
from tests.live import LiveServer, serve
from tests.oauth.agent import UserAgent
from tests.oauth.conftest import WEB_REDIRECT, Registered, register
from tests.oauth.support import jwt_parts

pytestmark = pytest.mark.usefixtures("node_modules")

SCOPE = "openid profile email offline_access"
ORDERS = "https://api.bank.example/orders"
LOYALTY = "https://api.bank.example/loyalty"
PAYMENTS = "https://payments.example/"
PROFILES = ["server", "client"]


@dataclass(frozen=True)
class Bank:
    """A live idp holding fapi2 clients to the profile, server-wide or one by one."""

    live: LiveServer
    per_client: bool
    customer: Customer
    agent: UserAgent

    def register_fapi2(self, keys: dict[str, Any]) -> dict[str, Any]:
        """The client fapi2.mjs asked for: its public key, two APIs it may reach."""
        client = register(
            self.live,
            name="Bank",
            client_type="web",
            redirect_uris=[WEB_REDIRECT],
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [keys["client_jwk"]]},
            resources=[ORDERS, LOYALTY],
            profile="fapi2" if self.per_client else None,
        )
        return {"client_id": client.client_id, "client_secret": None}

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "issuer": self.live.url,
            "redirect_uri": WEB_REDIRECT,
            "scope": SCOPE,
            "auth_method": "private_key_jwt",
            **extra,
        }

    def sign_in(self, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return run_fapi2_flow(self.settings(**extra), self.register_fapi2, self.agent.go)


@pytest.fixture
def bank(request, database_url, tmp_path, mailbox) -> Iterator[Bank]:
    """``request.param``: (``server`` or ``client``, whether DPoP nonces are on)."""
    profile, nonces = request.param
    overrides: dict[str, Any] = {"DPOP_NONCE": nonces}
    if profile == "server":
        overrides["PROFILE"] = "fapi2"
    with serve(database_url, tmp_path / "instance", mailbox, **overrides) as live:
        customer = make_customer(
            live.app, email="saver@example.com", given_name="Ana", family_name="Lopez"
        )
        agent = UserAgent(live.url, email=customer.email, password=PASSWORD)
        yield Bank(live, profile == "client", customer, agent)


def each_profile(nonces: bool = False) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "bank", [(p, nonces) for p in PROFILES], indirect=True, ids=PROFILES
    )


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 3.2: SHA-256 of the required EC members, sorted, without whitespace."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def result_of(message: dict[str, Any]) -> dict[str, Any]:
    assert "result" in message, f"openid-client did not complete the FAPI 2.0 flow: {message}"
    return message["result"]


def refusal(message: dict[str, Any]) -> dict[str, Any]:
    assert "error" in message, f"openid-client got what idp must refuse: {message}"
    return message["error"]


def paths(exchanges: list[dict[str, Any]]) -> list[str]:
    """The endpoints openid-client called, without its JWKS fetch (ID token signatures)."""
    return [exchange["path"] for exchange in exchanges if exchange["path"] != "/jwks"]


@pytest.mark.parametrize(
    "bank",
    [(profile, nonces) for profile in PROFILES for nonces in (False, True)],
    indirect=True,
    ids=[f"{profile}-{n}" for profile in PROFILES for n in ("no-nonce", "nonce")],
)
def test_fapi2_sign_in(bank):
    """PAR, private_key_jwt and DPoP (and its nonces) give tokens bound to Node's DPoP key."""
    keys, message = bank.sign_in()
    result = result_of(message)
    jkt = thumbprint(keys["dpop_jwk"])
    client_id = result["claims"]["aud"]
    assert result["issuer"] == bank.live.url
    assert result["token_type"].lower() == "dpop"

    header, access = jwt_parts(result["access_token"])
    assert header["typ"] == "at+jwt"
    assert access["cnf"] == {"jkt": jkt}
    assert access["sub"] == bank.customer.public_id and access["client_id"] == client_id
    assert access["aud"] == bank.live.url

    claims = result["claims"]
    assert claims["iss"] == bank.live.url and claims["sub"] == bank.customer.public_id
    assert claims["azp"] == client_id and claims["amr"] == ["pwd"]
    assert set(result["scope"].split()) == set(SCOPE.split())

    info = result["userinfo"]["value"]
    assert info["sub"] == bank.customer.public_id and info["email"] == "saver@example.com"
    assert info["given_name"] == "Ana"
    introspected = result["introspection"]["value"]
    assert introspected["active"] is True and introspected["cnf"] == {"jkt": jkt}
    assert introspected["client_id"] == client_id and introspected["token_type"] == "DPoP"

    refreshed = result["refreshed"]
    assert refreshed["token_type"].lower() == "dpop" and refreshed["rotated"] is True
    assert jwt_parts(refreshed["access_token"])[1]["cnf"] == {"jkt": jkt}
    assert refreshed["claims"]["sub"] == bank.customer.public_id

    exchanges = result["exchanges"]
    # Client authentication and the proof went with every back-channel request.
    for exchange in exchanges:
        if exchange["path"] in ("/par", "/token", "/introspect"):
            assert exchange["client_assertion"] is True, exchange
        if exchange["path"] in ("/par", "/token", "/userinfo"):
            assert exchange["proof"] is True, exchange
    asked_nonce = [e for e in exchanges if e["error"] == "use_dpop_nonce"]
    if bank.live.app.config["DPOP_NONCE"]:
        # RFC 9449 8: the first proof has no nonce and is refused; the retry carries it, and
        # every later proof reuses it.
        assert paths(exchanges[:2]) == ["/par", "/par"]
        assert asked_nonce == [exchanges[0]] and exchanges[0]["status"] == 400
        assert exchanges[0]["dpop_nonce_header"] is True
        assert all(e["proof_nonce"] for e in exchanges[1:] if e["proof"])
    else:
        assert asked_nonce == []
        assert not any(e["proof_nonce"] or e["dpop_nonce_header"] for e in exchanges)
        assert paths(exchanges) == ["/par", "/token", "/userinfo", "/introspect", "/token"]


@each_profile()
def test_resource_indicators(bank, subtests):
    """A registered API becomes the token's aud; one not registered (or widening) is refused."""
    for where, extra in [("par", {"resource": [ORDERS]}), ("token", {"token_resource": ORDERS})]:
        with subtests.test(f"registered resource at {where}"):
            _, message = bank.sign_in(**extra)
            result = result_of(message)
            access = jwt_parts(result["access_token"])[1]
            assert access["aud"] == ORDERS and access["cnf"]["jkt"]
            # README: tokens for an API are not accepted by UserInfo.
            assert result["userinfo"]["error"]["error"] == "invalid_token"
            assert result["userinfo"]["error"]["status"] == 401
            assert result["introspection"]["value"]["aud"] == ORDERS
            refreshed = jwt_parts(result["refreshed"]["access_token"])[1]
            assert refreshed["aud"] == (ORDERS if where == "par" else bank.live.url)

    with subtests.test("unregistered resource at /par"):
        _, message = bank.sign_in(resource=[PAYMENTS])
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_target", 400)
        assert paths(error["exchanges"]) == ["/par"]

    with subtests.test("unregistered resource at /token"):
        _, message = bank.sign_in(token_resource=PAYMENTS)
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_target", 400)
        assert paths(error["exchanges"]) == ["/par", "/token"]

    with subtests.test("token request wider than the code"):
        _, message = bank.sign_in(resource=[ORDERS], token_resource=LOYALTY)
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_target", 400)


@each_profile()
def test_profile_violations_are_refused(bank, subtests):
    """Not pushed, no DPoP proof, or a client secret: openid-client reports idp's refusal."""
    with subtests.test("plain authorization request, not pushed"):
        _, message = bank.sign_in(par=False)
        error = refusal(message)
        # The authorization response carried the error; openid-client reports it as such.
        assert error["name"] == "AuthorizationResponseError", error
        assert error["error"] == "invalid_request"
        assert error["exchanges"] == []

    with subtests.test("no DPoP proof anywhere"):
        _, message = bank.sign_in(dpop="never")
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_dpop_proof", 400)
        assert [(e["path"], e["proof"], e["status"]) for e in error["exchanges"]] == [
            ("/par", False, 201),
            ("/token", False, 400),
        ]

    with subtests.test("proof at /par, none at /token"):
        _, message = bank.sign_in(dpop="par_only")
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_grant", 400)

    with subtests.test("client_secret_basic instead of private_key_jwt"):
        if bank.per_client:
            # A fapi2 client cannot hold a secret (tests/oauth/test_fapi2.py): it makes one up.
            def secret_client(keys: dict[str, Any]) -> dict[str, Any]:
                return {**bank.register_fapi2(keys), "client_secret": "made-up"}
        else:
            # Registered with a secret before the server switched to fapi2: the real secret.
            def secret_client(keys: dict[str, Any]) -> dict[str, Any]:
                client: Registered = register(
                    bank.live, name="Old shop", client_type="web", redirect_uris=[WEB_REDIRECT]
                )
                assert client.client_secret
                return {"client_id": client.client_id, "client_secret": client.client_secret}

        _, message = run_fapi2_flow(
            bank.settings(auth_method="client_secret_basic"), secret_client, bank.agent.go
        )
        error = refusal(message)
        assert (error["error"], error["status"]) == ("invalid_client", 401)
        assert paths(error["exchanges"]) == ["/par"]
