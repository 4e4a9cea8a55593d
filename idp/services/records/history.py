"""Reading merges back: the console's list of recent merges and one merge's page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import joinedload

from idp.errors import NotFound
from idp.extensions import db
from idp.models import CustomerMerge
from idp.models.types import utcnow

PAGE_SIZE = 50


def get(public_id: str) -> CustomerMerge:
    found = db.session.execute(
        db.select(CustomerMerge).where(CustomerMerge.public_id == public_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(public_id)
    return found


def can_undo(record: CustomerMerge) -> bool:
    """Within its window and not undone; ``undo`` checks the rest (later merges) itself."""
    return record.undone_at is None and utcnow() < record.undo_until


@dataclass(frozen=True)
class Page:
    merges: list[CustomerMerge]
    next_before_id: int | None


def recent(*, before_id: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Newest first by keyset; both customers loaded in the same query (no query per row)."""
    query = db.select(CustomerMerge).options(
        joinedload(CustomerMerge.survivor), joinedload(CustomerMerge.absorbed)
    )
    if before_id is not None:
        query = query.where(CustomerMerge.id < before_id)
    rows = list(
        db.session.execute(query.order_by(CustomerMerge.id.desc()).limit(limit + 1)).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)
