"""Hostile requests at the UserInfo endpoint (OIDC Core 5.3) and its RFC 6750 bearer tokens:
JSON answers, never cached, a challenge in WWW-Authenticate on refusal, never a changed row."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_json, rows_unchanged
from tests.hostile.conftest import World
from tests.hostile.credentials import bearer_credentials

ROUTES = {"/userinfo"}


def check(world: World, response: TestResponse) -> None:
    body = assert_json(response)
    if response.status_code in {400, 401, 403}:
        # RFC 6750 3 / RFC 9449 7.1: a challenge for the scheme the token was sent with.
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith(("Bearer ", "DPoP ")), challenge
    elif response.status_code == 200:
        assert isinstance(body.get("sub"), str), body


@given(data=st.data(), method=st.sampled_from(["GET", "POST"]))
def test_hostile_credentials(world: World, data: st.DataObject, method: str) -> None:
    """Any header, any form field, the token in the query: a JSON answer and no write."""
    headers = data.draw(bearer_credentials(world.access_token))
    form = data.draw(hs.params({"access_token": world.access_token}, ["access_token", "scope"]))
    in_query = data.draw(st.booleans())
    with rows_unchanged(world.app):
        if in_query:  # RFC 9700 2.4: never read from the query string
            response = world.client().open(
                "/userinfo", method=method, query_string=urlencode(form), headers=headers
            )
            assert response.status_code != 200 or headers, "a token read from the query"
        else:
            response = world.client().open(
                "/userinfo",
                method=method,
                data=urlencode(form),
                content_type=hs.FORM,
                headers=headers,
            )
    check(world, response)


@given(body=st.one_of(hs.wrong_bodies(["access_token"]), hs.huge_bodies()))
def test_wrong_bodies(world: World, body: hs.Body) -> None:
    """JSON, raw bytes, multipart or an oversized body: a JSON answer, never a 5xx."""
    with rows_unchanged(world.app):
        response = world.client().post(
            "/userinfo",
            data=body.data,
            content_type=body.content_type,
            headers={"Authorization": f"Bearer {world.access_token}"},
        )
    check(world, response)


def test_token_in_header_and_body(world: World) -> None:
    """Two ways of sending the token at once is invalid_request (RFC 6750 2)."""
    response = world.client().post(
        "/userinfo",
        data={"access_token": world.access_token},
        headers={"Authorization": f"Bearer {world.access_token}"},
    )
    check(world, response)
    assert response.status_code == 400
