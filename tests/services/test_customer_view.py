"""``services.customer_view``: one query per section, whatever the customer holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from idp.extensions import db
from idp.models import Customer
from idp.services import RequestMeta, clients, consent, customer_view, events, recovery_codes
from idp.services.events import EventTag
from tests.factories import enroll_totp, make_customer


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def _grow(app, customer: Customer, n: int) -> None:
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        assert row is not None
        for i in range(n):
            client, _ = clients.create(
                name=f"App {i}", client_type="web", redirect_uris=[f"https://a{i}.example/cb"]
            )
            consent.grant(row, client.client_id, {"email"})
            events.record(
                EventTag.LOGIN_SUCCESS,
                customer=row,
                meta=RequestMeta(ip="192.0.2.1"),
                client_id=client.client_id,
                channel="web",
            )
        db.session.commit()


def test_sections_cost_the_same_for_one_app_or_ten(app):
    """A customer with ten apps, events and factors costs the same queries as one with one."""
    few, many = make_customer(app), make_customer(app)
    enroll_totp(app, many)
    with app.app_context():
        row = db.session.get(Customer, many.id)
        assert row is not None
        recovery_codes.generate(row)
        db.session.commit()
    _grow(app, few, 1)
    _grow(app, many, 10)
    costs = []
    for who, apps in ((few, 1), (many, 10)):
        with app.app_context():
            customer = db.session.get(Customer, who.id)
            assert customer is not None
            with counted() as statements:
                view = customer_view.view(customer)
                assert len(view.connected_apps) == apps and len(view.timeline) == apps
                assert all(a.client_name for a in view.connected_apps)
            costs.append(len(statements))
    assert costs[0] == costs[1] == 5


def test_find_by_id_or_email_only(app):
    """An id or an email finds the customer; anything else (a name, NUL, blank) finds nobody."""
    ana = make_customer(app, email="ana@example.com", given_name="Ana")
    with app.app_context():
        for found_by in (ana.public_id, "ANA@example.com", f" {ana.public_id} "):
            found = customer_view.find(found_by)
            assert found is not None and found.id == ana.id
        for nobody in ("Ana", "", "a\x00@example.com", "nobody@example.com"):
            assert customer_view.find(nobody) is None
