"""Everything known about one customer, read at once: what ``idp customers show`` prints and what
the console's customer page shows.

Plain data, no formatting: each section is one query whatever the customer holds (no query per
row), and nothing secret leaves (factor kinds and dates, never a key, digest or ciphertext).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from idp.extensions import db
from idp.models import (
    BrowserSession,
    Client,
    Consent,
    Customer,
    LinkedAccount,
    LoginEvent,
    Passkey,
    RecoveryCode,
    TotpCredential,
)
from idp.models.types import utcnow
from idp.services import customers

TIMELINE = 20


@dataclass(frozen=True)
class Linked:
    """An account of this person in another system, and what that system knows of them."""

    source: str
    source_id: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Factor:
    """A second factor: ``totp``, ``passkey`` (named) or ``recovery_codes`` (how many left)."""

    kind: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    remaining: int | None = None


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    client_name: str | None  # None once the client was deleted
    scopes: list[str]
    granted_at: datetime


@dataclass(frozen=True)
class Event:
    at: datetime
    tag: str
    success: bool
    client_id: str | None
    client_name: str | None
    channel: str | None
    method: str | None
    reason: str | None
    ip: str | None


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    merged_into: str | None  # the survivor's public id when a merge absorbed this record
    linked_accounts: list[Linked]
    factors: list[Factor]
    live_sessions: int
    connected_apps: list[ConnectedApp]
    timeline: list[Event]  # newest first


def find(identifier: str) -> Customer | None:
    """A customer by public id or by email (any case)."""
    identifier = identifier.strip()
    if not identifier or "\x00" in identifier:
        return None
    found = customers.find_by_public_id(identifier)
    if found is None and "@" in identifier:
        found = customers.find_by_email(identifier)
    return found


def linked_accounts(customer: Customer) -> list[Linked]:
    rows = db.session.execute(
        db.select(LinkedAccount)
        .where(LinkedAccount.customer_id == customer.id)
        .order_by(LinkedAccount.source, LinkedAccount.source_id)
    ).scalars()
    return [
        Linked(r.source, r.source_id, dict(r.attributes or {}), r.created_at, r.updated_at)
        for r in rows
    ]


def factors(customer: Customer) -> list[Factor]:
    """The confirmed authenticator app, each passkey, and the unused recovery codes, in one
    query (a union of the three tables)."""
    text = sa.String(64)
    totp = db.select(
        sa.literal("totp", text).label("kind"),
        sa.null().cast(text).label("name"),
        TotpCredential.confirmed_at.label("created_at"),
        TotpCredential.last_used_at.label("last_used_at"),
        sa.null().cast(sa.Integer).label("remaining"),
    ).where(TotpCredential.customer_id == customer.id, TotpCredential.confirmed_at.is_not(None))
    keys = db.select(
        sa.literal("passkey", text),
        sa.cast(Passkey.name, text),
        Passkey.created_at,
        Passkey.last_used_at,
        sa.null().cast(sa.Integer),
    ).where(Passkey.customer_id == customer.id)
    codes = (
        db.select(
            sa.literal("recovery_codes", text),
            sa.null().cast(text),
            sa.func.min(RecoveryCode.created_at),
            sa.null().cast(RecoveryCode.used_at.type),
            sa.func.count(RecoveryCode.id),
        )
        .where(RecoveryCode.customer_id == customer.id, RecoveryCode.used_at.is_(None))
        .having(sa.func.count(RecoveryCode.id) > 0)
    )
    union = sa.union_all(totp, keys, codes).subquery()
    rows = db.session.execute(
        db.select(union).order_by(union.c.created_at, union.c.kind, union.c.name)
    ).all()
    # The union's columns take the first select's types: times come back as aware UTC.
    return [Factor(r.kind, r.name, r.created_at, r.last_used_at, r.remaining) for r in rows]


def live_session_count(customer: Customer) -> int:
    return db.session.execute(
        db.select(sa.func.count(BrowserSession.id)).where(
            BrowserSession.customer_id == customer.id,
            BrowserSession.ended_at.is_(None),
            BrowserSession.expires_at > utcnow(),
        )
    ).scalar_one()


def connected_apps(customer: Customer) -> list[ConnectedApp]:
    rows = db.session.execute(
        db.select(Consent, Client.name)
        .outerjoin(Client, Client.client_id == Consent.client_id)
        .where(Consent.customer_id == customer.id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    ).all()
    return [ConnectedApp(c.client_id, name, list(c.scopes or []), c.granted_at) for c, name in rows]


def timeline(customer: Customer, limit: int = TIMELINE) -> list[Event]:
    rows = db.session.execute(
        db.select(LoginEvent, Client.name)
        .outerjoin(Client, Client.client_id == LoginEvent.client_id)
        .where(LoginEvent.customer_id == customer.id)
        .order_by(LoginEvent.created_at.desc(), LoginEvent.id.desc())
        .limit(limit)
    ).all()
    return [Event(**event_fields(e, name)) for e, name in rows]


def event_fields(e: LoginEvent, client_name: str | None) -> dict[str, Any]:
    """An event row as ``Event`` holds it; the console's timeline adds its own fields."""
    return {
        "at": e.created_at,
        "tag": e.tag,
        "success": e.success,
        "client_id": e.client_id,
        "client_name": client_name,
        "channel": e.channel,
        "method": e.method,
        "reason": e.reason,
        "ip": e.ip,
    }


def view(customer: Customer, *, timeline_limit: int = TIMELINE) -> CustomerView:
    merged_into = None
    if customer.merged_into_id is not None:
        merged_into = db.session.execute(
            db.select(Customer.public_id).where(Customer.id == customer.merged_into_id)
        ).scalar_one_or_none()
    return CustomerView(
        customer=customer,
        merged_into=merged_into,
        linked_accounts=linked_accounts(customer),
        factors=factors(customer),
        live_sessions=live_session_count(customer),
        connected_apps=connected_apps(customer),
        # 0: the caller reads the timeline its own way (the console pages it), no query here.
        timeline=timeline(customer, timeline_limit) if timeline_limit else [],
    )
