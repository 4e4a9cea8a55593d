"""Hostile input at the console's search and merge pages: pages or local redirects, never a
5xx or an unescaped value; a refused merge writes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import strategies as hs
from tests.hostile.checks import assert_page_or_redirect, rows_unchanged
from tests.hostile.conftest import FEWER, World
from tests.hostile.forms import Form, attack

ROUTES = {
    "/admin/customers",
    "/admin/merge",
    "/admin/merge/distinct",
    "/admin/merges",
    "/admin/merges/<public_id>",
    "/admin/merges/<public_id>/undo",
}
QUERY = {"q": "ana", "kind": "auto", "after": "x", "merged": "1", "pick": "x", "before": "1"}

FORMS = [
    # Unknown records: refused before anything is read or written.
    Form(
        "/admin/merge",
        {"survivor": "nobody", "absorbed": "nobody2", "reason": "x"},
        state="console",
        page="/admin/merges",
    ),
    Form(
        "/admin/merge/distinct",
        {"pick": "nobody", "reason": "x"},
        state="console",
        page="/admin/merges",
    ),
    Form("/admin/merges/nobody/undo", {}, state="console", page="/admin/merges"),
]


@pytest.mark.parametrize("form", FORMS, ids=str)
@FEWER
@given(data=st.data())
def test_form(world: World, form: Form, data: st.DataObject) -> None:
    attack(world, form, data)


@FEWER
@given(
    path=st.sampled_from(["/admin/customers", "/admin/merge", "/admin/merges", "/admin/merges/x"]),
    query=hs.params(QUERY),
)
def test_pages(world: World, path: str, query: list[tuple[str, str]]) -> None:
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get(path, query_string=query)
    assert_page_or_redirect(response)


@given(query=hs.raw_query(list(QUERY)))
def test_raw_query_bytes(world: World, query: bytes) -> None:
    browser = world.console()
    with rows_unchanged(world.app):
        for path in ("/admin/customers", "/admin/merge"):
            response = browser.get(path, environ_overrides={"QUERY_STRING": hs.latin1(query)})
            assert_page_or_redirect(response)


@FEWER
@given(q=hs.values(), kind=st.sampled_from(["auto", "email", "phone", "name", "id", "source_id"]))
def test_search_text(world: World, q: str, kind: str) -> None:
    """Any text in the box: results, nothing, or the reason it was refused."""
    browser = world.console()
    with rows_unchanged(world.app):
        response = browser.get("/admin/customers", query_string={"q": q, "kind": kind})
    assert_page_or_redirect(response)
    assert response.status_code in {200, 400}
