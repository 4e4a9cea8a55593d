"""Usage signals for the company, computed by the database from the event tables.

Every figure is one grouped query over ``login_event`` (or ``customer``) in a date range, served
by the ``created_at`` indexes; nothing loads events into Python. Days are UTC days, as text
(``YYYY-MM-DD``) on both databases, and missing days are filled with zeros here.

"Active" means a successful sign-in, a token issued or refreshed, or a device approved: what a
person does, not what a machine does for them. At scale (tens of millions of events a day) these
queries want a daily rollup table; the functions keep their signatures when that comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from idp.extensions import db
from idp.models import Customer, CustomerStatus, LoginEvent
from idp.models.types import aggregate_utc
from idp.services.events import EventTag

ACTIVE_TAGS = (
    EventTag.LOGIN_SUCCESS,
    EventTag.TOKEN_ISSUED,
    EventTag.TOKEN_REFRESHED,
    EventTag.DEVICE_APPROVED,
)
MAX_DAYS = 366


def _day(column: Any) -> ColumnElement[str]:
    """The UTC day of a timestamp as ``YYYY-MM-DD``, the same text on both databases."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def _range(days: int, today: date | None) -> tuple[list[str], datetime]:
    days = max(1, min(days, MAX_DAYS))
    last = today or datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    return labels, datetime(first.year, first.month, first.day, tzinfo=UTC)


def _active() -> ColumnElement[bool]:
    return and_(
        LoginEvent.tag.in_([str(t) for t in ACTIVE_TAGS]),
        LoginEvent.success.is_(True),
        LoginEvent.customer_id.is_not(None),
    )


@dataclass(frozen=True)
class Series:
    """One line of a chart: a value per day, in the order of ``Daily.days``."""

    name: str
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Daily:
    days: list[str]
    series: list[Series]


def _fill(labels: list[str], rows: list[Any], keys: list[str] | None = None) -> list[Series]:
    """Rows of (day, key, value) into one Series per key, zeros where a day has no row."""
    index = {day: i for i, day in enumerate(labels)}
    found: dict[str, list[int]] = {}
    for day, key, value in rows:
        values = found.setdefault(str(key), [0] * len(labels))
        if day in index:
            values[index[day]] = int(value)
    for key in keys or []:
        found.setdefault(key, [0] * len(labels))
    return [Series(name, values) for name, values in sorted(found.items())]


def active_customers(days: int = 90, *, by: str | None = None, today: date | None = None) -> Daily:
    """Distinct active customers per day, in total or per ``channel`` or per ``client``."""
    labels, start = _range(days, today)
    day = _day(LoginEvent.created_at)
    people = func.count(func.distinct(LoginEvent.customer_id))
    if by is None:
        totals = db.session.execute(
            select(day, people).where(_active(), LoginEvent.created_at >= start).group_by(day)
        ).all()
        return Daily(labels, _fill(labels, [(d, "all", n) for d, n in totals], ["all"]))
    key = (
        func.coalesce(LoginEvent.channel, "web")
        if by == "channel"
        else func.coalesce(LoginEvent.client_id, "idp")
    )
    rows = db.session.execute(
        select(day, key, people).where(_active(), LoginEvent.created_at >= start).group_by(day, key)
    ).all()
    return Daily(labels, _fill(labels, list(rows)))


def new_customers(days: int = 90, *, today: date | None = None) -> Daily:
    labels, start = _range(days, today)
    day = _day(Customer.created_at)
    rows = db.session.execute(
        select(day, func.count()).where(Customer.created_at >= start).group_by(day)
    ).all()
    return Daily(labels, _fill(labels, [(d, "new", n) for d, n in rows], ["new"]))


def sign_in_failures(days: int = 90, *, today: date | None = None) -> Daily:
    """Failed sign-ins per day, the throttled ones apart: a spike of either is an attack."""
    labels, start = _range(days, today)
    day = _day(LoginEvent.created_at)
    kind = func.coalesce(LoginEvent.reason, "failed")
    rows = db.session.execute(
        select(day, kind, func.count())
        .where(
            LoginEvent.tag == str(EventTag.LOGIN_FAILURE),
            LoginEvent.created_at >= start,
        )
        .group_by(day, kind)
    ).all()
    # Every reason but throttling is a failed attempt; throttled ones are counted apart.
    merged: dict[tuple[str, str], int] = {}
    for d, reason, count in rows:
        name = "throttled" if reason == "throttled" else "failed"
        merged[(d, name)] = merged.get((d, name), 0) + int(count)
    return Daily(
        labels, _fill(labels, [(d, n, c) for (d, n), c in merged.items()], ["failed", "throttled"])
    )


@dataclass(frozen=True)
class AtRisk:
    customer: Customer
    activity: int  # times active in the period before the silence
    last_seen: datetime
    last_seen_by_channel: dict[str, datetime]


@dataclass(frozen=True)
class RiskRule:
    min_activity: int
    silent_days: int
    period_days: int


def at_risk(
    rule: RiskRule, *, now: datetime | None = None, limit: int = 100, after_id: int | None = None
) -> list[AtRisk]:
    """Customers active at least ``min_activity`` times in the ``period_days`` before the last
    ``silent_days``, and not active since: in two queries, whatever the page size."""
    now = now or datetime.now(UTC)
    silent_since = now - timedelta(days=rule.silent_days)
    period_start = silent_since - timedelta(days=rule.period_days)
    last = func.max(LoginEvent.created_at)
    in_period = func.sum(db.case((LoginEvent.created_at < silent_since, 1), else_=0))
    grouped = (
        select(LoginEvent.customer_id, in_period.label("activity"), last.label("last_seen"))
        .where(_active(), LoginEvent.created_at >= period_start)
        .group_by(LoginEvent.customer_id)
        .having(in_period >= rule.min_activity, last < silent_since)
    )
    if after_id is not None:
        grouped = grouped.where(LoginEvent.customer_id > after_id)
    found = grouped.order_by(LoginEvent.customer_id).limit(limit).subquery()
    rows = db.session.execute(
        select(Customer, found.c.activity, found.c.last_seen)
        .join(found, found.c.customer_id == Customer.id)
        .where(Customer.status == CustomerStatus.ACTIVE)
        .order_by(Customer.id)
    ).all()
    ids = [customer.id for customer, _, _ in rows]
    by_channel: dict[int, dict[str, datetime]] = {i: {} for i in ids}
    if ids:
        channel = func.coalesce(LoginEvent.channel, "web")
        for customer_id, name, seen in db.session.execute(
            select(LoginEvent.customer_id, channel, func.max(LoginEvent.created_at))
            .where(_active(), LoginEvent.customer_id.in_(ids))
            .group_by(LoginEvent.customer_id, channel)
        ).all():
            if customer_id is not None:
                by_channel[customer_id][name] = _seen(seen)
    return [
        AtRisk(customer, int(activity), _seen(seen), by_channel[customer.id])
        for customer, activity, seen in rows
    ]


def _seen(value: datetime | str) -> datetime:
    aware = aggregate_utc(value)
    assert aware is not None  # a max over rows that exist
    return aware
