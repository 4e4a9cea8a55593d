"""Hostile input at the console's customer page and its account actions, aimed at a real
customer (Ana) and at ids that name nobody: pages or local redirects, never a 5xx or an
unescaped value (a hostile name that was saved is shown escaped on every later page), and only
the tables an action owns may change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import AUDIT, EVENTS, assert_page_or_redirect, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import Form, attack

ROUTES = {
    "/admin/customers/<public_id>",
    "/admin/customers/<public_id>/disable",
    "/admin/customers/<public_id>/enable",
    "/admin/customers/<public_id>/sign-out",
    "/admin/customers/<public_id>/revoke-app",
    "/admin/customers/<public_id>/reset-password",
    "/admin/customers/<public_id>/reset-factors",
    "/admin/customers/<public_id>/resend-verification",
    "/admin/customers/<public_id>/profile",
    "/admin/customers/<public_id>/link",
    "/admin/customers/<public_id>/unlink",
}
TIMELINE_QUERY = {"channel": "web", "client": "x", "kind": "customer:login", "before": "1"}
# Signing out, disabling and resetting factors end sessions and revoke grants.
SIGN_OUT = frozenset({"browser_session", "token_family", "access_token", EVENTS, AUDIT})
ACTIONS: dict[str, tuple[dict[str, str], frozenset[str]]] = {
    "disable": ({"reason": "fraud"}, SIGN_OUT | {"customer"}),
    "enable": ({"reason": "checked"}, frozenset({"customer", EVENTS, AUDIT})),
    "sign-out": ({"reason": "lost phone"}, SIGN_OUT),
    "revoke-app": (
        {"client_id": "x", "reason": "asked"},
        frozenset({"consent", "token_family", "access_token", EVENTS, AUDIT}),
    ),
    "reset-password": ({"reason": "asked"}, frozenset({EVENTS, AUDIT})),
    "reset-factors": (
        {"reason": "lost phone"},
        SIGN_OUT
        | {"totp_credential", "passkey", "recovery_code", "email_sign_in", "trusted_browser"},
    ),
    "resend-verification": ({"reason": "asked"}, frozenset({EVENTS, AUDIT})),
    "profile": (
        {
            "email": "ana@example.com",
            "given_name": "Ana",
            "family_name": "Lopez",
            "phone": "+33612345678",
            "birthdate": "1990-05-17",
            "locale": "fr",
            "reason": "asked",
        },
        frozenset({"customer", EVENTS, AUDIT}),
    ),
    "link": (
        {"source": "shop", "source_id": "S-1"},
        frozenset({"linked_account", EVENTS, AUDIT}),
    ),
    "unlink": (
        {"source": "shop", "source_id": "S-1", "reason": "wrong person"},
        frozenset({"linked_account", EVENTS, AUDIT}),
    ),
}


def _page(world: World) -> str:
    return f"/admin/customers/{world.customer.public_id}"


@pytest.mark.parametrize("action", list(ACTIONS))
@FEWER
@given(data=st.data())
def test_action(world: World, action: str, data: st.DataObject) -> None:
    """Each action on Ana with hostile fields, bodies and queries: only its own tables move."""
    fields, writes = ACTIONS[action]
    page = _page(world)
    form = Form(
        f"{page}/{action}",
        fields,
        state="console",
        page=page,
        query=tuple(TIMELINE_QUERY),
        success_writes=writes,
    )
    attack(world, form, data)


@pytest.mark.parametrize("action", list(ACTIONS))
@FEWER
@given(data=st.data())
def test_action_on_nobody(world: World, action: str, data: st.DataObject) -> None:
    """An id that names no customer: refused, nothing written."""
    fields, _ = ACTIONS[action]
    form = Form(f"/admin/customers/nobody/{action}", fields, state="console", page=_page(world))
    attack(world, form, data)


@FEWER
@given(
    state=st.sampled_from(["anonymous", "console_pending", "console"]),
    query=hs.params(TIMELINE_QUERY),
)
def test_customer_page(world: World, state: str, query: list[tuple[str, str]]) -> None:
    """The page with a hostile timeline filter, in every state of a staff browser."""
    browser = {
        "anonymous": world.client,
        "console_pending": lambda: world.console(second_factor=False),
        "console": world.console,
    }[state]()
    with rows_unchanged(world.app):
        assert_page_or_redirect(browser.get(_page(world), query_string=query))


@given(query=hs.raw_query(list(TIMELINE_QUERY)))
def test_raw_query_bytes(world: World, query: bytes) -> None:
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get(_page(world), environ_overrides={"QUERY_STRING": hs.latin1(query)})
        assert_page_or_redirect(response)
        assert response.status_code in (200, 400)


@given(public_id=hs.values())
def test_any_id(world: World, public_id: str) -> None:
    """Whatever the path names: the page of a customer, or the 404 page."""
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get(f"/admin/customers/{hs.path_segment(public_id or 'x')}")
        assert_page_or_redirect(response)
        assert response.status_code in (200, 404, 308)
