"""Undoing a merge: both records back as they were, while the merge's window is open.

Every row the merge moved goes back to the absorbed record (by id, so nothing else does), the
survivor's consents and profile fields get their earlier values, and the alias becomes a
record again. Rows created on the survivor after the merge (sessions, tokens, events) stay with
the survivor: the merged person made them, and nothing says which half they belong to. A value
changed on the survivor since the merge (a profile field, a consent withdrawn) is kept too:
undo only puts back what still holds the value the merge gave it.

An undo is refused once a later merge involves either record: that merge's undo data assumes
the rows where they are now, so only undoing the newest merge first keeps every undo exact.
"""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Consent, Customer, CustomerMerge, CustomerStatus, TotpCredential
from idp.models.types import utcnow
from idp.services import audit, events
from idp.services.events import EventTag
from idp.services.records import fields, owned
from idp.services.records.locks import lock


def _refusal(record: CustomerMerge, survivor: Customer, absorbed: Customer) -> str | None:
    if record.undone_at is not None:
        return "This merge was already undone."
    if utcnow() >= record.undo_until:
        ended = f"{record.undo_until:%Y-%m-%d %H:%M} UTC"
        return f"This merge can no longer be undone: its window ended {ended}."
    ids = (record.survivor_id, record.absorbed_id)
    later = db.session.execute(
        db.select(CustomerMerge.public_id)
        .where(
            CustomerMerge.id > record.id,
            CustomerMerge.undone_at.is_(None),
            sa.or_(CustomerMerge.survivor_id.in_(ids), CustomerMerge.absorbed_id.in_(ids)),
        )
        .order_by(CustomerMerge.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if later is not None:
        return f"A later merge ({later}) involves these records: undo it first."
    if absorbed.status != CustomerStatus.MERGED or absorbed.merged_into_id != survivor.id:
        return "The absorbed record changed since the merge."
    return None


def _restore_customers(
    record: CustomerMerge, survivor: Customer, absorbed: Customer
) -> dict[str, Any]:
    """Survivor fields still as the merge left them, then the alias's own; the survivor's
    values put back. Refused when the absorbed email was taken by someone else since."""
    saved = record.undo["survivor"]
    current = {column: fields.dump(column, getattr(survivor, column)) for column in saved["after"]}
    restored: dict[str, Any] = {}
    for column, value in saved["before"].items():
        if column != "updated_at" and current[column] == saved["after"][column]:
            restored[column] = value
    if "updated_at" in saved["before"] and current["updated_at"] == saved["after"]["updated_at"]:
        restored["updated_at"] = saved["before"]["updated_at"]
    try:
        with db.session.begin_nested():
            for column, value in restored.items():
                setattr(survivor, column, fields.load(column, value))
            db.session.flush()  # frees the absorbed email key before the alias takes it back
            for column, value in record.undo["absorbed"].items():
                setattr(absorbed, column, fields.load(column, value))
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationError(
            {"merge": "The absorbed record's email is used by another record now."}
        ) from exc
    return restored


def _restore_rows(record: CustomerMerge) -> dict[str, int]:
    undo = record.undo
    back = {
        name: owned.move_back(name, ids, record.survivor_id, record.absorbed_id)
        for name, ids in undo["moved"].items()
    }
    if undo.get("totp"):
        db.session.execute(
            sa.update(TotpCredential.__table__)
            .where(
                TotpCredential.id == undo["totp"]["id"],
                TotpCredential.customer_id == record.absorbed_id,
            )
            .values(secret_ciphertext=base64.b64decode(undo["totp"]["ciphertext"]))
        )
    for saved in undo["consents"]:
        own = db.session.get(Consent, saved["id"])
        if own is None:
            continue
        if all(fields.dump(k, getattr(own, k)) == v for k, v in saved["after"].items()):
            values = {k: fields.load(k, v) for k, v in saved["before"].items()}
            db.session.execute(
                sa.update(Consent.__table__).where(Consent.id == own.id).values(values)
            )
    return back


def undo(record: CustomerMerge, *, actor: audit.Actor) -> CustomerMerge:
    """Undo ``record`` in the caller's transaction; ``ValidationError`` says why it cannot."""
    survivor, absorbed = record.survivor, record.absorbed
    lock(survivor, absorbed)
    db.session.refresh(record, with_for_update=True)
    refused = _refusal(record, survivor, absorbed)
    if refused:
        raise ValidationError({"merge": refused})
    restored = _restore_customers(record, survivor, absorbed)
    back = _restore_rows(record)
    record.undone_at = utcnow()
    record.undone_by = (actor.id or str(actor.kind))[:64]
    for one, method, other in ((survivor, "survivor", absorbed), (absorbed, "absorbed", survivor)):
        events.record(
            EventTag.MERGE_UNDONE,
            customer=one,
            meta=actor.meta,
            method=method,
            reason=other.public_id,
        )
    for target, before, after in (
        (survivor, record.undo["survivor"]["after"], restored),
        (absorbed, {"status": CustomerStatus.MERGED.value}, {"status": absorbed.status}),
    ):
        audit.record(
            actor,
            "customer.merge_undone",
            target_kind="customer",
            target_id=target.public_id,
            before=before,
            after={**after, "merge": record.public_id, "moved_back": back},
        )
    db.session.flush()
    db.session.expire_all()
    return record
