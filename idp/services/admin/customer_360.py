"""The console's customer page, read at once: what ``customer_view`` gives (profile, linked
accounts, factors, consented apps) plus the timeline with its filters and keyset pages, the last
sign of life per channel, live sessions with the apps in each, devices, every grant an app
holds, the consent history and what staff did to the record.

Each section is one query (two for sessions and their apps) whatever the customer holds, so the
page costs the same for a customer with one session and one with a hundred.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import (
    BrowserSession,
    Client,
    Consent,
    Customer,
    Device,
    LoginEvent,
    SessionClient,
    TokenFamily,
)
from idp.models.types import utcnow
from idp.services import audit, customer_view, devices
from idp.services.events import EventTag

TIMELINE_PAGE = 25
HISTORY_PAGE = 20
# The channels events are written with: ``oauth.issuance.CHANNELS`` by client type.
CHANNELS = ("web", "mobile", "device", "service")


def _prefixes(tag: str) -> list[str]:
    parts = tag.split(":")
    return [":".join(parts[: i + 1]) for i in range(len(parts))]


# A kind is a tag or a prefix of one at a ``:`` (``customer:mfa``, ``oauth:token``); the filter
# offers the two-part ones, and ``customer:admin`` is what staff did on the console.
KNOWN_KINDS = frozenset(p for tag in EventTag for p in _prefixes(str(tag)))
KINDS = tuple(sorted({":".join(str(tag).split(":")[:2]) for tag in EventTag}))


@dataclass(frozen=True)
class TimelineFilter:
    channel: str | None = None
    client_id: str | None = None
    kind: str | None = None
    before_id: int | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as the page's GET parameters (without the page cursor)."""
        values = {"channel": self.channel, "client": self.client_id, "kind": self.kind}
        return {k: v for k, v in values.items() if v}


