"""Applications as staff manage them: the rules of ``services.clients`` (the same as
``idp clients`` and dynamic registration), each change audited with the admin as actor, and what
a client's page shows of its recent use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from idp.extensions import db
from idp.models import Client, LoginEvent
from idp.models.types import aggregate_utc
from idp.services import audit, clients

# What the audit log keeps of a registration: everything but secrets and key material.
SHOWN = (
    "name",
    "client_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "grant_types",
    "response_types",
    "scope",
    "token_endpoint_auth_method",
    "first_party",
    "require_mfa",
    "resources",
    "profile",
    "jwks_uri",
)


def _view(client: Client) -> dict[str, Any]:
    return {name: getattr(client, name) for name in SHOWN}


def create(actor: audit.Actor, **values: Any) -> tuple[Client, str | None]:
    client, secret = clients.create(**values)
    audit.record(
        actor,
        "client.created",
        target_kind="client",
        target_id=client.client_id,
        after=_view(client),
    )
    return client, secret


def update(client: Client, actor: audit.Actor, **changes: Any) -> Client:
    before = _view(client)
    clients.update(client, **changes)
    old, new = audit.changes(before, _view(client))
    if new:
        audit.record(
            actor,
            "client.updated",
            target_kind="client",
            target_id=client.client_id,
            before=old,
            after=new,
        )
    return client


def delete(client: Client, actor: audit.Actor, reason: str | None = None) -> None:
    audit.record(
        actor,
        "client.deleted",
        target_kind="client",
        target_id=client.client_id,
        before=_view(client),
        reason=reason,
    )
    clients.delete(client)


def rotate_secret(client: Client, actor: audit.Actor) -> str:
    secret = clients.rotate_secret(client)
    # The secret itself is never written anywhere but its digest on the client row.
    audit.record(actor, "client.secret_rotated", target_kind="client", target_id=client.client_id)
    return secret


@dataclass(frozen=True)
class Activity:
    active_customers_30d: int
    last_used: datetime | None
    recent: list[LoginEvent]


def activity(client: Client, *, recent: int = 20) -> Activity:
    """Who used the client lately: distinct customers in 30 days, the last events (two queries
    on ``login_event``, filtered by client and time)."""
    since = datetime.now(UTC) - timedelta(days=30)
    people, last = db.session.execute(
        select(
            func.count(func.distinct(LoginEvent.customer_id)), func.max(LoginEvent.created_at)
        ).where(LoginEvent.client_id == client.client_id, LoginEvent.created_at >= since)
    ).one()
    rows = list(
        db.session.execute(
            select(LoginEvent)
            .where(LoginEvent.client_id == client.client_id)
            .order_by(LoginEvent.id.desc())
            .limit(recent)
        ).scalars()
    )
    return Activity(int(people or 0), aggregate_utc(last), rows)
