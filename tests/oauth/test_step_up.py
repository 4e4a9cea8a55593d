"""Step-up and MFA policy over the real protocol: acr_values, an essential acr claim, a client
that requires MFA, prompt=none and max_age, checked in ID tokens read by Authlib's client."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from tests.factories import enroll_totp, totp_code
from tests.oauth.conftest import register
from tests.oauth.support import authorize_url, jwt_parts
from tests.oauth.test_code_flow import authorize, discover, verify_id_token
from tests.oauth.test_device_flow import decide, poll, start, type_code
from tests.oauth.test_registration import (
    WEB_METADATA,
    as_registered,
    manage,
    mint,
    post,
    registered_web,
)

MFA = "urn:idp:acr:mfa"
PWD = "urn:idp:acr:pwd"


def id_token_claims(live, client, agent, **params) -> dict:
    meta = discover(live)
    session, callback, verifier, nonce = authorize(live, client, agent, scope="openid", **params)
    assert "code" in parse_qs(urlsplit(callback).query), callback
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    return verify_id_token(live, token["id_token"], client.client_id, nonce)


@pytest.fixture
def totp_agent(live_server, agent, customer):
    """The customer has an authenticator app, and the agent types its codes when asked."""
    secret = enroll_totp(live_server.app, customer)
    steps = iter(range(0, 2))
    agent.second_factor = lambda: totp_code(secret, next(steps))
    return agent


def test_discovery_advertises_both_levels(live_server):
    assert discover(live_server)["acr_values_supported"] == [PWD, MFA]


def test_password_only_customer_gets_pwd(live_server, web_client, agent):
    claims = id_token_claims(live_server, web_client, agent)
    assert claims["acr"] == PWD and claims["amr"] == ["pwd"]


def test_customer_with_a_second_factor_always_gets_mfa(live_server, web_client, totp_agent):
    claims = id_token_claims(live_server, web_client, totp_agent)
    assert claims["acr"] == MFA and claims["amr"] == ["pwd", "otp", "mfa"]


def test_acr_values_mfa_steps_up_an_existing_password_session(
    live_server, web_client, agent, customer
):
    """Signed in with the password for one app, a second app asking for MFA gets the code page;
    after it, the ID token says mfa and auth_time moved on."""
    first = id_token_claims(live_server, web_client, agent)
    assert first["acr"] == PWD
    secret = enroll_totp(live_server.app, customer)
    agent.second_factor = lambda: totp_code(secret)
    claims = id_token_claims(live_server, web_client, agent, acr_values=MFA)
    assert claims["acr"] == MFA and "otp" in claims["amr"] and "mfa" in claims["amr"]
    assert claims["auth_time"] >= first["auth_time"]
    assert claims["sid"] == first["sid"]
    assert any("Second step" in page for page in agent.pages)


def test_acr_values_mfa_without_a_factor_offers_to_set_one_up(live_server, web_client, agent):
    """No code is issued on a password alone: the customer is asked to add a second step."""
    url, _verifier = authorize_url(live_server, web_client, acr_values=MFA)
    landed = agent.go(url)
    assert urlsplit(landed).path == "/login/verify"
    assert "code=" not in landed
    assert "/account/security/totp" in agent.last_page


def test_weakest_acceptable_value_wins(live_server, web_client, agent):
    """acr_values lists acceptable values: pwd among them means no step-up is forced."""
    claims = id_token_claims(live_server, web_client, agent, acr_values=f"{MFA} {PWD}")
    assert claims["acr"] == PWD


def test_unknown_acr_values_are_ignored(live_server, web_client, agent):
    claims = id_token_claims(live_server, web_client, agent, acr_values="urn:other:gold")
    assert claims["acr"] == PWD


def test_essential_acr_claim_forces_mfa(live_server, web_client, totp_agent, customer):
    """Core 5.5.1.1: an essential acr with values in the claims parameter is a demand too."""
    request = {"id_token": {"acr": {"essential": True, "values": [MFA]}}}
    claims = id_token_claims(live_server, web_client, totp_agent, claims=json.dumps(request))
    assert claims["acr"] == MFA


def test_client_that_requires_mfa_always_gets_it(live_server, web_client, agent, customer):
    """A password session that satisfies an ordinary app must step up for a strict one."""
    strict = register(
        live_server,
        name="Bank",
        client_type="web",
        redirect_uris=["https://bank.example/cb"],
        require_mfa=True,
    )
    assert id_token_claims(live_server, web_client, agent)["acr"] == PWD
    secret = enroll_totp(live_server.app, customer)
    agent.second_factor = lambda: totp_code(secret)
    claims = id_token_claims(live_server, strict, agent)
    assert claims["acr"] == MFA and "mfa" in claims["amr"]


def test_prompt_none_cannot_step_up(live_server, web_client, agent, customer):
    """With a password session, prompt=none + acr mfa answers interaction_required."""
    id_token_claims(live_server, web_client, agent)
    enroll_totp(live_server.app, customer)
    url, _ = authorize_url(live_server, web_client, acr_values=MFA, prompt="none")
    query = parse_qs(urlsplit(agent.go(url)).query)
    assert query["error"] == ["interaction_required"]
    assert "code" not in query


def test_max_age_forces_both_factors_again(live_server, web_client, totp_agent):
    """max_age=0: a full sign-in again, the second factor included, for a fresh auth_time."""
    first = id_token_claims(live_server, web_client, totp_agent)
    pages_before = len(totp_agent.pages)
    claims = id_token_claims(live_server, web_client, totp_agent, max_age="0")
    assert claims["acr"] == MFA and claims["auth_time"] >= first["auth_time"]
    assert any("Second step" in p for p in totp_agent.pages[pages_before:])


def test_device_client_that_requires_mfa_steps_up_before_approval(live_server, agent, customer):
    """Approving a strict device from a password session first asks for the second factor,
    then the same code is confirmed and the device's ID token says mfa."""
    strict_tv = register(
        live_server, name="Safe TV", client_type="device", redirect_uris=[], require_mfa=True
    )
    agent.go(f"{live_server.url}/device")  # signs in with the password only
    codes = start(live_server, strict_tv.client_id)
    typed = type_code(agent, codes["user_code"])
    assert typed.status_code == 302
    assert urlsplit(typed.headers["Location"]).path == "/login/verify"

    secret = enroll_totp(live_server.app, customer)
    agent.second_factor = lambda: totp_code(secret)
    verified = agent.verify(urljoin(live_server.url, typed.headers["Location"]))
    back = verified.headers["Location"]
    assert urlsplit(back).path == "/device" and "user_code=" in back
    assert decide(agent, codes["user_code"]).status_code == 200
    response = poll(live_server, strict_tv.client_id, codes["device_code"])
    assert response.status_code == 200, response.text
    claims = jwt_parts(response.json()["id_token"])[1]
    assert claims["acr"] == MFA and "mfa" in claims["amr"]


def test_registered_default_acr_values_mfa_makes_the_client_strict(live_server, agent, customer):
    """OIDC Registration 2: a client that registers default_acr_values mfa gets MFA for every
    sign-in, and reads the value back; an unknown value is refused."""
    body = registered_web(live_server, default_acr_values=[MFA])
    assert body["default_acr_values"] == [MFA]
    assert manage("GET", body).json()["default_acr_values"] == [MFA]
    # No acr_values in the request: the registration alone makes the password insufficient.
    url, _verifier = authorize_url(live_server, as_registered(body))
    assert urlsplit(agent.go(url)).path == "/login/verify"

    refused = post(live_server, mint(live_server), {**WEB_METADATA, "default_acr_values": ["x"]})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    plain = registered_web(live_server, default_acr_values=[PWD])
    assert "default_acr_values" not in plain
