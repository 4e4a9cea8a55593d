"""Hostile requests at dynamic client registration (RFC 7591 3) and client configuration
(RFC 7592 2): JSON answers, never cached; a refusal is an error object and changes no row."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_html, assert_json, assert_oauth_error, table_digests
from tests.hostile.conftest import World
from tests.hostile.credentials import TOKEN

ROUTES = {"/register", "/register/<client_id>"}
METADATA = (
    "redirect_uris",
    "client_name",
    "client_name#fr",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "contacts",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "application_type",
    "jwks",
    "jwks_uri",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "default_acr_values",
    "software_id",
    "software_version",
    "id_token_signed_response_alg",
    "subject_type",
    "client_id",
    "client_secret",
)
VALID = {"redirect_uris": ["https://dyn.example/cb"], "client_name": "Dyn"}
hostile_value = st.one_of(hs.values(), st.lists(hs.values(), max_size=3), hs.json_documents)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with some members hostile, dropped, or added."""
    document: dict[str, Any] = dict(VALID)
    for name in draw(st.lists(st.sampled_from(METADATA), min_size=1, max_size=4, unique=True)):
        document[name] = draw(hostile_value)
    if draw(st.booleans()):
        document.pop("redirect_uris", None)
    return document


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_unchanged(world: World, response: TestResponse, before: dict[str, str]) -> None:
    assert_oauth_error(response)
    assert table_digests(world.app) == before


@given(token=st.one_of(st.none(), TOKEN), document=st.one_of(documents(), hs.json_documents))
def test_without_initial_token(world: World, token: str | None, document: Any) -> None:
    """Without a valid initial access token nothing is registered, whatever the body."""
    before = table_digests(world.app)
    headers = bearer(token) if token is not None else {}
    response = world.client().post("/register", json=document, headers=headers)
    refused_unchanged(world, response, before)
    assert response.status_code == 401


@given(document=st.one_of(documents(), hs.json_documents))
def test_hostile_metadata(world: World, document: Any) -> None:
    """Hostile metadata is registered as sent, or refused with invalid_* and no row."""
    before = table_digests(world.app)
    response = world.client().post("/register", json=document, headers=bearer(world.initial_token))
    if response.status_code == 201:
        body = assert_json(response)
        assert isinstance(body["client_id"], str) and body["registration_access_token"]
    else:
        refused_unchanged(world, response, before)


@given(body=st.one_of(hs.wrong_bodies(METADATA), hs.huge_bodies()))
def test_wrong_bodies(world: World, body: hs.Body) -> None:
    """A form, raw bytes, a wrong content type or an oversized body registers nothing."""
    before = table_digests(world.app)
    response = world.client().post(
        "/register",
        data=body.data,
        content_type=body.content_type,
        headers=bearer(world.initial_token),
    )
    if response.status_code == 201:  # a JSON body under a JSON type may be valid metadata
        assert body.content_type.startswith("application/json"), body
        assert_json(response)
    else:
        refused_unchanged(world, response, before)


@given(
    # A "/" would make another path, which no route matches: a 404 page, not this endpoint.
    client_id=st.one_of(
        st.just(None), hs.hostile_text(max_size=200).map(lambda s: s.replace("/", ""))
    ),
    token=st.one_of(st.just(None), TOKEN),
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
    document=documents(),
)
def test_configuration(
    world: World, client_id: str | None, token: str | None, method: str, document: Any
) -> None:
    """A foreign client id or a wrong token reads, changes and deletes nothing (RFC 7592 2)."""
    client_id = client_id or world.registered.client_id
    token = token or world.registration_token
    if client_id == world.registered.client_id and token == world.registration_token:
        token += "x"  # the right pair would really delete the client
    before = table_digests(world.app)
    response = world.client().open(
        f"/register/{hs.path_segment(client_id)}",
        method=method,
        json=document,
        headers=bearer(token),
    )
    refused_unchanged(world, response, before)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_nul_in_configuration_path(world: World, method: str) -> None:
    """/register/a%00b is the same 401 as any unknown client, on PostgreSQL too (a NUL once
    reached PostgreSQL from here: a DataError, so a 500)."""
    before = table_digests(world.app)
    response = world.client().open(
        "/register/a%00b", method=method, json=VALID, headers=bearer(world.registration_token)
    )
    refused_unchanged(world, response, before)
    assert response.status_code == 401


@given(document=documents())
def test_hostile_update(world: World, document: dict[str, Any]) -> None:
    """The right token with hostile metadata: replaced, or refused with no row changed."""
    document = {**document, "client_id": world.registered.client_id}
    before = table_digests(world.app)
    response = world.client().put(
        f"/register/{world.registered.client_id}",
        json=document,
        headers=bearer(world.registration_token),
    )
    if response.status_code == 200:
        assert_json(response)
    else:
        refused_unchanged(world, response, before)


def test_registered_name_is_escaped_on_the_consent_page(world: World) -> None:
    """A client_name holding markup is shown escaped where customers see it (stored XSS)."""
    name = "<svg id=hxname onload=alert(1)>\"'"
    document = {"redirect_uris": ["https://evil.example/cb"], "client_name": name}
    answer = world.client().post("/register", json=document, headers=bearer(world.initial_token))
    assert answer.status_code == 201, answer.get_data()
    query = {
        "response_type": "code",
        "client_id": answer.get_json()["client_id"],
        "redirect_uri": "https://evil.example/cb",
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    }
    page = world.signed_in().get("/authorize", query_string=query)
    assert page.status_code == 200
    assert "&lt;svg id=hxname" in assert_html(page)
