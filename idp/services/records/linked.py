"""Linked accounts: the customer's account in another system (a shop, the loyalty program, a
CRM), named by that system's slug and its own id there. One (source, source_id) belongs to one
customer, so an import or a sign-in that brings that pair back finds the same person.

Writers add their event and audit entry to the caller's transaction; the caller commits.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.exc import IntegrityError

from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import Customer, CustomerStatus, LinkedAccount
from idp.models.types import utcnow
from idp.services import audit, events
from idp.services.events import EventTag
from idp.services.records import aliases

SOURCE = re.compile(r"[a-z0-9_-]{1,64}")
SOURCE_ID_MAX = 255
# What another system knows of the person fits in a few KiB; more is a mistake or an attack.
ATTRIBUTES_MAX = 16 * 1024


def _valid_source(source: object) -> bool:
    return isinstance(source, str) and SOURCE.fullmatch(source) is not None


def _valid_source_id(source_id: object) -> bool:
    # isprintable() refuses NUL and every other control character, tabs and newlines too.
    return (
        isinstance(source_id, str)
        and 0 < len(source_id) <= SOURCE_ID_MAX
        and source_id.isprintable()
    )


def _check(source: object, source_id: object, attributes: object) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if not _valid_source(source):
        errors["source"] = "Use 1 to 64 lowercase letters, digits, '-' or '_'."
    if not _valid_source_id(source_id):
        errors["source_id"] = "Use 1 to 255 printable characters."
    clean: dict[str, Any] = {}
    if isinstance(attributes, dict):
        clean = dict(attributes)
        try:
            size = len(json.dumps(clean, ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError):
            errors["attributes"] = "Send JSON values only."
        else:
            if size > ATTRIBUTES_MAX:
                errors["attributes"] = f"At most {ATTRIBUTES_MAX} bytes of JSON."
    elif attributes is not None:
        errors["attributes"] = "Send an object."
    if errors:
        raise ValidationError(errors)
    return clean


def _view(row: LinkedAccount) -> dict[str, Any]:
    return {"source": row.source, "source_id": row.source_id, "attributes": row.attributes}


def find(source: str, source_id: str) -> LinkedAccount | None:
    if not (_valid_source(source) and _valid_source_id(source_id)):
        return None
    return db.session.execute(
        db.select(LinkedAccount).where(
            LinkedAccount.source == source, LinkedAccount.source_id == source_id
        )
    ).scalar_one_or_none()


def link(
    customer: Customer,
    source: str,
    source_id: str,
    attributes: dict[str, Any] | None,
    *,
    actor: audit.Actor,
) -> LinkedAccount:
    """Link (source, source_id) to ``customer``, or update what that system knows when it is
    already theirs; refused when it belongs to someone else, so one account is one person."""
    clean = _check(source, source_id, attributes)
    if customer.status == CustomerStatus.MERGED:
        raise ValidationError({"customer": "This record was merged; link the survivor instead."})
    row = find(source, source_id)
    if row is not None and row.customer_id != customer.id:
        raise ValidationError({"source_id": "This account is linked to another customer."})
    if row is not None:
        if row.attributes == clean:
            return row
        before = _view(row)
        row.attributes = clean
        row.updated_at = utcnow()
        action, reason = "customer.account_updated", "updated"
    else:
        now = utcnow()
        row = LinkedAccount(
            customer_id=customer.id,
            source=source,
            source_id=source_id,
            attributes=clean,
            created_at=now,
            updated_at=now,
        )
        before = None
        action, reason = "customer.account_linked", "linked"
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError as exc:
            # Another transaction linked the same pair first: the unique key decides.
            raise ValidationError(
                {"source_id": "This account is linked to another customer."}
            ) from exc
    events.record(
        EventTag.ACCOUNT_LINKED, customer=customer, meta=actor.meta, method=reason, reason=source
    )
    audit.record(
        actor,
        action,
        target_kind="customer",
        target_id=customer.public_id,
        before=before,
        after=_view(row),
    )
    return row


def unlink(
    customer: Customer, linked_id: int, *, actor: audit.Actor, reason: str | None = None
) -> LinkedAccount:
    """Remove one of ``customer``'s linked accounts; ``NotFound`` for anyone else's."""
    row = db.session.execute(
        db.select(LinkedAccount).where(
            LinkedAccount.id == linked_id, LinkedAccount.customer_id == customer.id
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("linked account")
    db.session.delete(row)
    events.record(EventTag.ACCOUNT_UNLINKED, customer=customer, meta=actor.meta, reason=row.source)
    audit.record(
        actor,
        "customer.account_unlinked",
        target_kind="customer",
        target_id=customer.public_id,
        before=_view(row),
        reason=reason,
    )
    db.session.flush()
    return row


def listing(customer: Customer) -> list[LinkedAccount]:
    return list(
        db.session.execute(
            db.select(LinkedAccount)
            .where(LinkedAccount.customer_id == customer.id)
            .order_by(LinkedAccount.source, LinkedAccount.source_id)
        ).scalars()
    )


def resolve(source: str, source_id: str) -> Customer | None:
    """The live customer behind an account in another system, through any merge since."""
    row = find(source, source_id)
    return aliases.survivor_of(row.customer) if row is not None else None
