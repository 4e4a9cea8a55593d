"""On PostgreSQL every kind of search reads its index, never a sequential scan of customers.

A fair test lets the planner choose with real statistics: 40,000 customers (varied names,
emails, phones, 30% with a linked account) are seeded by one INSERT ... SELECT and ANALYZEd,
then each search's own statement is EXPLAINed with its own parameters. ``enable_seqscan = off``
would only prove that an index *could* be used; the planner's choice on a table of this size is
what a million rows will see too, since every branch is an index range read stopped by LIMIT.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.services.admin.search import search
from tests.conftest_support import PG_URL, isolated_database, make_app
from tests.services.admin.support import recorded

pytestmark = pytest.mark.skipif(not PG_URL, reason="query plans are PostgreSQL's")

ROWS = 40_000
GIVEN = [
    "jean",
    "marie",
    "pierre",
    "sophie",
    "camille",
    "lucas",
    "emma",
    "louis",
    "chloe",
    "hugo",
    "lea",
    "gabriel",
    "manon",
    "arthur",
    "ines",
    "jules",
    "sarah",
    "adam",
    "alice",
    "paul",
    "eloise",
    "nathan",
    "zoe",
    "thomas",
    "lina",
    "raphael",
    "anna",
    "theo",
    "julia",
    "leo",
    "mila",
    "noah",
    "rose",
    "victor",
    "clara",
    "martin",
    "louise",
]
FAMILY = [
    "martin",
    "bernard",
    "dubois",
    "thomas",
    "robert",
    "richard",
    "petit",
    "durand",
    "leroy",
    "moreau",
    "simon",
    "laurent",
    "lefebvre",
    "michel",
    "garcia",
    "david",
    "bertrand",
    "roux",
    "vincent",
    "fournier",
    "morel",
    "girard",
    "andre",
    "lefevre",
    "mercier",
    "dupont",
    "lambert",
    "bonnet",
    "francois",
    "martinez",
    "legrand",
    "garnier",
    "faure",
    "rousseau",
    "blanc",
    "guerin",
    "muller",
    "henry",
    "roussel",
    "nicolas",
    "perrin",
    "morin",
    "mathieu",
    "clement",
    "gauthier",
    "dumont",
    "lopez",
    "fontaine",
    "chevalier",
    "robin",
]

SEED = """
INSERT INTO customer (public_id, email, email_normalized, email_verified, phone,
    phone_verified, given_name, family_name, given_key, family_key, status, created_at,
    updated_at)
SELECT md5(i::text)::uuid::text, 'user' || i || '@example' || (i % 97) || '.com',
    'user' || i || '@example' || (i % 97) || '.com', true,
    CASE WHEN i % 5 <> 0 THEN '+336' || lpad(i::text, 8, '0') END, false,
    g, f, g, f, CASE WHEN i % 200 = 0 THEN 'merged' ELSE 'active' END, now(), now()
FROM (
    SELECT i, (CAST(:given AS text[]))[1 + (i * 7919) % :ng] AS g,
        (CAST(:family AS text[]))[1 + (i * 104729) % :nf] AS f
    FROM generate_series(1::bigint, :rows) AS i
) AS seed;
INSERT INTO linked_account (customer_id, source, source_id, attributes, created_at, updated_at)
SELECT id, (ARRAY['shop', 'loyalty', 'crm'])[1 + id % 3], 'S' || id, '{}', now(), now()
FROM customer WHERE id % 10 < 3;
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    directory = tmp_path_factory.mktemp("plans")
    with isolated_database(directory) as url:
        app = make_app(url, directory / "instance", None)
        try:
            with app.app_context():
                db.create_all()
                for statement in SEED.strip().split(";\n"):
                    db.session.execute(
                        sa.text(statement),
                        {
                            "given": GIVEN,
                            "family": FAMILY,
                            "ng": len(GIVEN),
                            "nf": len(FAMILY),
                            "rows": ROWS,
                        },
                    )
                db.session.commit()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(sa.text("ANALYZE customer"))
                    c.execute(sa.text("ANALYZE linked_account"))
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def scans(plan):
    """(node type, relation, index, index condition) of every node of a JSON plan."""
    found = [
        (
            plan["Node Type"],
            plan.get("Relation Name"),
            plan.get("Index Name"),
            plan.get("Index Cond", ""),
        )
    ]
    for child in plan.get("Plans", []):
        found.extend(scans(child))
    return found


def explain(query, **kw):
    with recorded() as sql:
        page = search(query, **kw)
    assert len(sql.sent) == 1
    statement, parameters = sql.sent[0]
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return page, scans(plan[0]["Plan"])


EMAIL = {"uq_customer_email_normalized", "ix_customer_email_normalized_prefix"}
GIVEN_IX, FAMILY_IX = "ix_customer_given_key_prefix", "ix_customer_family_key_prefix"


@pytest.mark.parametrize(
    ("query", "kind", "found", "indexes"),
    [
        ("user1234@example70.com", "email", True, [EMAIL]),
        ("USER123", "email", True, [{"ix_customer_email_normalized_prefix"}]),
        ("u", "email", True, [{"ix_customer_email_normalized_prefix"}]),
        ("06 00 01 23 44", "phone", True, [{"ix_customer_phone"}]),
        ("eloise", "name", True, [{GIVEN_IX}, {FAMILY_IX}]),
        ("m", "name", True, [{GIVEN_IX}, {FAMILY_IX}]),
        ("DUPONT jean", "name", True, [{GIVEN_IX, FAMILY_IX}]),
        ("jean pierre dupont", "name", False, [{GIVEN_IX, FAMILY_IX}]),
        ("S1230", "source_id", True, [{"ix_linked_account_source_id"}]),
        ("shop:S1230", "source_id", True, [{"ix_linked_account_source_id"}]),
        ("S1230", "auto", True, [{"ix_linked_account_source_id"}, {GIVEN_IX}, {FAMILY_IX}]),
        ("dupont", "auto", True, [{"ix_linked_account_source_id"}, {GIVEN_IX}, {FAMILY_IX}]),
    ],
)
def test_each_kind_reads_its_index(app, query, kind, found, indexes):
    with app.app_context():
        page, nodes = explain(query, kind=kind)
        assert bool(page.results) is found
        _assert_indexed(nodes, indexes)


def test_public_id_reads_the_unique_index(app):
    with app.app_context():
        public_id = db.session.execute(
            sa.text("SELECT public_id FROM customer WHERE id = 777")
        ).scalar()
        page, nodes = explain(public_id)
        assert len(page.results) == 1
        _assert_indexed(nodes, [{"uq_customer_public_id"}])


def test_later_pages_start_inside_the_index(app):
    """A cursor deep in a common prefix is an index bound, not rows read and thrown away."""
    with app.app_context():
        cursor = None
        for _ in range(5):
            cursor = search("ma", kind="name", after=cursor, limit=100).next_cursor
        page, nodes = explain("ma", kind="name", after=cursor, limit=100)
        assert len(page.results) == 100
        _assert_indexed(nodes, [{GIVEN_IX}, {FAMILY_IX}])
        # The keys after the cursor's, (given_key ~>~ 'marie'), are an index range.
        assert any("~>~" in cond for *_, cond in nodes), nodes


def _assert_indexed(nodes, indexes):
    seq = [n for n in nodes if n[0] == "Seq Scan" and n[1] in {"customer", "linked_account"}]
    assert not seq, nodes
    used = {index for kind, _, index, _ in nodes if index and "Index" in kind}
    for choices in indexes:
        assert used & choices, (choices, nodes)
