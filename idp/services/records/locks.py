"""Row locks for changes to two records at once (a merge, its undo)."""

from __future__ import annotations

from idp.extensions import db
from idp.models import Customer


def lock(*customers: Customer) -> None:
    """Lock the customers' rows until the transaction ends, smallest id first, and reload them.

    ``SELECT ... FOR UPDATE`` on PostgreSQL: a second merge of the same pair waits, then sees
    the first one's result. Always taking the smaller id first means two merges of one pair in
    opposite directions queue instead of deadlocking. SQLite has no row locks (the clause is
    left out) and lets one writer at a time in.
    """
    for customer_id in sorted({customer.id for customer in customers}):
        db.session.execute(
            db.select(Customer)
            .where(Customer.id == customer_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
