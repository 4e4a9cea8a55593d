"""Customer search finds the right customers by every identifier, and only them, page by page."""

from __future__ import annotations

import pytest

from idp import config
from idp.errors import ValidationError
from idp.extensions import db
from idp.services.admin.search import MatchReason, SearchKind, search
from tests.services.admin.support import link, merge_by_hand, person, recorded


def emails(page):
    return [m.customer.email_normalized for m in page.results]


def everything(query, *, limit, **kw):
    """Every result of a search, walking the cursors; with the number of pages it took."""
    seen, cursor, pages = [], None, 0
    while True:
        page = search(query, after=cursor, limit=limit, **kw)
        pages += 1
        seen.extend(page.results)
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
        assert page.results, "a page with a next cursor is never empty"


@pytest.fixture
def people(app):
    made = {
        "eloise": person(app, "eloise@example.com", "Éloïse", "Durand", phone="+33612345678"),
        "elodie": person(app, "elodie@example.com", "Élodie", "Durand", phone="+33612345679"),
        "jean": person(app, "jean.dupont@example.com", "Jean", "Dupont"),
        "marie": person(app, "marie@example.com", "Marie", "Dupont"),
        "martin": person(app, "jean.martin@example.com", "Jean", "Martin"),
        "jp": person(app, "jp@example.com", "Jean Pierre", "de la Fontaine"),
        "ana": person(app, "Ana@Example.FR", "Ana", "Lopez"),
        "ana_shop": person(app, "ana+shop@example.fr", "Ana", "Lopez"),
    }
    link(app, made["jean"], "loyalty", "123")
    link(app, made["marie"], "shop", "123")
    link(app, made["martin"], "shop", "dupont")
    with app.app_context():
        yield made


def test_email_exact_is_case_insensitive_and_keeps_plus_addressing(people):
    """A full address finds that mailbox in any case; a +tag is another address, not ana@."""
    assert emails(search("ANA@example.fr", kind="email")) == ["ana@example.fr"]
    page = search("Ana+Shop@EXAMPLE.fr", kind="email")
    assert emails(page) == ["ana+shop@example.fr"]
    assert page.results[0].reason is MatchReason.EMAIL
    assert page.kind is SearchKind.EMAIL


def test_email_prefix(people):
    """Less than a full address is the start of the normalized address."""
    page = search("ANA", kind="email")
    assert emails(page) == ["ana+shop@example.fr", "ana@example.fr"]
    assert {m.reason for m in page.results} == {MatchReason.EMAIL_PREFIX}
    assert emails(search("ana+", kind="email")) == ["ana+shop@example.fr"]
    assert emails(search("jean.", kind="email")) == [
        "jean.dupont@example.com",
        "jean.martin@example.com",
    ]


def test_email_prefix_takes_like_wildcards_literally(people):
    """``%`` and ``_`` in a query are characters, not LIKE wildcards."""
    assert emails(search("%", kind="email")) == []
    assert emails(search("ana_", kind="email")) == []


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
    ],
)
def test_phone_in_any_format(people, typed):
    """Every common way of writing a French mobile finds it, and not its neighbour."""
    page = search(typed, kind="phone")
    assert emails(page) == ["eloise@example.com"]
    assert page.results[0].reason is MatchReason.PHONE
    assert search(typed).kind is SearchKind.PHONE  # auto reads it as a phone number too


@pytest.mark.parametrize("app_config", [{"PHONE_REGION": "BE"}])
def test_national_numbers_are_read_in_the_configured_region(app, app_config):
    """IDP_PHONE_REGION decides what a number without a country code means."""
    person(app, "belge@example.be", "Luc", "Peeters", phone="+32470123456")
    with app.app_context():
        assert emails(search("0470 12 34 56", kind="phone")) == ["belge@example.be"]


def test_phone_region_is_checked_at_start(tmp_path):
    """An unknown region stops the start with the variable's name."""
    with pytest.raises(config.ConfigError, match="IDP_PHONE_REGION"):
        config.load(tmp_path, {"PHONE_REGION": "XX", "SECRET_KEY": "k" * 40})
    assert config.load(tmp_path, {"SECRET_KEY": "k" * 40})["PHONE_REGION"] == "FR"


def test_phone_kind_refuses_what_is_no_phone_number(people):
    with pytest.raises(ValidationError):
        search("not a number", kind="phone")
    with pytest.raises(ValidationError):
        search("12", kind="phone")


