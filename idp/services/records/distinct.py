"""Two records marked "not the same person": never merged, by hand or by an import.

A mark stays on the two records it was made for; when one of them is later absorbed by a
merge, the mark still holds for the survivor, because ``are_distinct`` reads each side with
the aliases merged into it.
"""

from __future__ import annotations

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, CustomerStatus, DistinctPeople
from idp.services import audit, events
from idp.services.events import EventTag
from idp.services.records import aliases


def _ids(customer: Customer) -> list[int]:
    return [customer.id, *(alias.id for alias in aliases.absorbed_into(customer))]


def are_distinct(a: Customer, b: Customer) -> bool:
    """Whether anyone said these two (or records since merged into them) are two people."""
    left, right = _ids(a), _ids(b)
    found = db.session.execute(
        db.select(DistinctPeople.id)
        .where(
            db.or_(
                DistinctPeople.first_id.in_(left) & DistinctPeople.second_id.in_(right),
                DistinctPeople.first_id.in_(right) & DistinctPeople.second_id.in_(left),
            )
        )
        .limit(1)
    ).first()
    return found is not None


def mark_distinct(
    a: Customer, b: Customer, *, actor: audit.Actor, reason: str | None = None
) -> DistinctPeople:
    """Remember that ``a`` and ``b`` are two people; marking a pair again changes nothing."""
    if a.id == b.id:
        raise ValidationError({"customer": "A record is always the same person as itself."})
    if CustomerStatus.MERGED in (a.status, b.status):
        raise ValidationError({"customer": "Mark the record this one was merged into."})
    first, second = sorted((a, b), key=lambda c: c.id)
    existing = db.session.execute(
        db.select(DistinctPeople).where(
            DistinctPeople.first_id == first.id, DistinctPeople.second_id == second.id
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    mark = DistinctPeople(
        first_id=first.id,
        second_id=second.id,
        actor_kind=str(actor.kind),
        actor_id=actor.id,
        reason=(reason or "")[:500] or None,
    )
    db.session.add(mark)
    for one, other in ((a, b), (b, a)):
        events.record(
            EventTag.MARKED_DISTINCT, customer=one, meta=actor.meta, reason=other.public_id
        )
    audit.record(
        actor,
        "customer.marked_distinct",
        target_kind="customer",
        target_id=a.public_id,
        after={"other": b.public_id},
        reason=reason,
    )
    db.session.flush()
    return mark
