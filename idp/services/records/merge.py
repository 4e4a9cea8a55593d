"""Merging two records of one person, and undoing it while its window is open.

A merge hands the survivor every row the absorbed record held (``owned.COLUMNS`` says how,
table by table), copies the profile fields the admin chose, and leaves the absorbed record as
an alias: status ``merged``, ``merged_into_id`` the survivor, its email key replaced by a
placeholder so the address can live on the survivor. Everything it changed goes into the
merge's ``undo`` data, which ``undo`` (``records.undo``) replays backwards.

Nothing is revoked: the person is the same, so the absorbed record's browser sessions, token
families and devices keep working, now on the survivor; tokens issued from them from now on
carry the survivor's ``sub``, and UserInfo and introspection answer an older token with the
survivor's ``sub`` and ``merged_from``. That, the ``customer:merged`` event, and
``aliases.merged_into`` are how a client learns of the merge.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from idp import config, security
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Consent, Customer, CustomerMerge, CustomerStatus, TotpCredential
from idp.models.types import utcnow
from idp.services import audit, events, totp
from idp.services.events import EventTag
from idp.services.records import fields, owned
from idp.services.records.distinct import are_distinct, mark_distinct
from idp.services.records.locks import lock
from idp.services.records.undo import undo

__all__ = ["MergeSettings", "Preview", "are_distinct", "mark_distinct", "merge", "preview", "undo"]

REASON_MAX = 500


@dataclass(frozen=True)
class MergeSettings:
    undo_window: timedelta
    factor_key: bytes  # re-seals a moved TOTP secret to its new owner's id

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> MergeSettings:
        return cls(
            undo_window=timedelta(seconds=int(values["MERGE_UNDO_WINDOW"])),
            factor_key=config.factor_encryption_key(values),
        )


@dataclass(frozen=True)
class Preview:
    """The two records side by side, what a merge would move, and whether it may happen."""

    survivor: dict[str, Any]
    absorbed: dict[str, Any]
    suggested: dict[str, str]  # field -> "survivor" | "absorbed", what ``merge`` defaults to
    moves: dict[str, int]  # table -> rows of the absorbed record a merge hands over
    refusal: str | None  # why ``merge`` would refuse, or None


def placeholder_email(customer: Customer) -> str:
    """A unique key that is no address (RFC 6761 ``.invalid``): frees the real one."""
    return f"merged+{customer.public_id}@invalid"


def refusal(survivor: Customer, absorbed: Customer) -> str | None:
    if survivor.id == absorbed.id:
        return "A record cannot be merged with itself."
    for customer in (survivor, absorbed):
        if customer.status == CustomerStatus.MERGED:
            return (
                f"Record {customer.public_id} is already merged into another; "
                "merge its survivor instead."
            )
    if are_distinct(survivor, absorbed):
        return "These records are marked as two different people."
    return None


def preview(survivor: Customer, absorbed: Customer) -> Preview:
    return Preview(
        survivor=fields.values(survivor),
        absorbed=fields.values(absorbed),
        suggested=fields.suggested(survivor, absorbed),
        moves=owned.counts(absorbed.id),
        refusal=refusal(survivor, absorbed),
    )


def _move_row(name: str, row_id: int, target_id: int, **extra: Any) -> None:
    table = db.metadata.tables[name]
    db.session.execute(
        sa.update(table).where(table.c.id == row_id).values(customer_id=target_id, **extra)
    )


def _one_each(
    name: str, survivor: Customer, absorbed: Customer, data: dict[str, Any], key: bytes
) -> None:
    """Password, authenticator app: the absorbed one moves only if the survivor has none; else
    it stays on the alias (and comes back with an undo), recorded as kept."""
    table = db.metadata.tables[name]
    rows = {
        owner: db.session.execute(
            sa.select(table.c.id).where(table.c.customer_id == owner)
        ).scalar_one_or_none()
        for owner in (survivor.id, absorbed.id)
    }
    theirs = rows[absorbed.id]
    if theirs is None:
        return
    if rows[survivor.id] is not None:
        data["kept"].setdefault(name, []).append(theirs)
        return
    extra: dict[str, Any] = {}
    if name == "totp_credential":
        extra = _resealed(theirs, survivor, absorbed, data, key)
    _move_row(name, theirs, survivor.id, **extra)
    data["moved"].setdefault(name, []).append(theirs)


def _resealed(
    row_id: int, survivor: Customer, absorbed: Customer, data: dict[str, Any], key: bytes
) -> dict[str, Any]:
    """The TOTP secret is sealed to its owner's id (``services.totp``): seal it to the
    survivor's, keeping the old ciphertext so an undo puts back the very same bytes."""
    sealed = db.session.execute(
        sa.select(TotpCredential.secret_ciphertext).where(TotpCredential.id == row_id)
    ).scalar_one()
    data["totp"] = {"id": row_id, "ciphertext": base64.b64encode(sealed).decode()}
    try:
        secret = security.decrypt(sealed, key, totp._bound_to(absorbed))
    except security.DecryptionError:
        return {}  # already unreadable (the key changed); moving it changes nothing
    return {"secret_ciphertext": security.encrypt(secret, key, totp._bound_to(survivor))}


