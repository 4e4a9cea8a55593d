"""Hostile authorization requests (RFC 6749 4.1.1, OIDC Core 3.1.2.1) at /authorize: each gets
an HTML page, a redirect to a registered URI or to our sign-in page, and changes no row."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_html, assert_page_or_redirect, csrf_of, rows_unchanged
from tests.hostile.conftest import WEB_REDIRECT, World

ROUTES = {"/authorize"}

PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "claims",
    "login_hint",
    "id_token_hint",
    "acr_values",
    "ui_locales",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
    "registration",
    "resource",
    "dpop_jkt",
)
# redirect_uri and response_type decide where the answer goes; see the target tests below.
TARGET = ("redirect_uri", "response_type")
OTHERS = tuple(p for p in PARAMS if p not in TARGET)
FORM_ACTION = re.compile(r'<form method="post" action="([^"]*)"')
# Authlib refuses (ValueError, so a 500) an error description holding a quote, a backslash or a
# non-ASCII character, and would write these two parameters into its descriptions (fixed in
# afb7d9c: /authorize checks them first and answers with fixed texts).
DEFECT_CHARS = st.sampled_from(['"', "\\", "é", "😀", "\u202e", 'a"b', "https://x/\\", "/é"])


def request_for(world: World) -> dict[str, str]:
    """A valid request of the third-party web client, which needs consent."""
    return {
        "response_type": "code",
        "client_id": world.web.client_id,
        "redirect_uri": world.web.redirect_uri,
        "scope": "openid profile",
        "state": "st",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


def check(world: World, response: TestResponse) -> None:
    """Page or redirect within the registered URIs; a form_post page posts to one of them."""
    assert_page_or_redirect(response, world.redirect_uris)
    if response.status_code == 200 and response.mimetype == "text/html":
        for action in FORM_ACTION.findall(response.get_data(as_text=True)):
            parts = urlsplit(html.unescape(action))
            assert f"{parts.scheme}://{parts.netloc}{parts.path}" in world.redirect_uris, action


@given(data=st.data())
def test_hostile_parameters(world: World, data: st.DataObject) -> None:
    """Any value, repeated or missing, in the other parameters of a GET or POST request."""
    base = request_for(world)
    base["response_mode"] = data.draw(st.sampled_from(["query", "form_post"]))
    query = data.draw(hs.params(base, OTHERS))
    method = data.draw(st.sampled_from(["GET", "POST"]))
    browser = world.client()
    with rows_unchanged(world.app):
        if method == "GET":
            response = browser.get("/authorize", query_string=urlencode(query))
        else:
            response = browser.post("/authorize", data=urlencode(query), content_type=hs.FORM)
    check(world, response)


@given(
    value=st.one_of(hs.hostile_text(), hs.foreign_uris(WEB_REDIRECT)),
    name=st.sampled_from(TARGET),
    repeat=st.booleans(),
)
def test_hostile_target(world: World, value: str, name: str, repeat: bool) -> None:
    """A foreign or repeated redirect_uri or response_type is never followed off the server."""
    query = list(request_for(world).items())
    query = [(k, v) for k, v in query if k != name or repeat] + [(name, value)]
    with rows_unchanged(world.app):
        response = world.client().get("/authorize", query_string=urlencode(query))
    check(world, response)
    if name == "redirect_uri" and not repeat and value != world.web.redirect_uri:
        assert response.status_code == 400  # RFC 6749 4.1.2.1: a page, never a redirect


@given(value=DEFECT_CHARS, name=st.sampled_from(TARGET))
def test_quote_backslash_non_ascii_in_target(world: World, value: str, name: str) -> None:
    """A quote, backslash or non-ASCII character in redirect_uri or response_type is a 4xx."""
    query = {**request_for(world), name: value}
    with rows_unchanged(world.app):
        response = world.client().get("/authorize", query_string=urlencode(query))
    check(world, response)
    if name == "redirect_uri":
        assert response.status_code == 400  # not registered: a page, never a redirect


def test_openid_without_redirect_uri(world: World) -> None:
    """An OpenID request without redirect_uri (OIDC Core 3.1.2.1: REQUIRED) is an error page."""
    query = {k: v for k, v in request_for(world).items() if k != "redirect_uri"}
    with rows_unchanged(world.app):
        response = world.client().get("/authorize", query_string=urlencode(query))
    assert response.status_code == 400
    assert_html(response)


@given(data=st.data())
def test_hostile_parameters_with_pushed_request(world: World, data: st.DataObject) -> None:
    """A real pushed request_uri (RFC 9126 4) with hostile parameters beside it."""
    pushed = world.client().post(
        "/par",
        data={k: v for k, v in request_for(world).items() if k != "client_id"},
        auth=(world.web.client_id, world.web.secret or ""),
    )
    assert pushed.status_code == 201, pushed.get_data()
    base = {"client_id": world.web.client_id, "request_uri": pushed.get_json()["request_uri"]}
    query = data.draw(hs.params(base, PARAMS))
    # Answering a pushed request spends it: its row is the one thing that may change.
    with rows_unchanged(world.app, {"pushed_request"}):
        response = world.client().get("/authorize", query_string=urlencode(query))
    check(world, response)


@given(raw=hs.raw_query(PARAMS))
def test_raw_bytes_in_query(world: World, raw: bytes) -> None:
    """Invalid UTF-8 and broken percent-encoding in the query string are refused calmly."""
    good = urlencode(request_for(world)).encode()
    with rows_unchanged(world.app):
        response = world.client().get(
            "/authorize", environ_overrides={"QUERY_STRING": hs.latin1(good + b"&" + raw)}
        )
    check(world, response)


@given(body=st.one_of(hs.wrong_bodies(PARAMS), hs.huge_bodies()))
def test_wrong_bodies(world: World, body: hs.Body) -> None:
    """A JSON, raw, multipart or oversized POST body gets a page, never a 5xx."""
    with rows_unchanged(world.app):
        response = world.client().post("/authorize", data=body.data, content_type=body.content_type)
    check(world, response)


@given(data=st.data())
def test_signed_in_consent(world: World, data: st.DataObject) -> None:
    """Signed in: the consent page escapes what it shows, and a hostile decision grants nothing."""
    base = request_for(world)
    query = urlencode(data.draw(hs.params(base, ("state", "nonce", "login_hint", "claims"))))
    browser = world.signed_in()
    with rows_unchanged(world.app):
        page = browser.get("/authorize", query_string=query)
        check(world, page)
        token = csrf_of(page)
        if token is None:
            return  # not the consent page: a redirect or an error page, both checked above
        decision = data.draw(hs.values())
        form = {"csrf_token": token, "decision": decision}
        if data.draw(st.booleans()):
            form["scope"] = data.draw(hs.values())  # a form field trying to widen the request
        response = browser.post("/authorize", query_string=query, data=form)
    check(world, response)
