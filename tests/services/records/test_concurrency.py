"""Two merges of the same pair at once, on PostgreSQL: the row locks let exactly one win."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, CustomerMerge
from idp.services.records import merge as merging
from tests.conftest_support import PG_URL
from tests.factories import make_customer
from tests.services.records.seed import ACTOR, merge_settings

pytestmark = pytest.mark.skipif(not PG_URL, reason="row locks need PostgreSQL")


def _merge(app: Flask, survivor_id: int, absorbed_id: int, start: threading.Barrier, out: list):
    with app.app_context():
        survivor = db.session.get(Customer, survivor_id)
        absorbed = db.session.get(Customer, absorbed_id)
        start.wait()
        try:
            merging.merge(
                survivor,  # type: ignore[arg-type]
                absorbed,  # type: ignore[arg-type]
                choices=None,
                reason="race",
                actor=ACTOR,
                settings=merge_settings(app),
            )
            db.session.commit()
            out.append("merged")
        except ValidationError as exc:
            db.session.rollback()
            out.append(str(exc))
        finally:
            db.session.remove()


@pytest.mark.parametrize("opposite", [False, True], ids=["same-direction", "opposite"])
def test_concurrent_merges_of_one_pair_end_with_one_merge(app, opposite):
    """Both threads read two live records; the second waits on the lock, then sees the alias.
    Merging in opposite directions queues too (locks in id order): no deadlock."""
    a, b = make_customer(app), make_customer(app)
    start = threading.Barrier(2)
    out: list[str] = []
    pairs = [(a.id, b.id), (b.id, a.id) if opposite else (a.id, b.id)]
    threads = [threading.Thread(target=_merge, args=(app, s, t, start, out)) for s, t in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(out) == 2 and out.count("merged") == 1, out
    assert "already merged" in next(o for o in out if o != "merged")
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(CustomerMerge.id))).scalar_one() == 1