@pytest.mark.parametrize("typed", ["eloise", "ELOÏSE", "éloï", "  Eloise  "])
def test_one_name_ignores_accents_and_case(people, typed):
    """Folding matches stored keys: "eloise" finds Éloïse, and not Élodie."""
    page = search(typed)
    assert emails(page) == ["eloise@example.com"]
    assert page.results[0].reason is MatchReason.GIVEN_NAME
    assert page.kind is SearchKind.NAME


def test_one_name_matches_the_start_of_given_or_family_name(people):
    assert emails(search("durand", kind="name")) == ["eloise@example.com", "elodie@example.com"]
    assert {m.reason for m in search("durand").results} == {MatchReason.FAMILY_NAME}
    assert emails(search("mart", kind="name")) == ["jean.martin@example.com"]


@pytest.mark.parametrize("typed", ["DUPONT jean", "jean dupont", "Jea Dup", "dupont   JEAN"])
def test_two_names_in_either_order(people, typed):
    """Given and family name by prefix, either order: Jean Dupont, not Jean Martin or Marie."""
    page = search(typed)
    assert emails(page) == ["jean.dupont@example.com"]
    assert page.results[0].reason is MatchReason.NAME


def test_compound_names(people):
    """Several words may make one name: a two-word given name, a three-word family name."""
    assert emails(search("jean pierre")) == ["jp@example.com"]
    assert emails(search("jean pierre de la")) == ["jp@example.com"]
    assert emails(search("de la fontaine jean")) == ["jp@example.com"]
    assert emails(search("pierre jean")) == []


def test_public_id_exact(people):
    wanted = people["marie"].public_id
    for typed in (wanted, wanted.upper(), f"{{{wanted}}}"):
        page = search(typed)
        assert emails(page) == ["marie@example.com"]
        assert page.kind is SearchKind.ID
        assert page.results[0].reason is MatchReason.ID
    assert emails(search(wanted[:-1] + "0" if wanted[-1] != "0" else wanted[:-1] + "1")) == []


def test_source_id_in_any_source(people):
    """A source id alone finds it in every source, naming which; ``source:id`` only there."""
    page = search("123", kind="source_id")
    assert emails(page) == ["jean.dupont@example.com", "marie@example.com"]
    assert [(m.reason, m.detail) for m in page.results] == [
        (MatchReason.SOURCE_ID, "loyalty"),
        (MatchReason.SOURCE_ID, "shop"),
    ]
    assert emails(search("shop:123", kind="source_id")) == ["marie@example.com"]
    assert emails(search("crm:123", kind="source_id")) == []


def test_auto_reads_digits_that_are_no_phone_as_a_source_id(people):
    page = search("123")
    assert page.kind is SearchKind.SOURCE_ID
    assert emails(page) == ["jean.dupont@example.com", "marie@example.com"]


def test_auto_single_word_is_also_a_source_id_once(people):
    """ "dupont" is a family name and a shop's id for Jean Martin: the source id comes first,
    each customer once."""
    page = search("dupont")
    assert page.kind is SearchKind.NAME
    assert [(m.customer.email_normalized, m.reason) for m in page.results] == [
        ("jean.martin@example.com", MatchReason.SOURCE_ID),
        ("jean.dupont@example.com", MatchReason.FAMILY_NAME),
        ("marie@example.com", MatchReason.FAMILY_NAME),
    ]
    assert emails(search("dupont", kind="name")) == [
        "jean.dupont@example.com",
        "marie@example.com",
    ]


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("someone@example.com", SearchKind.EMAIL),
        ("someone@", SearchKind.EMAIL),
        ("+44 20 7946 0958", SearchKind.PHONE),
        ("6f1c1e0c-8a8e-4a43-9a5b-0d3f2b0e9c11", SearchKind.ID),
        ("4711", SearchKind.SOURCE_ID),
        ("Zoé", SearchKind.NAME),
        ("loyalty:4711", SearchKind.NAME),
    ],
)
def test_auto_guesses_the_kind(app, typed, kind):
    with app.app_context():
        assert search(typed).kind is kind


def test_merged_records_are_hidden_unless_asked(app, people):
    merge_by_hand(app, people["elodie"], people["eloise"])
    assert emails(search("durand")) == ["eloise@example.com"]
    assert emails(search("+33612345679")) == []
    page = search("durand", include_merged=True)
    assert emails(page) == ["eloise@example.com", "elodie@example.com"]
    assert page.results[1].customer.status == "merged"
    assert page.results[1].merged_into == people["eloise"].public_id
    assert page.results[0].merged_into is None


