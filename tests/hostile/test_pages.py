"""Hostile input at every page a browser reaches before it is signed in: sign-in, sign-up,
password reset, emailed sign-in, the second step and recovery codes, and their links."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import PASSWORD
from tests.hostile import strategies as hs
from tests.hostile.checks import EVENTS, assert_page_or_redirect, csrf_of, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import Form, attack

ROUTES = {
    "/",
    "/login",
    "/signup",
    "/forgot-password",
    "/reset-password/<token>",
    "/verify-email/<token>",
    "/login/email",
    "/login/email/code",
    "/login/email/<token>",
    "/login/verify",
    "/login/recovery",
    "/device/qr",
}
# What a sign-up, a reset request or an emailed sign-in writes when the address is well-formed.
MAIL_WRITES = frozenset({EVENTS, "customer", "password_credential", "email_sign_in", "used_link"})

FORMS = [
    Form(
        "/login",
        {"email": "ana@example.com", "password": "not the password", "next": "/account"},
        query=("next", "login_hint", "ui_locales"),
        refusal_writes=frozenset({EVENTS}),
    ),
    Form(
        "/signup",
        {
            "email": "new@example.com",
            "password": PASSWORD,
            "given_name": "Eve",
            "family_name": "Doe",
            "next": "/account",
        },
        query=("next", "ui_locales"),
        success_writes=MAIL_WRITES,
    ),
    Form("/forgot-password", {"email": "ana@example.com"}, success_writes=MAIL_WRITES),
    Form(
        "/login/email",
        {"email": "ana@example.com", "next": "/account"},
        query=("next",),
        success_writes=MAIL_WRITES,
    ),
    Form(
        "/login/email/code",
        {"code": "000000"},
        state="email_code",
        refusal_writes=frozenset({EVENTS}),
    ),
    Form("/login/email/code", {"code": "000000"}),  # no mail asked for in this browser
    Form(
        "/login/verify",
        {"code": "000000", "remember": "y"},
        state="pending_mfa",
        query=("next",),
        refusal_writes=frozenset({EVENTS}),
    ),
    Form(
        "/login/recovery",
        {"code": "aaaa-bbbb"},
        state="pending_mfa",
        query=("next",),
        refusal_writes=frozenset({EVENTS}),
    ),
    Form("/login/verify", {"code": "000000"}),  # nobody half-way through a sign-in
]
LINKS = ("/reset-password/", "/verify-email/", "/login/email/")


@pytest.mark.parametrize("form", FORMS, ids=str)
@FEWER
@given(data=st.data())
def test_form(world: World, form: Form, data: st.DataObject) -> None:
    """Hostile fields, bodies, bytes and queries: a page or a local redirect, no stray write."""
    attack(world, form, data)


@FEWER
@given(prefix=st.sampled_from(LINKS), token=hs.values(), post=st.booleans())
def test_link_tokens(world: World, prefix: str, token: str, post: bool) -> None:
    """A forged link token, even posted with a valid form, is the invalid-link page."""
    browser = world.client()
    url = prefix + hs.path_segment(token or "x")
    # A failed magic link is recorded as a failed sign-in (the audit log).
    allow = {EVENTS} if prefix == "/login/email/" else set()
    with rows_unchanged(world.app, allow):
        page = browser.get(url)
        assert_page_or_redirect(page)
        if post and prefix != "/verify-email/":
            csrf = csrf_of(page) or csrf_of(browser.get("/login"))
            data = {"csrf_token": csrf or "", "password": token or "x"}
            assert_page_or_redirect(browser.post(url, data=data))
    assert page.status_code in {400, 404}, page.status_code


@given(query=hs.raw_query(["next", "login_hint", "ui_locales", "user_code", "email"]))
def test_raw_query_bytes(world: World, query: bytes) -> None:
    """Invalid UTF-8 and broken escapes in any page's query string: still a page."""
    with rows_unchanged(world.app):
        for path in ("/", "/login", "/signup", "/login/email", "/device/qr"):
            response = world.client().get(
                path, environ_overrides={"QUERY_STRING": hs.latin1(query)}
            )
            if path == "/device/qr" and response.status_code == 200:
                assert response.mimetype == "image/svg+xml"
            else:
                assert_page_or_redirect(response)


@given(code=hs.values(), headers=hs.headers())
def test_device_qr(world: World, code: str, headers: dict[str, str]) -> None:
    """The QR code of a hostile user code: an SVG of a well-formed code, else the 400 page."""
    with rows_unchanged(world.app):
        response = world.client().get(
            "/device/qr", query_string={"user_code": code}, headers=headers
        )
    if response.status_code == 200:
        assert response.mimetype == "image/svg+xml"
        assert b"<script" not in response.get_data()
    else:
        assert response.status_code == 400
        assert_page_or_redirect(response)
