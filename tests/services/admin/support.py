"""Helpers for the search tests: customers and linked accounts made through the services, and
a recorder of the SQL a call sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from idp.extensions import db
from idp.models import Customer, CustomerStatus
from idp.services import audit
from idp.services.records import linked
from tests.factories import make_customer


def person(app: Flask, email: str, given: str | None = None, family: str | None = None, **kw: Any):
    """A customer without a password (hashing one is the slow part, and search never needs it)."""
    return make_customer(
        app, email=email, password=None, given_name=given, family_name=family, **kw
    )


def link(app: Flask, customer: Customer, source: str, source_id: str) -> None:
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        linked.link(row, source, source_id, {}, actor=audit.Actor.cli())
        db.session.commit()


def merge_by_hand(app: Flask, absorbed: Customer, survivor: Customer) -> None:
    """What a merge leaves on the absorbed record (status and pointer), for search only; the
    merge itself, with moved rows and undo, is another service's and not what is tested here."""
    with app.app_context():
        row = db.session.get(Customer, absorbed.id)
        row.status = CustomerStatus.MERGED
        row.merged_into_id = survivor.id
        db.session.commit()


@dataclass
class Statements:
    sent: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def recorded() -> Iterator[Statements]:
    """Every statement the current app's engine sends inside the block, with its parameters."""
    seen = Statements()

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.sent.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
