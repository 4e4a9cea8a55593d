"""Two seeded records of one person (``a`` survives, ``b`` is absorbed) and how to merge them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask

from idp.extensions import db
from idp.models import Customer, CustomerMerge
from idp.services.records import merge as merging
from tests.factories import make_customer
from tests.services.records.seed import ACTOR, Seeded, make_clients, merge_settings, seed


@dataclass
class Pair:
    app: Flask
    clients: dict[str, str]
    a: Seeded
    b: Seeded

    def customer(self, which: Seeded | int) -> Customer:
        row = db.session.get(Customer, which if isinstance(which, int) else which.id)
        assert row is not None
        return row

    def merge(self, **kwargs: Any) -> CustomerMerge:
        """Merge b into a in the current app context and commit."""
        options: dict[str, Any] = {
            "choices": {"email": "absorbed"},
            "reason": "same person, ticket 12",
            "actor": ACTOR,
            "settings": merge_settings(self.app),
        }
        options.update(kwargs)
        record = merging.merge(self.customer(self.a), self.customer(self.b), **options)
        db.session.commit()
        return record


def make_pair(app: Flask, *, survivor_factors: bool = True) -> Pair:
    clients = make_clients(app)
    a = make_customer(
        app,
        email="ana@example.com",
        given_name="Ana",
        phone="+33612345678",
        password="a long enough passphrase" if survivor_factors else None,
    )
    b = make_customer(
        app,
        email="ana.lopez@example.com",
        given_name="Ana",
        family_name="López",
        birthdate=date(1990, 1, 31),
        address={"locality": "Lyon", "country": "FR"},
        locale="fr",
    )
    return Pair(
        app,
        clients,
        seed(app, a, clients, totp=survivor_factors, tag="a"),
        seed(app, b, clients, totp=True, tag="b"),
    )


@pytest.fixture
def pair(app: Flask) -> Pair:
    return make_pair(app)
