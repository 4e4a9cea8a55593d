"""Console sessions: short idle timeout, a two-step start (password, then second factor), and
ended at once when the account is disabled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from idp import security
from idp.extensions import db
from idp.models import AdminSession, AdminUser
from idp.models.types import utcnow
from idp.services import RequestMeta

# The last-seen time is written at most this often: a console page is not a write each time.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ConsolePolicy:
    idle: timedelta
    absolute: timedelta


def start(
    admin: AdminUser, *, meta: RequestMeta, policy: ConsolePolicy
) -> tuple[str, AdminSession]:
    """A session proven by the password only; returns the raw cookie value once."""
    raw = security.random_token()
    now = utcnow()
    row = AdminSession(
        id_digest=security.digest(raw),
        admin=admin,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        ip=meta.ip,
        user_agent=(meta.user_agent or "")[:512] or None,
    )
    db.session.add(row)
    return raw, row


def load(raw: str | None, *, policy: ConsolePolicy) -> AdminSession | None:
    """The live session behind a cookie: not ended, not past its absolute end, not idle too
    long, its admin still active."""
    if not raw or len(raw) > 100:
        return None
    row = db.session.execute(
        db.select(AdminSession).where(AdminSession.id_digest == security.digest(raw))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if row.expires_at <= now or row.last_seen_at + policy.idle <= now or not row.admin.is_active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return row


def second_factor_done(row: AdminSession) -> None:
    row.second_factor_at = utcnow()


def end(row: AdminSession) -> None:
    row.ended_at = utcnow()


def end_all(admin: AdminUser, when: datetime | None = None, *, keep: int | None = None) -> int:
    """End every live session of ``admin`` but the one whose row id is ``keep``."""
    query = update(AdminSession).where(
        AdminSession.admin_id == admin.id, AdminSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(AdminSession.id != keep)
    result = db.session.execute(
        query.values(ended_at=when or utcnow()).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
