"""Merging two records on the console: side by side with a choice per field, merge with a
reason, the old id then resolves to the survivor; undo restores both; not-the-same-person marks
stop a merge; viewers compare but never merge; every step audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEntry, Customer, CustomerMerge
from idp.services.records import aliases
from tests.factories import make_customer
from tests.helpers import submit
from tests.views.admin.support import make_admin, sign_in


def pair(app):
    older = make_customer(app, email="jean.shop@example.com", given_name="Jean", verified=True)
    newer = make_customer(
        app,
        email="jean.app@example.com",
        given_name="Jean",
        family_name="Dupont",
        phone="+33612345678",
    )
    return older, newer


def compare_url(a, b) -> str:
    return f"/admin/merge?pick={b.public_id}&pick={a.public_id}"


def test_compare_merge_and_undo(app, client):
    older, newer = pair(app)
    sign_in(client, make_admin(app, "support"))
    page = client.get(compare_url(older, newer)).get_data(as_text=True)
    # The older record is kept by default; empty fields take the other side's value.
    assert f'name="survivor" value="{older.public_id}"' in page
    assert f'name="absorbed" value="{newer.public_id}"' in page
    assert 'id="choice-family_name-absorbed" value="absorbed" checked' in page
    response = submit(
        client,
        "/admin/merge",
        {
            "survivor": older.public_id,
            "absorbed": newer.public_id,
            "choice_email": "absorbed",
            "reason": "same person, ticket 42",
        },
        page=compare_url(older, newer),
    )
    assert response.status_code == 303
    merge_url = response.headers["Location"]
    with app.app_context():
        kept = db.session.get(Customer, older.id)
        assert (kept.email, kept.family_name, kept.phone) == (
            "jean.app@example.com",
            "Dupont",
            "+33612345678",
        )
        assert aliases.resolve(newer.public_id).id == older.id
        actions = list(
            db.session.execute(
                sa.select(AuditEntry.action).where(AuditEntry.action.like("customer.merge%"))
            ).scalars()
        )
        assert sorted(actions) == ["customer.merged", "customer.merged_into"]
    record_page = client.get(merge_url).get_data(as_text=True)
    assert "Undo this merge" in record_page and "ticket 42" in record_page
    assert newer.public_id in client.get("/admin/merges").get_data(as_text=True)
    undone = submit(client, f"{merge_url}/undo", {}, page=merge_url)
    assert undone.status_code == 303
    with app.app_context():
        kept = db.session.get(Customer, older.id)
        back = db.session.get(Customer, newer.id)
        assert (kept.email, kept.family_name, kept.phone) == ("jean.shop@example.com", None, None)
        assert (back.status, back.email, back.merged_into_id) == (
            "active",
            "jean.app@example.com",
            None,
        )
        assert aliases.resolve(newer.public_id).id == newer.id
        assert db.session.execute(sa.select(CustomerMerge.undone_at)).scalar_one() is not None
    again = client.get(merge_url).get_data(as_text=True)
    assert "Undo this merge" not in again and "Undone on" in again


def test_a_merge_needs_a_reason(app, client):
    older, newer = pair(app)
    sign_in(client, make_admin(app, "support"))
    response = submit(
        client,
        "/admin/merge",
        {"survivor": older.public_id, "absorbed": newer.public_id, "reason": ""},
        page=compare_url(older, newer),
    )
    assert response.status_code == 400 and "Say why" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(CustomerMerge)).scalar_one()
            == 0
        )


def test_marked_distinct_cannot_be_merged(app, client):
    older, newer = pair(app)
    sign_in(client, make_admin(app, "support"))
    marked = submit(
        client,
        "/admin/merge/distinct",
        {"survivor": older.public_id, "absorbed": newer.public_id, "reason": "twins"},
        page=compare_url(older, newer),
    )
    assert marked.status_code == 303
    page = client.get(compare_url(older, newer)).get_data(as_text=True)
    assert "two different people" in page and ">Merge</button>" not in page
    forced = submit(
        client,
        "/admin/merge",
        {"survivor": older.public_id, "absorbed": newer.public_id, "reason": "really"},
        page="/admin/merges",
    )
    assert forced.status_code == 400
    with app.app_context():
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(CustomerMerge)).scalar_one()
            == 0
        )
        assert (
            db.session.execute(
                sa.select(AuditEntry.reason).where(AuditEntry.action == "customer.marked_distinct")
            )
            .scalars()
            .all()
        )


def test_viewer_compares_but_cannot_merge_or_undo(app, client):
    older, newer = pair(app)
    sign_in(client, make_admin(app, "viewer"))
    page = client.get(compare_url(older, newer))
    assert page.status_code == 200 and ">Merge</button>" not in page.get_data(as_text=True)
    for url, data in [
        ("/admin/merge", {"survivor": older.public_id, "absorbed": newer.public_id, "reason": "x"}),
        ("/admin/merge/distinct", {"survivor": older.public_id, "absorbed": newer.public_id}),
    ]:
        assert submit(client, url, data, page="/admin/merges").status_code == 403
    with app.app_context():
        assert (
            db.session.execute(sa.select(sa.func.count()).select_from(CustomerMerge)).scalar_one()
            == 0
        )


@pytest.mark.parametrize(
    "query",
    ["", "?pick=nobody&pick=nobody2", "?pick=a", "?survivor=x&absorbed=y", "?pick=" + "x" * 100],
)
def test_bad_pairs_are_4xx(app, client, query):
    sign_in(client, make_admin(app, "viewer"))
    assert client.get(f"/admin/merge{query}").status_code in {400, 404}


def test_merging_a_record_with_itself_is_refused(app, client):
    older, _ = pair(app)
    sign_in(client, make_admin(app, "support"))
    page = client.get(
        f"/admin/merge?survivor={older.public_id}&absorbed={older.public_id}"
    ).get_data(as_text=True)
    assert "cannot be merged with itself" in page
    assert re.search(r">Merge</button>", page) is None
