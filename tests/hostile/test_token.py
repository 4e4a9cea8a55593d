"""Hostile requests at the JSON endpoints clients authenticate to: token (RFC 6749 3.2),
introspection (RFC 7662), revocation (RFC 7009), device authorization (RFC 8628 3.1) and
pushed authorization requests (RFC 9126).

Every answer is JSON with Cache-Control: no-store, a refusal is an RFC 6749 5.2 error, and a
refusal changes no row.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_json, assert_oauth_error, table_digests
from tests.hostile.conftest import NO_SHRINK, World
from tests.hostile.credentials import basic, client_credentials

ROUTES = {"/token", "/introspect", "/revoke", "/device_authorization", "/par"}
ENDPOINTS = tuple(sorted(ROUTES))
FIELDS = (
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "device_code",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "request_uri",
    "dpop_jkt",
)
GRANTS = (
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "client_credentials",  # the web client may not use it: unauthorized_client
    "password",
    "implicit",
)


def form_for(world: World, endpoint: str, grant: str) -> dict[str, str]:
    """A well-formed request of the web client that can never get a token: secrets made up."""
    if endpoint == "/token":
        return {
            "grant_type": grant,
            "code": "made-up-code",
            "redirect_uri": world.web.redirect_uri,
            "code_verifier": "v" * 43,
            "refresh_token": "made-up-refresh-token",
            "device_code": "made-up-device-code",
        }
    if endpoint == "/device_authorization":
        return {"client_id": world.device.client_id, "scope": "openid"}
    if endpoint == "/par":
        return {
            "response_type": "code",
            "redirect_uri": world.web.redirect_uri,
            "scope": "openid",
            "state": "st",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    return {"token": "made-up-token", "token_type_hint": "access_token"}


def refused_or_answered(world: World, endpoint: str, response: TestResponse, before: dict) -> None:
    """An error changes nothing; only device authorization and PAR may create a row."""
    body = assert_json(response)
    if response.status_code >= 400:
        assert_oauth_error(response)
        assert table_digests(world.app) == before
    elif endpoint == "/token":
        pytest.fail(f"a token for made-up credentials: {body}")
    elif endpoint == "/introspect":
        assert body == {"active": False}, body
    elif endpoint == "/revoke":
        assert table_digests(world.app) == before  # nothing to revoke: every token is made up
    elif endpoint == "/par":
        assert response.status_code == 201 and body["request_uri"].startswith("urn:"), body


@given(data=st.data(), endpoint=st.sampled_from(ENDPOINTS), grant=st.sampled_from(GRANTS))
def test_hostile_form(world: World, data: st.DataObject, endpoint: str, grant: str) -> None:
    """Any value, repeated or missing, in any field, the Authorization and DPoP headers."""
    form = data.draw(hs.params(form_for(world, endpoint, grant), FIELDS))
    headers = data.draw(client_credentials(world.web.client_id, world.web.secret or ""))
    before = table_digests(world.app)
    response = world.client().post(
        endpoint, data=urlencode(form), content_type=hs.FORM, headers=headers
    )
    refused_or_answered(world, endpoint, response, before)


@given(endpoint=st.sampled_from(ENDPOINTS), raw=hs.raw_query(FIELDS), in_query=st.booleans())
def test_raw_bytes(world: World, endpoint: str, raw: bytes, in_query: bool) -> None:
    """Invalid UTF-8 and broken percent-encoding, in the body or the query, are JSON errors."""
    headers = {"Authorization": basic(world.web.client_id, world.web.secret or "")}
    before = table_digests(world.app)
    if in_query:
        response = world.client().post(
            endpoint, environ_overrides={"QUERY_STRING": hs.latin1(raw)}, headers=headers
        )
    else:
        response = world.client().post(endpoint, data=raw, content_type=hs.FORM, headers=headers)
    refused_or_answered(world, endpoint, response, before)


@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.one_of(hs.wrong_bodies(FIELDS), hs.huge_bodies()),
)
def test_wrong_bodies(world: World, endpoint: str, body: hs.Body) -> None:
    """JSON where a form belongs, multipart, wrong types, oversized bodies: JSON errors."""
    before = table_digests(world.app)
    response = world.client().post(endpoint, data=body.data, content_type=body.content_type)
    refused_or_answered(world, endpoint, response, before)
    if len(body.data) > hs.MAX_CONTENT_LENGTH:
        assert response.status_code in {400, 401, 413}, response.status_code


# Basic credentials Authlib's extract_basic_authorization cannot read: a lone scheme ("Basic "
# splits into one part), non-ASCII base64, and base64 of bytes that are not UTF-8.
MALFORMED_BASIC = st.one_of(
    st.sampled_from(["Basic ", "Basic \t", "Basic \x0b", " Basic"]),
    hs.hostile_text(marker=False, max_size=100).map(
        lambda s: "Basic " + s.encode().decode("latin-1").replace("\r", "").replace("\n", "") + "é"
    ),
    hs.raw_value().map(lambda raw: "Basic " + base64.b64encode(raw + b":\xff").decode()),
)


@NO_SHRINK
@given(endpoint=st.sampled_from(ENDPOINTS), header=MALFORMED_BASIC)
def test_malformed_basic_credentials(world: World, endpoint: str, header: str) -> None:
    """Basic credentials that cannot be decoded are a 401 invalid_client, not a crash."""
    before = table_digests(world.app)
    response = world.client().post(endpoint, data={"token": "x"}, headers={"Authorization": header})
    refused_or_answered(world, endpoint, response, before)
    # 401 invalid_client; a header Werkzeug cannot read at all is refused earlier, with 400.
    assert response.status_code in (400, 401)


@given(endpoint=st.sampled_from(ENDPOINTS), secret=hs.hostile_text(marker=False, max_size=50))
def test_unknown_client_and_wrong_secret_look_alike(
    world: World, endpoint: str, secret: str
) -> None:
    """Unknown client_id and wrong secret get the same answer: no client enumeration."""
    form = form_for(world, endpoint, "authorization_code")
    form.pop("client_id", None)  # the client names itself in the header only
    answers = []
    for client_id in (world.web.client_id, "no-such-client"):
        headers = {"Authorization": basic(client_id, secret + "-wrong")}
        response = world.client().post(endpoint, data=form, headers=headers)
        assert_oauth_error(response, 401)
        answers.append((response.status_code, response.get_json()))
    assert answers[0] == answers[1]