def _consents(survivor: Customer, absorbed: Customer, data: dict[str, Any]) -> None:
    """One consent per client: the absorbed one moves when the survivor has none for that
    client; otherwise the survivor's keeps the union of the scopes still granted, and the
    absorbed one stays on the alias."""
    mine = {
        c.client_id: c
        for c in db.session.execute(
            db.select(Consent).where(Consent.customer_id == survivor.id)
        ).scalars()
    }
    for theirs in db.session.execute(
        db.select(Consent).where(Consent.customer_id == absorbed.id).order_by(Consent.id)
    ).scalars():
        own = mine.get(theirs.client_id)
        if own is None:
            _move_row("consent", theirs.id, survivor.id)
            data["moved"].setdefault("consent", []).append(theirs.id)
            continue
        data["kept"].setdefault("consent", []).append(theirs.id)
        if theirs.withdrawn_at is not None:
            continue
        if own.withdrawn_at is not None:
            after = {"scopes": list(theirs.scopes), "granted_at": theirs.granted_at}
            after["withdrawn_at"] = None
        else:
            union = sorted(set(own.scopes) | set(theirs.scopes))  # sorted, as consent keeps them
            if union == list(own.scopes):
                continue
            after = {"scopes": union}
        before = {column: fields.dump(column, getattr(own, column)) for column in after}
        db.session.execute(sa.update(Consent.__table__).where(Consent.id == own.id).values(after))
        data["consents"].append(
            {
                "id": own.id,
                "before": before,
                "after": {k: fields.dump(k, v) for k, v in after.items()},
            }
        )


def merge(
    survivor: Customer,
    absorbed: Customer,
    *,
    choices: Mapping[str, str] | None,
    reason: str,
    actor: audit.Actor,
    settings: MergeSettings,
) -> CustomerMerge:
    """Make ``absorbed`` an alias of ``survivor``, in the caller's transaction.

    ``choices`` maps a field (``fields.CHOICES``) to the side whose value the survivor keeps; a
    field left out follows ``fields.suggested``. Raises ``ValidationError`` when the merge is
    refused (``refusal``), checked again once both rows are locked.
    """
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Say why, in 1 to {REASON_MAX} characters."})
    if survivor.id == absorbed.id:
        raise ValidationError({"merge": "A record cannot be merged with itself."})
    lock(survivor, absorbed)
    refused = refusal(survivor, absorbed)
    if refused:
        raise ValidationError({"merge": refused})
    picked = fields.chosen(choices, survivor, absorbed)
    now = utcnow()
    data: dict[str, Any] = {"version": 1, "moved": {}, "kept": {}, "consents": [], "totp": None}
    data["absorbed"] = fields.snapshot(absorbed, fields.ABSORBED_COLUMNS)
    source = fields.columns_of(absorbed)

    absorbed.email_normalized = placeholder_email(absorbed)
    absorbed.status = CustomerStatus.MERGED
    absorbed.merged_into_id = survivor.id
    db.session.flush()  # frees the email key before the survivor may take it
    survivor_updated = fields.dump("updated_at", survivor.updated_at)
    before = fields.take(survivor, source, picked)
    db.session.flush()
    db.session.refresh(survivor, ["updated_at"])
    after = {column: fields.dump(column, getattr(survivor, column)) for column in before}
    if before:
        before["updated_at"] = survivor_updated
        after["updated_at"] = fields.dump("updated_at", survivor.updated_at)
    data["survivor"] = {"before": before, "after": after}

    for name in owned.ONE_EACH:
        _one_each(name, survivor, absorbed, data, settings.factor_key)
    _consents(survivor, absorbed, data)
    for name in owned.MOVED:
        ids = owned.move_all(name, absorbed.id, survivor.id)
        if ids:
            data["moved"][name] = ids

    record = CustomerMerge(
        survivor_id=survivor.id,
        absorbed_id=absorbed.id,
        actor_kind=str(actor.kind),
        actor_id=actor.id,
        reason=reason,
        choices=picked,
        undo=data,
        created_at=now,
        undo_until=now + settings.undo_window,
    )
    db.session.add(record)
    db.session.flush()
    _written(record, survivor, absorbed, actor, before=before, after=after)
    db.session.flush()
    # Rows moved by plain UPDATEs: objects already loaded must not show their old owner.
    db.session.expire_all()
    return record


def _written(
    record: CustomerMerge,
    survivor: Customer,
    absorbed: Customer,
    actor: audit.Actor,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """The merge's events (on both timelines) and audit entries (under both records)."""
    moved = {name: len(ids) for name, ids in record.undo["moved"].items()}
    events.record(
        EventTag.CUSTOMER_MERGED,
        customer=survivor,
        meta=actor.meta,
        method="absorbed",
        reason=absorbed.public_id,
    )
    events.record(
        EventTag.CUSTOMER_MERGED,
        customer=absorbed,
        meta=actor.meta,
        method="into",
        reason=survivor.public_id,
    )
    audit.record(
        actor,
        "customer.merged",
        target_kind="customer",
        target_id=survivor.public_id,
        before=before,
        after={**after, "merge": record.public_id, "absorbed": absorbed.public_id, "moved": moved},
        reason=record.reason,
    )
    audit.record(
        actor,
        "customer.merged_into",
        target_kind="customer",
        target_id=absorbed.public_id,
        before={"status": record.undo["absorbed"]["status"]},
        after={"status": CustomerStatus.MERGED.value, "merged_into": survivor.public_id},
        reason=record.reason,
    )
