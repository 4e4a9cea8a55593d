"""Hostile queries and cursors end in a ValidationError or a page, never another exception.

Run under the project's Hypothesis profiles (``HYPOTHESIS_PROFILE=ci|thorough``), which
``tests.hostile.conftest`` registers and loads; it is imported here so these tests get them
when run alone too.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import tests.hostile.conftest  # noqa: F401 - registers and loads the Hypothesis profiles
from idp.errors import ValidationError
from idp.extensions import db
from idp.services.admin.search import SearchKind, SearchPage, search
from tests.hostile.strategies import INVALID_UTF8, SNIPPETS, hostile_text
from tests.services.admin.support import link, person

KINDS = [k.value for k in SearchKind]

# What a view may hand over: any text, lone surrogates included (a raw query decoded with
# surrogateescape), long runs, controls and the snippets that break parsers.
queries = st.one_of(
    hostile_text(marker=False),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs", "Cc", "Zs", "Mn"]), max_size=20),
    st.sampled_from(INVALID_UTF8).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(SNIPPETS).map(lambda s: f"ana{s}@example.com"),
    st.sampled_from(SNIPPETS).map(lambda s: f"+33 6 12{s}34 56 78"),
    st.integers(300, 12_000).map(lambda n: "é" * n),
)


@pytest.fixture
def world(app):
    ana = person(app, "ana@example.com", "Ana", "Lopez", phone="+33612345678")
    link(app, ana, "shop", "a-1")
    person(app, "ana.m@example.com", "Ana", "Martin")
    with app.app_context():
        yield app


def _alive():
    """The session still works: a refused input never left a failed transaction behind."""
    assert db.session.execute(sa.text("SELECT 1")).scalar() == 1


@given(query=queries, kind=st.sampled_from(KINDS), include_merged=st.booleans())
def test_any_query(world, query, kind, include_merged):
    try:
        page = search(query, kind=kind, include_merged=include_merged)
    except ValidationError:
        pass
    else:
        assert isinstance(page, SearchPage)
        assert page.kind is not SearchKind.AUTO
    _alive()


@given(query=st.sampled_from(["\x00", "ana\x00", "\ud800", "\udcff", "a\x1b[31m", "é" * 10_240]))
def test_what_no_identifier_holds_is_refused(world, query):
    """NUL, controls, lone surrogates and 10 KB strings are refused before any SQL."""
    for kind in KINDS:
        with pytest.raises(ValidationError):
            search(query, kind=kind)
    _alive()


@given(after=st.one_of(hostile_text(marker=False), st.binary(max_size=64).map(repr)))
def test_any_cursor(world, after):
    with pytest.raises(ValidationError):
        search("ana", after=after)
    _alive()


@given(data=st.data())
def test_altered_cursors(world, data):
    """Changing any character of a real cursor is refused, unless it decodes to the same bytes
    (base64's spare bits), which then pages the same."""
    first = search("ana", kind="name", limit=1)
    cursor = first.next_cursor
    assert cursor is not None
    at = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.sampled_from("A_-.0z~%é\x00"))
    altered = cursor[:at] + replacement + cursor[at + 1 :]
    if altered == cursor:
        return
    try:
        page = search("ana", kind="name", limit=1, after=altered)
    except ValidationError:
        return
    expected = search("ana", kind="name", limit=1, after=cursor)
    assert [m.customer.id for m in page.results] == [m.customer.id for m in expected.results]