def test_an_alias_found_by_its_id_shows_its_survivor(app, people):
    """The absorbed record, marked merged, then the record it lives on."""
    merge_by_hand(app, people["elodie"], people["eloise"])
    page = search(people["elodie"].public_id)
    assert [(m.customer.email_normalized, m.reason, m.merged_into) for m in page.results] == [
        ("elodie@example.com", MatchReason.ID, people["eloise"].public_id),
        ("eloise@example.com", MatchReason.MERGED_INTO, None),
    ]


def test_disabled_records_are_found(app, people):
    """Support looks for disabled customers too (to enable them again)."""
    with app.app_context():
        row = db.session.get(type(people["jean"]), people["jean"].id)
        row.status = "disabled"
        db.session.commit()
    assert "jean.dupont@example.com" in emails(search("dupont"))


def test_pages_cover_every_result_once_despite_ties(app):
    """Keyset pages over many equal keys (23 Martins), a second name column (Martine) and a
    source id rank: each customer exactly once, in the order of one big page."""
    for i in range(23):
        person(app, f"m{i}@example.com", "Paul", "Martin")
    for i in range(5):
        person(app, f"g{i}@example.com", "Martine", "Zola")
    both = person(app, "both@example.com", "Martin", "Martin")  # matches twice, shown once
    linked = person(app, "linked@example.com", "Zoe", "Bernard")
    link(app, linked, "shop", "martin")
    with app.app_context():
        whole = search("martin", limit=100).results
        assert len(whole) == 23 + 5 + 2
        assert whole[0].customer.email_normalized == "linked@example.com"
        for size in (1, 4, 7, 29, 30):
            walked, pages = everything("martin", limit=size)
            assert [m.customer.id for m in walked] == [m.customer.id for m in whole]
            assert pages == -(-len(whole) // size)
        assert [m.customer.id for m in whole].count(both.id) == 1


def test_pages_of_a_shared_phone_number(app):
    """Many customers with one number (a family, a switchboard) page by id."""
    for i in range(9):
        person(app, f"family{i}@example.com", phone="+33145678901")
    with app.app_context():
        walked, pages = everything("01 45 67 89 01", limit=4)
        assert len({m.customer.id for m in walked}) == len(walked) == 9
        assert pages == 3


def test_last_page_has_no_cursor(people):
    page = search("durand", limit=2)
    assert len(page.results) == 2
    assert page.next_cursor is None


def test_tampered_or_foreign_cursors_are_refused(people):
    cursor = search("durand", limit=1).next_cursor
    assert cursor is not None
    assert len(search("durand", limit=1, after=cursor).results) == 1
    payload, _, signature = cursor.rpartition(".")
    for bad in (
        "",
        "garbage",
        cursor[:-3],
        payload + ".AAAA" + signature[4:],
        cursor + "x" * 2000,
    ):
        with pytest.raises(ValidationError):
            search("durand", limit=1, after=bad)
    with pytest.raises(ValidationError):  # a cursor pages only the search that made it
        search("dupont", limit=1, after=cursor)
    with pytest.raises(ValidationError):
        search("durand", limit=1, after=cursor, include_merged=True)


@pytest.mark.parametrize(
    ("query", "kw"),
    [
        ("", {}),
        ("   ", {}),
        ("x", {"limit": 0}),
        ("x", {"limit": 101}),
        ("x", {"kind": "everything"}),
        ("a b c d e f g", {"kind": "name"}),
    ],
)
def test_refused_requests(people, query, kw):
    with pytest.raises(ValidationError):
        search(query, **kw)


@pytest.mark.parametrize(
    "query",
    [
        "durand",
        "jean dupont",
        "0612345678",
        "ana@example.fr",
        "ana",
        "123",
        "shop:dupont",
        "6f1c1e0c-8a8e-4a43-9a5b-0d3f2b0e9c11",
    ],
)
def test_one_statement_per_page(people, query):
    """No N+1: the page, the customers, their survivors and match details come in one query,
    and reading what a results page shows sends nothing more."""
    with recorded() as sql:
        page = search(query, limit=1)
        for m in page.results:
            _ = (m.customer.public_id, m.customer.name, m.customer.phone, m.customer.status)
        if page.next_cursor:
            search(query, limit=1, after=page.next_cursor)
    assert len(sql.sent) == (2 if page.next_cursor else 1)
    if db.engine.dialect.name == "postgresql":  # SQLAlchemy writes OFFSET 0 on SQLite
        assert not any("OFFSET" in statement for statement, _ in sql.sent)
