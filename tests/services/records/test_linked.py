"""Linked accounts (services.records.linked): one (source, source_id) is one person's."""

from __future__ import annotations

import pytest

from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import AuditEntry, Customer, LinkedAccount, LoginEvent
from idp.services.records import linked
from tests.factories import make_customer
from tests.services.records.seed import ACTOR


def _get(customer: Customer) -> Customer:
    row = db.session.get(Customer, customer.id)
    assert row is not None
    return row


def _audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.execute(
            db.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def _events(customer: Customer, tag: str) -> list[LoginEvent]:
    return list(
        db.session.execute(
            db.select(LoginEvent).where(
                LoginEvent.customer_id == customer.id, LoginEvent.tag == tag
            )
        ).scalars()
    )


def test_link_then_update_then_unlink_each_audited_with_an_event(app):
    """Linking, changing what the source knows, and unlinking each write an event and an entry."""
    ana = make_customer(app)
    with app.app_context():
        row = linked.link(_get(ana), "loyalty", "L-1", {"tier": "gold"}, actor=ACTOR)
        db.session.commit()
        same = linked.link(_get(ana), "loyalty", "L-1", {"tier": "gold"}, actor=ACTOR)
        assert same.id == row.id  # nothing changed: no entry
        linked.link(_get(ana), "loyalty", "L-1", {"tier": "silver"}, actor=ACTOR)
        db.session.commit()
        assert [a.source_id for a in linked.listing(_get(ana))] == ["L-1"]
        assert linked.listing(_get(ana))[0].attributes == {"tier": "silver"}
        linked.unlink(_get(ana), row.id, actor=ACTOR, reason="ticket 7")
        db.session.commit()
        assert linked.listing(_get(ana)) == []

        created, updated = _audit("customer.account_linked"), _audit("customer.account_updated")
        assert len(created) == 1 and created[0].target_id == ana.public_id
        assert created[0].after == {
            "source": "loyalty",
            "source_id": "L-1",
            "attributes": {"tier": "gold"},
        }
        assert updated[0].before["attributes"] == {"tier": "gold"}
        assert updated[0].after["attributes"] == {"tier": "silver"}
        removed = _audit("customer.account_unlinked")
        assert removed[0].before["source_id"] == "L-1" and removed[0].reason == "ticket 7"
        assert [e.method for e in _events(ana, "customer:account:linked")] == ["linked", "updated"]
        assert [e.reason for e in _events(ana, "customer:account:unlinked")] == ["loyalty"]


def test_an_account_of_someone_else_is_refused(app):
    """The same source id in the same source cannot belong to two customers."""
    ana, bo = make_customer(app), make_customer(app)
    with app.app_context():
        linked.link(_get(ana), "shop", "42", None, actor=ACTOR)
        db.session.commit()
        with pytest.raises(ValidationError) as refused:
            linked.link(_get(bo), "shop", "42", {}, actor=ACTOR)
        assert "source_id" in refused.value.errors
        linked.link(_get(bo), "crm", "42", {}, actor=ACTOR)  # another source: another account
        db.session.commit()
        assert db.session.execute(db.select(db.func.count(LinkedAccount.id))).scalar_one() == 2


@pytest.mark.parametrize(
    ("source", "source_id", "attributes", "field"),
    [
        ("Shop", "1", {}, "source"),
        ("", "1", {}, "source"),
        ("s" * 65, "1", {}, "source"),
        ("shop.fr", "1", {}, "source"),
        ("shop", "", {}, "source_id"),
        ("shop", "x" * 256, {}, "source_id"),
        ("shop", "a\x00b", {}, "source_id"),
        ("shop", "a\nb", {}, "source_id"),
        ("shop", "1", ["not", "an", "object"], "attributes"),
        ("shop", "1", {"n": float("nan")}, "attributes"),
        ("shop", "1", {"big": "x" * 17000}, "attributes"),
    ],
)
def test_bad_values_are_refused(app, source, source_id, attributes, field):
    """Sources are short slugs, source ids 1-255 printable characters, attributes small JSON."""
    ana = make_customer(app)
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            linked.link(_get(ana), source, source_id, attributes, actor=ACTOR)
        assert field in refused.value.errors
        assert linked.resolve(source, source_id) is None


def test_longest_values_are_accepted(app):
    """The limits themselves are allowed, spaces and non-ASCII included."""
    ana = make_customer(app)
    with app.app_context():
        linked.link(_get(ana), "a" * 64, "é " + "x" * 253, {}, actor=ACTOR)
        db.session.commit()
        found = linked.resolve("a" * 64, "é " + "x" * 253)
        assert found is not None and found.id == ana.id


def test_unlinking_another_customers_account_is_not_found(app):
    """A linked id of someone else is as unknown as a missing one."""
    ana, bo = make_customer(app), make_customer(app)
    with app.app_context():
        row = linked.link(_get(ana), "shop", "7", {}, actor=ACTOR)
        db.session.commit()
        with pytest.raises(NotFound):
            linked.unlink(_get(bo), row.id, actor=ACTOR)
        with pytest.raises(NotFound):
            linked.unlink(_get(ana), row.id + 1000, actor=ACTOR)


def test_resolve_finds_the_customer_or_none(app):
    """resolve answers the owner, and None for an unknown pair."""
    ana = make_customer(app)
    with app.app_context():
        linked.link(_get(ana), "shop", "7", {}, actor=ACTOR)
        db.session.commit()
        found = linked.resolve("shop", "7")
        assert found is not None and found.id == ana.id
        assert linked.resolve("shop", "8") is None
        assert linked.resolve("crm", "7") is None
