"""The audit log's one writer and its readers.

Every change an admin, a service client or an operator makes to a record goes through
``record``, in the same transaction as the change: the caller's commit makes both durable, and
a rollback drops both. Entries are only ever added (the database refuses edits, see
``idp.models.audit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from idp.extensions import db
from idp.models import AdminUser, AuditEntry
from idp.services import RequestMeta

PAGE_SIZE = 50


class ActorKind(StrEnum):
    ADMIN = "admin"  # a staff account, on the console
    CLIENT = "client"  # a service client, through the admin API or SCIM
    CLI = "cli"  # an operator at the command line
    SYSTEM = "system"  # idp itself (an import's automatic merge, a scheduled purge)


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where; services take one and write it into every entry."""

    kind: ActorKind
    id: str | None = None
    label: str | None = None
    meta: RequestMeta = field(default_factory=RequestMeta)

    @classmethod
    def admin(cls, admin: AdminUser, meta: RequestMeta | None = None) -> Actor:
        return cls(ActorKind.ADMIN, admin.public_id, admin.email, meta or RequestMeta())

    @classmethod
    def client(cls, client_id: str, name: str | None, meta: RequestMeta | None = None) -> Actor:
        return cls(ActorKind.CLIENT, client_id, name, meta or RequestMeta())

    @classmethod
    def cli(cls) -> Actor:
        return cls(ActorKind.CLI, None, "command line")

    @classmethod
    def system(cls, label: str = "idp") -> Actor:
        return cls(ActorKind.SYSTEM, None, label)


def _jsonable(value: Any) -> Any:
    """Values as JSON can hold them: dates as ISO 8601, sets sorted, the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, as (before, after): what a reader of the log needs."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    actor: Actor,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an entry to the current transaction; the caller's commit makes it durable."""
    entry = AuditEntry(
        actor_kind=str(actor.kind),
        actor_id=actor.id,
        actor_label=(actor.label or "")[:320] or None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        before=_jsonable(dict(before)) if before is not None else None,
        after=_jsonable(dict(after)) if after is not None else None,
        reason=(reason or "")[:500] or None,
        ip=actor.meta.ip,
        user_agent=(actor.meta.user_agent or "")[:512] or None,
    )
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class Page:
    entries: list[AuditEntry]
    # The id to pass as ``before_id`` for the next (older) page; None on the last page.
    next_before_id: int | None


def entries(
    *,
    target_kind: str | None = None,
    target_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Newest first, by keyset (``id < before_id``): page 1,000 costs what page 1 costs."""
    query = db.select(AuditEntry)
    if target_kind is not None:
        query = query.where(AuditEntry.target_kind == target_kind)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(db.session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)
