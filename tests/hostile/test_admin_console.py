"""Hostile input at the admin console: the staff sign-in, its second step, sign-out and the
audit log, anonymous, half signed in and signed in. Pages or local redirects, never a 5xx or an
unescaped value, and no row written but the audit entry of a refused sign-in or code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import AUDIT, assert_page_or_redirect, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import Form, attack

ROUTES = {
    "/admin/account",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/clients/<client_id>",
    "/admin/clients/<client_id>/rotate-secret",
    "/admin/clients/<client_id>/delete",
    "/admin/signals",
    "/admin/signals/<name>.csv",
    "/admin/staff",
    "/admin/staff/<public_id>/role",
    "/admin/staff/<public_id>/disable",
    "/admin",
    "/admin/",
    "/admin/login",
    "/admin/second-factor",
    "/admin/logout",
    "/admin/audit",
}
PAGES = (
    "/admin",
    "/admin/",
    "/admin/audit",
    "/admin/second-factor",
    "/admin/login",
    "/admin/staff",
)
AUDIT_QUERY = {
    "days": "90",
    "before": "1",
    "action": "x",
    "target_kind": "customer",
    "target_id": "x",
    "actor_id": "x",
}

FORMS = [
    Form(
        "/admin/login",
        {"email": "staff@company.example", "password": "not the password", "next": "/admin/"},
        query=("next",),
        refusal_writes=frozenset({AUDIT}),
    ),
    Form(
        "/admin/second-factor",
        {"code": "000000"},
        state="console_pending",
        query=("next",),
        refusal_writes=frozenset({AUDIT}),
    ),
    # Signed-out browsers meet the same form: the page sends them to the sign-in.
    Form("/admin/second-factor", {"code": "000000"}, query=("next",)),
    Form(
        "/admin/staff",
        {"email": "new@company.example", "role": "viewer"},
        state="console",
        success_writes=frozenset({"admin_user", AUDIT}),
    ),
    # A role or a reason for an unknown account, or for one's own: refused, nothing written.
    Form("/admin/staff/nobody/role", {"role": "viewer"}, state="console", page="/admin/staff"),
    Form("/admin/staff/nobody/disable", {"reason": "x"}, state="console", page="/admin/staff"),
    Form(
        "/admin/clients/new",
        {
            "name": "Shop",
            "client_type": "web",
            "redirect_uris": "https://shop.example/cb",
            "grant_types": "authorization_code",
            "scope": "openid",
        },
        state="console",
        success_writes=frozenset({"client", AUDIT}),
    ),
    Form("/admin/clients/nobody", {"name": "x"}, state="console", page="/admin/clients"),
    Form("/admin/clients/nobody/delete", {"reason": "x"}, state="console", page="/admin/clients"),
    Form("/admin/clients/nobody/rotate-secret", {}, state="console", page="/admin/clients"),
    # The wrong current password: refused with nothing written.
    Form(
        "/admin/account",
        {"current_password": "not it", "new_password": "a brand new staff passphrase"},
        state="console",
    ),
    # A real token would sign the browser out: only forged ones are sent.
    Form("/admin/logout", {}, state="console", page="/admin/", real_token=False),
]


@pytest.mark.parametrize("form", FORMS, ids=str)
@FEWER
@given(data=st.data())
def test_form(world: World, form: Form, data: st.DataObject) -> None:
    attack(world, form, data)


@FEWER
@given(
    path=st.sampled_from(PAGES),
    state=st.sampled_from(["anonymous", "console_pending", "console"]),
    query=hs.params(AUDIT_QUERY),
)
def test_pages(world: World, path: str, state: str, query: list[tuple[str, str]]) -> None:
    """Every console page with a hostile query, in every state of a staff browser."""
    browser = {
        "anonymous": world.client,
        "console_pending": lambda: world.console(second_factor=False),
        "console": world.console,
    }[state]()
    with rows_unchanged(world.app):
        assert_page_or_redirect(browser.get(path, query_string=query))


@given(query=hs.raw_query(list(AUDIT_QUERY)))
def test_raw_query_bytes(world: World, query: bytes) -> None:
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get("/admin/audit", environ_overrides={"QUERY_STRING": hs.latin1(query)})
        assert_page_or_redirect(response)
        assert response.status_code == 200


@given(cookie=hs.values(marker=False))
def test_forged_console_cookie(world: World, cookie: str) -> None:
    """A made-up console cookie is no session: the sign-in page, nothing written."""
    browser = world.client()
    # What a browser can store: printable ASCII, a few KiB at most (RFC 6265 6.1).
    value = "".join(c for c in cookie if " " < c < "\x7f" and c not in ';,"\\')[:1000] or "x"
    browser.set_cookie("idp_admin", value, path="/admin")
    with rows_unchanged(world.app):
        response = browser.get("/admin/audit")
        assert_page_or_redirect(response)
        assert response.status_code == 302


@FEWER
@given(name=hs.values(), query=hs.params({"days": "90"}))
def test_signal_downloads(world: World, name: str, query: list[tuple[str, str]]) -> None:
    """A CSV for a known list, the 404 page for anything else; never a 5xx."""
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get(
            f"/admin/signals/{hs.path_segment(name or 'x')}.csv", query_string=query
        )
    if response.status_code == 200:
        assert response.mimetype == "text/csv"
    else:
        assert_page_or_redirect(response)