def parse_filter(
    *,
    channel: str | None = None,
    client_id: str | None = None,
    kind: str | None = None,
    before: str | None = None,
) -> TimelineFilter:
    """The timeline filter from what a form sent; ``ValidationError`` names what is wrong."""
    errors: dict[str, str] = {}
    channel = (channel or "").strip() or None
    client_id = (client_id or "").strip() or None
    kind = (kind or "").strip() or None
    before = (before or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = _l("Pick one of the channels: %(c)s.", c=", ".join(CHANNELS))
    if client_id is not None and (len(client_id) > 64 or not client_id.isprintable()):
        errors["client"] = _l("An application id is at most 64 printable characters.")
    if kind is not None and kind not in KNOWN_KINDS:
        errors["kind"] = _l("Unknown kind of event.")
    before_id = None
    if before is not None:
        if not (before.isascii() and before.isdigit() and len(before) <= 18):
            errors["before"] = _l("The page cursor must be a number.")
        else:
            before_id = int(before)
    if errors:
        raise ValidationError(errors)
    return TimelineFilter(channel, client_id, kind, before_id)


@dataclass(frozen=True)
class TimelineEvent(customer_view.Event):
    """``customer_view.Event`` with what the console shows besides: its id (the page cursor)
    and the user agent."""

    id: int
    user_agent: str | None


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    # The id to pass as ``before`` for the next (older) page; None on the last page.
    next_before_id: int | None


def timeline(
    customer: Customer, filters: TimelineFilter, *, limit: int = TIMELINE_PAGE
) -> TimelinePage:
    """Newest first by keyset on (created_at, id): the cursor is the last event's id, and the
    page after it is one query however deep it is."""
    query = (
        db.select(LoginEvent, Client.name)
        .outerjoin(Client, Client.client_id == LoginEvent.client_id)
        .where(LoginEvent.customer_id == customer.id)
    )
    if filters.channel is not None:
        query = query.where(LoginEvent.channel == filters.channel)
    if filters.client_id is not None:
        query = query.where(LoginEvent.client_id == filters.client_id)
    if filters.kind is not None:
        query = query.where(
            sa.or_(
                LoginEvent.tag == filters.kind,
                LoginEvent.tag.startswith(f"{filters.kind}:", autoescape=True),
            )
        )
    if filters.before_id is not None:
        # Events may be written out of id order (imports, clocks): the time decides, the id
        # breaks ties; a cursor that is not this customer's event gives an empty page.
        anchor = (
            db.select(LoginEvent.created_at)
            .where(LoginEvent.id == filters.before_id, LoginEvent.customer_id == customer.id)
            .scalar_subquery()
        )
        query = query.where(
            sa.or_(
                LoginEvent.created_at < anchor,
                sa.and_(LoginEvent.created_at == anchor, LoginEvent.id < filters.before_id),
            )
        )
    rows = db.session.execute(
        query.order_by(LoginEvent.created_at.desc(), LoginEvent.id.desc()).limit(limit + 1)
    ).all()
    events = [
        TimelineEvent(**customer_view.event_fields(e, name), id=e.id, user_agent=e.user_agent)
        for e, name in rows[:limit]
    ]
    more = len(rows) > limit
    return TimelinePage(events, events[-1].id if more and events else None)


@dataclass(frozen=True)
class LastSeen:
    channel: str
    at: datetime


def last_seen(customer: Customer) -> list[LastSeen]:
    """The newest successful event per channel, in one grouped query."""
    latest = sa.func.max(LoginEvent.created_at)
    rows = db.session.execute(
        db.select(LoginEvent.channel, latest)
        .where(
            LoginEvent.customer_id == customer.id,
            LoginEvent.success.is_(True),
            LoginEvent.channel.is_not(None),
        )
        .group_by(LoginEvent.channel)
        .order_by(latest.desc())
    ).all()
    return [LastSeen(channel, at) for channel, at in rows]


def clients_seen(customer: Customer) -> list[tuple[str, str | None]]:
    """Every application the timeline mentions, with its name: the client filter's choices."""
    rows = db.session.execute(
        db.select(LoginEvent.client_id, Client.name)
        .outerjoin(Client, Client.client_id == LoginEvent.client_id)
        .where(LoginEvent.customer_id == customer.id, LoginEvent.client_id.is_not(None))
        .group_by(LoginEvent.client_id, Client.name)
        .order_by(Client.name, LoginEvent.client_id)
    ).all()
    return [(client_id, name) for client_id, name in rows]


@dataclass(frozen=True)
class SessionApp:
    client_id: str
    client_name: str | None
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class LiveSession:
    sid: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    auth_time: datetime
    amr: list[str]
    ip: str | None
    user_agent: str | None
    apps: list[SessionApp]


def live_sessions(customer: Customer) -> list[LiveSession]:
    """Live browser sessions, newest activity first, each with the apps that joined it: one
    query for the sessions and one for all their apps."""
    now = utcnow()
    rows = list(
        db.session.execute(
            db.select(BrowserSession)
            .where(
                BrowserSession.customer_id == customer.id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.expires_at > now,
            )
            .order_by(BrowserSession.last_seen_at.desc(), BrowserSession.id.desc())
        ).scalars()
    )
    apps: dict[int, list[SessionApp]] = {row.id: [] for row in rows}
    if rows:
        for joined, name in db.session.execute(
            db.select(SessionClient, Client.name)
            .outerjoin(Client, Client.client_id == SessionClient.client_id)
            .where(SessionClient.session_id.in_(list(apps)))
            .order_by(SessionClient.first_at, SessionClient.id)
        ).all():
            apps[joined.session_id].append(
                SessionApp(joined.client_id, name, joined.first_at, joined.last_at)
            )
    return [
        LiveSession(
            sid=row.sid,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            auth_time=row.auth_time,
            amr=list(row.amr or []),
            ip=row.ip,
            user_agent=row.user_agent,
            apps=apps[row.id],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class AppAccess:
    """An app the customer is connected to: a live consent, live grants, or both (first-party
    apps hold grants without a consent)."""

    client_id: str
    client_name: str | None
    scopes: list[str]
    consented_at: datetime | None
    live_grants: int
    last_granted_at: datetime | None


def connected_apps(
    customer: Customer, consented: list[customer_view.ConnectedApp]
) -> list[AppAccess]:
    """The consented apps from ``customer_view`` merged with one grouped query over the live
    token families (not revoked, not past their life)."""
    grants = db.session.execute(
        db.select(
            TokenFamily.client_id,
            Client.name,
            sa.func.count(TokenFamily.id),
            sa.func.max(TokenFamily.created_at),
        )
        .outerjoin(Client, Client.client_id == TokenFamily.client_id)
        .where(
            TokenFamily.customer_id == customer.id,
            TokenFamily.revoked_at.is_(None),
            TokenFamily.expires_at > utcnow(),
        )
        .group_by(TokenFamily.client_id, Client.name)
    ).all()
    live = {client_id: (name, count, latest) for client_id, name, count, latest in grants}
    apps = []
    for app in consented:
        _, count, latest = live.pop(app.client_id, (None, 0, None))
        apps.append(
            AppAccess(app.client_id, app.client_name, app.scopes, app.granted_at, count, latest)
        )
    for client_id, (name, count, latest) in sorted(live.items()):
        apps.append(AppAccess(client_id, name, [], None, count, latest))
    return apps


@dataclass(frozen=True)
class ConsentRecord:
    client_id: str
    client_name: str | None
    scopes: list[str]
    granted_at: datetime
    withdrawn_at: datetime | None


def consents(customer: Customer) -> list[ConsentRecord]:
    """Every consent, withdrawn ones too (kept as history), newest first."""
    rows = db.session.execute(
        db.select(Consent, Client.name)
        .outerjoin(Client, Client.client_id == Consent.client_id)
        .where(Consent.customer_id == customer.id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    ).all()
    return [
        ConsentRecord(c.client_id, name, list(c.scopes or []), c.granted_at, c.withdrawn_at)
        for c, name in rows
    ]


@dataclass(frozen=True)
class Customer360:
    view: customer_view.CustomerView
    filters: TimelineFilter
    timeline: TimelinePage
    clients_seen: list[tuple[str, str | None]]
    last_seen: list[LastSeen]
    sessions: list[LiveSession]
    devices: list[Device]
    apps: list[AppAccess]
    consents: list[ConsentRecord]
    admin_history: audit.Page

    @property
    def customer(self) -> Customer:
        return self.view.customer


def read(customer: Customer, filters: TimelineFilter | None = None) -> Customer360:
    """Everything the page shows, in a fixed number of queries."""
    filters = filters or TimelineFilter()
    # Our own timeline replaces the view's: no rows asked of it.
    base = customer_view.view(customer, timeline_limit=0)
    return Customer360(
        view=base,
        filters=filters,
        timeline=timeline(customer, filters),
        clients_seen=clients_seen(customer),
        last_seen=last_seen(customer),
        sessions=live_sessions(customer),
        devices=devices.list_for(customer),
        apps=connected_apps(customer, base.connected_apps),
        consents=consents(customer),
        admin_history=audit.entries(
            target_kind="customer", target_id=customer.public_id, limit=HISTORY_PAGE
        ),
    )
