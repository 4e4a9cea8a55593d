"""Hostile RP-Initiated Logout 1.0 requests at /logout: an HTML page or a redirect to a
registered post_logout_redirect_uri, and nothing ended unless the customer confirmed."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import (
    EVENTS,
    assert_page_or_redirect,
    csrf_of,
    rows_unchanged,
    table_digests,
)
from tests.hostile.conftest import POST_LOGOUT, World

ROUTES = {"/logout"}
PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


def request_for(world: World) -> dict[str, str]:
    return {
        "client_id": world.web.client_id,
        "post_logout_redirect_uri": POST_LOGOUT,
        "state": "st",
    }


def hints(world: World) -> st.SearchStrategy[str]:
    """A token of ours that is no ID token, broken JWTs, or any text."""
    return (
        st.sampled_from(
            [world.access_token, world.access_token[:-3], "a.b.c", "eyJhbGciOiJub25lIn0.e30."]
        )
        | hs.values()
    )


@given(data=st.data(), method=st.sampled_from(["GET", "POST"]), signed_in=st.booleans())
def test_hostile_parameters(
    world: World, data: st.DataObject, method: str, signed_in: bool
) -> None:
    """Without a confirmed form, any parameters end nothing and redirect nowhere foreign."""
    base = request_for(world)
    if data.draw(st.booleans()):
        base["id_token_hint"] = data.draw(hints(world))
    query = urlencode(data.draw(hs.params(base, PARAMS)))
    browser = world.signed_in() if signed_in else world.client()
    with rows_unchanged(world.app):
        if method == "GET":
            response = browser.get("/logout", query_string=query)
        else:  # no CSRF token: never a confirmation
            response = browser.post("/logout", data=query, content_type=hs.FORM)
    assert_page_or_redirect(response, world.redirect_uris)


@given(data=st.data())
def test_confirmed_with_hostile_parameters(world: World, data: st.DataObject) -> None:
    """A confirmed sign-out with hostile parameters: refused unchanged, or a safe redirect."""
    browser = world.signed_in()
    token = csrf_of(browser.get("/logout"))
    assert token is not None
    query = urlencode(data.draw(hs.params(request_for(world), PARAMS)))
    before = table_digests(world.app)
    response = browser.post("/logout", query_string=query, data={"csrf_token": token})
    assert_page_or_redirect(response, world.redirect_uris)
    after = table_digests(world.app)
    if response.status_code >= 400:
        assert after == before
    else:  # signed out: its session ended and the event recorded, nothing else
        signed_out = {EVENTS, "browser_session"}
        assert {k: v for k, v in after.items() if k not in signed_out} == {
            k: v for k, v in before.items() if k not in signed_out
        }


@given(
    uri=hs.foreign_uris(POST_LOGOUT),
    with_client=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
)
def test_foreign_post_logout_redirect_uri(
    world: World, uri: str, with_client: bool, method: str
) -> None:
    """A post_logout_redirect_uri that is not registered is the error page, never followed."""
    query = {"post_logout_redirect_uri": uri, "state": "st"}
    if with_client:
        query["client_id"] = world.web.client_id
    with rows_unchanged(world.app):
        response = world.client().open("/logout", method=method, query_string=query)
    assert response.status_code == 400, response.headers.get("Location")
    assert_page_or_redirect(response, world.redirect_uris)


@given(raw=hs.raw_query(PARAMS), signed_in=st.booleans())
def test_raw_bytes(world: World, raw: bytes, signed_in: bool) -> None:
    """Invalid UTF-8 and broken escapes in the query: a page, nothing ended."""
    browser = world.signed_in() if signed_in else world.client()
    with rows_unchanged(world.app):
        response = browser.get("/logout", environ_overrides={"QUERY_STRING": hs.latin1(raw)})
    assert_page_or_redirect(response, world.redirect_uris)


@given(body=st.one_of(hs.wrong_bodies(PARAMS), hs.huge_bodies()))
def test_wrong_bodies(world: World, body: hs.Body) -> None:
    """JSON, multipart, raw or oversized bodies from a signed-in browser end nothing."""
    browser = world.signed_in()
    with rows_unchanged(world.app):
        response = browser.post("/logout", data=body.data, content_type=body.content_type)
    assert_page_or_redirect(response, world.redirect_uris)
