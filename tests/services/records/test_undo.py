"""Undoing a merge (services.records.undo): both records exactly as before, every table
compared, within the window only, newest merge first, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import AuditEntry, BrowserSession, CustomerMerge, LoginEvent
from idp.models.types import utcnow
from idp.services import sessions
from idp.services.records import aliases, linked, owned
from idp.services.records import merge as merging
from idp.views import context
from tests.factories import make_customer
from tests.services.records.conftest import Pair, make_pair
from tests.services.records.seed import ACTOR, META, merge_settings

# Tables that only grow: rows the merge and the undo add are theirs, the older ones must match.
APPEND_ONLY = ("audit_entry", "login_event", "customer_merge")


def snapshot(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every column of every row of every table, in primary-key order."""
    with app.app_context():
        return {
            table.name: [
                dict(row)
                for row in db.session.execute(
                    sa.select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in db.metadata.sorted_tables
        }


def assert_same(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]):
    assert set(before) == set(after)
    for name, rows in before.items():
        now = after[name]
        if name in APPEND_ONLY:
            last = max((row["id"] for row in rows), default=0)
            now = [row for row in now if row["id"] <= last]
        assert now == rows, name


@pytest.mark.parametrize("survivor_factors", [True, False], ids=["survivor-has-factors", "bare"])
def test_merge_then_undo_restores_every_table_exactly(app, survivor_factors):
    """Seed two records with rows in every customer-owned table (and an earlier merge into the
    absorbed one, and a not-the-same mark), merge, undo: every table is as it was."""
    pair = make_pair(app, survivor_factors=survivor_factors)
    earlier = make_customer(app, email="old.ana@example.com")
    other = make_customer(app, email="someone@example.com")
    with app.app_context():
        linked.link(pair.customer(earlier.id), "crm", "C-9", {"from": "crm"}, actor=ACTOR)
        merging.merge(
            pair.customer(pair.b),
            pair.customer(earlier.id),
            choices=None,
            reason="older duplicate",
            actor=ACTOR,
            settings=merge_settings(app),
        )
        merging.mark_distinct(pair.customer(pair.b), pair.customer(other.id), actor=ACTOR)
        db.session.commit()
    before = snapshot(app)
    with app.app_context():
        record = pair.merge(
            choices={"email": "absorbed", "phone": "survivor", "given_name": "absorbed"}
        )
        assert all(
            n == 0
            for t, n in owned.counts(pair.b.id).items()
            if t in owned.MOVED and t != "login_event"
        )
        assert aliases.resolve(earlier.public_id).id == pair.a.id  # type: ignore[union-attr]
        record_id = record.id
    merged = snapshot(app)
    # The merge really changed every table it touches, so the comparison below proves something.
    changed = {name for name, rows in merged.items() if rows != before[name]}
    touched = {t for (t, _), rule in owned.COLUMNS.items() if rule is not owned.Rule.HISTORY}
    expected = touched | {"audit_entry", "customer_merge"}
    if survivor_factors:
        expected -= {"password_credential", "totp_credential"}  # both had one: neither moved
    assert changed == expected
    with app.app_context():
        merging.undo(db.session.get(CustomerMerge, record_id), actor=ACTOR)  # type: ignore[arg-type]
        db.session.commit()
    assert_same(before, snapshot(app))
    with app.app_context():
        assert aliases.resolve(pair.b.public_id).id == pair.b.id  # type: ignore[union-attr]
        assert aliases.merged_into(pair.b.public_id) is None
        assert aliases.resolve(earlier.public_id).id == pair.b.id  # type: ignore[union-attr]


def _undo(pair: Pair, record_id: int) -> CustomerMerge:
    record = merging.undo(db.session.get(CustomerMerge, record_id), actor=ACTOR)  # type: ignore[arg-type]
    db.session.commit()
    return record


def test_undo_is_audited_and_on_both_timelines(pair: Pair):
    """Undo writes an entry under each record and an event on each timeline, and says when."""
    with pair.app.app_context():
        record_id = pair.merge().id
        record = _undo(pair, record_id)
        assert record.undone_at is not None and record.undone_by == "cli"
        entries = (
            db.session.execute(
                db.select(AuditEntry.target_id).where(AuditEntry.action == "customer.merge_undone")
            )
            .scalars()
            .all()
        )
        assert sorted(entries) == sorted([pair.a.public_id, pair.b.public_id])
        undone = db.session.execute(
            db.select(LoginEvent.customer_id, LoginEvent.method).where(
                LoginEvent.tag == "customer:merge_undone"
            )
        ).all()
        assert sorted(undone) == sorted([(pair.a.id, "survivor"), (pair.b.id, "absorbed")])


def test_rows_made_after_the_merge_stay_with_the_survivor(pair: Pair):
    """A session started on the survivor after the merge is the merged person's: it stays."""
    with pair.app.app_context():
        record_id = pair.merge().id
        _, fresh = sessions.start(
            pair.customer(pair.a), amr=["pwd"], meta=META, policy=context.session_policy()
        )
        db.session.commit()
        fresh_id = fresh.id
        _undo(pair, record_id)
        assert db.session.get(BrowserSession, fresh_id).customer_id == pair.a.id  # type: ignore[union-attr]


def test_a_field_edited_since_the_merge_is_kept(pair: Pair):
    """Undo gives back the survivor's old value only where the merge's value still stands."""
    with pair.app.app_context():
        record_id = pair.merge(choices={"email": "absorbed", "locale": "absorbed"}).id
        pair.customer(pair.a).locale = "en"
        db.session.commit()
        _undo(pair, record_id)
        a, b = pair.customer(pair.a), pair.customer(pair.b)
        assert a.locale == "en" and a.email == "ana@example.com"
        assert b.email_normalized == "ana.lopez@example.com"


def test_undo_refusals(pair: Pair):
    """Refused: after the window, a second time, and before a later merge of either record."""
    with pair.app.app_context():
        record_id = pair.merge().id
        third = pair.customer(make_customer(pair.app).id)
        later = merging.merge(
            pair.customer(pair.a),
            third,
            choices=None,
            reason="another duplicate",
            actor=ACTOR,
            settings=merge_settings(pair.app),
        )
        db.session.commit()
        with pytest.raises(ValidationError, match=f"later merge \\({later.public_id}\\)"):
            _undo(pair, record_id)
        db.session.rollback()
        _undo(pair, later.id)
        with pytest.raises(ValidationError, match="already undone"):
            _undo(pair, later.id)
        db.session.rollback()
        db.session.execute(
            sa.update(CustomerMerge)
            .where(CustomerMerge.id == record_id)
            .values(undo_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        with pytest.raises(ValidationError, match="no longer be undone"):
            _undo(pair, record_id)
        db.session.rollback()
        assert aliases.merged_into(pair.b.public_id) == pair.a.public_id


def test_undo_refused_when_the_email_was_taken_since(pair: Pair):
    """The absorbed record's address, freed by the merge, now used by a new record: refused."""
    with pair.app.app_context():
        record_id = pair.merge(choices={"email": "survivor"}).id
    make_customer(pair.app, email="ana.lopez@example.com")
    with pair.app.app_context():
        with pytest.raises(ValidationError, match="email is used by another record"):
            _undo(pair, record_id)
        db.session.rollback()
        assert db.session.get(CustomerMerge, record_id).undone_at is None  # type: ignore[union-attr]
