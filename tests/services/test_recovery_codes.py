"""Recovery codes: ten, random, stored as digests, each spent once, replaced as a set."""

from __future__ import annotations

import re

from idp import security
from idp.extensions import db
from idp.models import Customer, RecoveryCode
from idp.services import mfa, recovery_codes
from tests.factories import make_customer


def _generate(app, customer) -> list[str]:
    with app.app_context():
        codes = recovery_codes.generate(db.session.get(Customer, customer.id))
        db.session.commit()
    return codes


def test_ten_distinct_codes_kept_only_as_digests(app):
    customer = make_customer(app)
    codes = _generate(app, customer)
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}", c) for c in codes)
    with app.app_context():
        stored = {r.code_digest for r in db.session.execute(db.select(RecoveryCode)).scalars()}
    assert stored == {security.digest(c.replace("-", "")) for c in codes}


def test_each_code_works_once_and_is_read_forgivingly(app):
    """Upper case, spaces and O-for-0 are forgiven; a spent code fails the second time."""
    customer = make_customer(app)
    codes = _generate(app, customer)
    typed = codes[0].upper().replace("-", " ").replace("0", "O")
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        assert recovery_codes.use(row, typed) is True
        db.session.commit()
        assert recovery_codes.use(row, codes[0]) is False
        assert mfa.remaining_recovery_codes(row) == 9


def test_new_codes_replace_the_old_ones(app):
    customer = make_customer(app)
    old = _generate(app, customer)
    new = _generate(app, customer)
    with app.app_context():
        row = db.session.get(Customer, customer.id)
        assert recovery_codes.use(row, old[1]) is False
        assert recovery_codes.use(row, new[1]) is True


def test_another_customers_code_does_not_work(app):
    ana, bob = make_customer(app), make_customer(app)
    codes = _generate(app, ana)
    with app.app_context():
        assert recovery_codes.use(db.session.get(Customer, bob.id), codes[0]) is False
        assert recovery_codes.use(db.session.get(Customer, bob.id), "") is False
        assert recovery_codes.use(db.session.get(Customer, bob.id), "x" * 10_000) is False
