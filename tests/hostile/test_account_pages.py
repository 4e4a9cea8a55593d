"""Hostile input at the signed-in customer's pages: account, password, security settings
(authenticator app, recovery codes, passkeys, remembered browsers), apps, devices and /device."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import EVENTS, assert_page_or_redirect, csrf_of, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import Form, attack

ROUTES = {
    "/account",
    "/account/verify-email",
    "/account/password",
    "/account/security",
    "/account/security/totp",
    "/account/security/totp/remove",
    "/account/security/recovery-codes",
    "/account/security/browsers/forget",
    "/account/security/passkeys/<int:passkey_id>/rename",
    "/account/security/passkeys/<int:passkey_id>/remove",
    "/account/apps",
    "/account/apps/<client_id>/withdraw",
    "/account/devices",
    "/account/devices/<int:device_id>/remove",
    "/device",
}
SECURITY = "/account/security"


# Ana is signed in, verified, with no second factor, passkey, consent or device.
_IN = {"state": "signed_in"}
FORMS = [
    Form("/account/verify-email", {}, page="/account", query=("x",), **_IN),
    Form(
        "/account/password",
        {"current_password": "not the password", "password": "another long passphrase"},
        refusal_writes=frozenset({EVENTS}),
        **_IN,
    ),
    Form(
        "/account/security/totp",
        {"code": "000000"},
        query=("next",),
        refusal_writes=frozenset({EVENTS}),
        **_IN,
    ),
    Form("/account/security/totp/remove", {}, page=SECURITY, query=("next",), **_IN),
    # A real token would make new codes or forget browsers: only forged tokens here.
    Form("/account/security/recovery-codes", {}, page=SECURITY, real_token=False, **_IN),
    Form("/account/security/browsers/forget", {}, page=SECURITY, real_token=False, **_IN),
    Form("/account/security/passkeys/1/rename", {"name": "Key"}, page=SECURITY, **_IN),
    Form("/account/security/passkeys/1/remove", {}, page=SECURITY, **_IN),
    Form("/account/apps/{web}/withdraw", {}, page="/account/apps", **_IN),
    Form("/account/devices/1/remove", {}, page="/account/devices", **_IN),
    Form(
        "/device",
        {"user_code": "BCDF-GHJK", "decision": "approve"},
        query=("user_code",),
        refusal_writes=frozenset({EVENTS}),  # a wrong code is recorded
        **_IN,
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _enrollment_started(world: World) -> Iterator[None]:
    """The first visit to the authenticator page stores the secret waiting for its code."""
    assert world.signed_in().get("/account/security/totp").status_code == 200
    yield


@pytest.mark.parametrize("form", FORMS, ids=str)
@FEWER
@given(data=st.data())
def test_form(world: World, form: Form, data: st.DataObject) -> None:
    """Hostile fields, bodies, bytes and queries: a page or a local redirect, no stray write."""
    attack(world, replace(form, url=form.url.format(web=world.web.client_id)), data)


@FEWER
@given(decision=hs.values(), extra=hs.values(), signed_in=st.booleans())
def test_device_confirmation(world: World, decision: str, extra: str, signed_in: bool) -> None:
    """The real user code with a hostile decision shows the confirmation, approving nothing."""
    browser = world.signed_in() if signed_in else world.client()
    with rows_unchanged(world.app):
        page = browser.get("/device", query_string={"user_code": world.user_code})
        assert_page_or_redirect(page)
        form = {
            "csrf_token": csrf_of(page) or "",
            "user_code": world.user_code,
            "decision": decision,
            "scope": extra,
        }
        response = browser.post("/device", data=form)
    assert_page_or_redirect(response)
    assert response.status_code in {200, 302, 400}, response.status_code


@FEWER
@given(
    segment=hs.values(),
    route=st.sampled_from(
        [
            "/account/apps/{}/withdraw",
            "/account/devices/{}/remove",
            "/account/security/passkeys/{}/rename",
            "/account/security/passkeys/{}/remove",
        ]
    ),
)
def test_hostile_path(world: World, segment: str, route: str) -> None:
    """A hostile id in the path, with a valid form: the 404 (or 400) page, nothing removed."""
    browser = world.signed_in()
    token = csrf_of(browser.get(SECURITY)) or ""
    with rows_unchanged(world.app):
        response = browser.post(route.format(hs.path_segment(segment)), data={"csrf_token": token})
    assert_page_or_redirect(response)
