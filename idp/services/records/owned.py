"""Every column that points at a customer, and what a merge does with the rows behind it.

``COLUMNS`` is the one list; a test compares it with the foreign keys to ``customer.id`` that
the models declare, so a new table holding a ``customer_id`` fails the suite until someone
decides here whether its rows move with a merge. Rows are moved with one UPDATE per table and
their ids kept, so an undo moves back exactly those rows and no others.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import sqlalchemy as sa

from idp.extensions import db

# Ids per UPDATE ... WHERE id IN (...): under every database's bound-parameter limit.
CHUNK = 500


class Rule(StrEnum):
    MOVE = "move"  # every row goes to the survivor, and back on undo
    ONE_EACH = "one_each"  # one row per customer: moves only if the survivor has none
    PER_CLIENT = "per_client"  # consent: one per client; a conflict is a union of scopes
    ALIAS = "alias"  # customer.merged_into_id: set on the absorbed record alone
    HISTORY = "history"  # records about customers (merges, not-the-same marks): never move


COLUMNS: dict[tuple[str, str], Rule] = {
    ("linked_account", "customer_id"): Rule.MOVE,
    ("browser_session", "customer_id"): Rule.MOVE,  # session_client rows follow their session
    ("token_family", "customer_id"): Rule.MOVE,  # refresh tokens follow their family
    ("access_token", "customer_id"): Rule.MOVE,
    ("authorization_code", "customer_id"): Rule.MOVE,
    ("device", "customer_id"): Rule.MOVE,
    ("device_authorization", "customer_id"): Rule.MOVE,
    ("recovery_code", "customer_id"): Rule.MOVE,
    ("passkey", "customer_id"): Rule.MOVE,
    ("email_sign_in", "customer_id"): Rule.MOVE,
    ("trusted_browser", "customer_id"): Rule.MOVE,
    ("login_event", "customer_id"): Rule.MOVE,  # the timeline is the person's
    ("password_credential", "customer_id"): Rule.ONE_EACH,
    ("totp_credential", "customer_id"): Rule.ONE_EACH,  # re-sealed: bound to the owner's id
    ("consent", "customer_id"): Rule.PER_CLIENT,
    ("customer", "merged_into_id"): Rule.ALIAS,
    ("customer_merge", "survivor_id"): Rule.HISTORY,
    ("customer_merge", "absorbed_id"): Rule.HISTORY,
    ("distinct_people", "first_id"): Rule.HISTORY,  # read through aliases, see distinct.py
    ("distinct_people", "second_id"): Rule.HISTORY,
}

# Tables whose rows can change hands, each by its own rule.
_HELD = (Rule.MOVE, Rule.ONE_EACH, Rule.PER_CLIENT)
MOVED = tuple(table for (table, _), rule in COLUMNS.items() if rule is Rule.MOVE)
ONE_EACH = tuple(table for (table, _), rule in COLUMNS.items() if rule is Rule.ONE_EACH)


def customer_columns() -> set[tuple[str, str]]:
    """Every (table, column) the models point at ``customer.id``, read from the metadata."""
    found: set[tuple[str, str]] = set()
    for table in db.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == "customer" and fk.column.name == "id":
                found.add((table.name, fk.parent.name))
    return found


def _table(name: str) -> sa.Table:
    return db.metadata.tables[name]


def counts(customer_id: int) -> dict[str, int]:
    """How many rows of each customer-owned table ``customer_id`` holds: what a merge moves."""
    tables = sorted({t for (t, _), rule in COLUMNS.items() if rule in _HELD})
    result = {}
    for name in tables:
        table = _table(name)
        result[name] = db.session.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.customer_id == customer_id)
        ).scalar_one()
    return result


def move_all(name: str, source_id: int, target_id: int) -> list[int]:
    """Give every row of ``source_id`` in table ``name`` to ``target_id``; the ids moved."""
    table = _table(name)
    ids = sorted(
        db.session.execute(
            sa.update(table)
            .where(table.c.customer_id == source_id)
            .values(customer_id=target_id)
            .returning(table.c.id)
        ).scalars()
    )
    return ids


def move_back(name: str, ids: Iterable[int], source_id: int, target_id: int) -> int:
    """Give the rows ``ids`` back from ``source_id`` to ``target_id``; rows gone or owned by
    someone else since are left alone. The number moved."""
    table = _table(name)
    wanted = list(ids)
    moved = 0
    for start in range(0, len(wanted), CHUNK):
        result = db.session.execute(
            sa.update(table)
            .where(table.c.id.in_(wanted[start : start + CHUNK]), table.c.customer_id == source_id)
            .values(customer_id=target_id)
        )
        moved += result.rowcount  # type: ignore[attr-defined]
    return moved
