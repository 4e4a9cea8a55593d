"""Browser sessions: started at sign-in with a fresh id, looked up by digest, ended on sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from idp import security
from idp.extensions import db
from idp.models import BrowserSession, Customer
from idp.models.types import utcnow
from idp.services import RequestMeta

# Writing last_seen on every request would turn each page view into a write.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def start(
    customer: Customer, *, amr: list[str], meta: RequestMeta, policy: SessionPolicy
) -> tuple[str, BrowserSession]:
    """A new session with a new random id; the raw id goes in the cookie and nowhere else."""
    raw = security.random_token(32)
    now = utcnow()
    session = BrowserSession(
        id_digest=security.digest(raw),
        sid=security.random_token(24),
        customer=customer,
        created_at=now,
        last_seen_at=now,
        auth_time=now,
        amr=list(amr),
        ip=meta.ip,
        user_agent=(meta.user_agent or "")[:512] or None,
        expires_at=now + min(policy.idle, policy.absolute),
    )
    db.session.add(session)
    return raw, session


def load(raw: str | None, *, policy: SessionPolicy) -> BrowserSession | None:
    """The live session behind a cookie value, its idle expiry pushed forward; None otherwise."""
    if not raw or len(raw) > 128:
        return None
    session = db.session.execute(
        db.select(BrowserSession).where(BrowserSession.id_digest == security.digest(raw))
    ).scalar_one_or_none()
    now = utcnow()
    if session is None or not session.is_live(now) or not session.customer.is_active:
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        session.last_seen_at = now
        session.expires_at = min(now + policy.idle, session.created_at + policy.absolute)
        db.session.commit()
    return session


def end(session: BrowserSession, when: datetime | None = None) -> None:
    session.ended_at = when or utcnow()


def end_all(customer: Customer, *, keep: BrowserSession | None = None) -> int:
    """End every live session of a customer (after a password change or reset)."""
    now = utcnow()
    count = 0
    for session in db.session.execute(
        db.select(BrowserSession).where(
            BrowserSession.customer_id == customer.id, BrowserSession.ended_at.is_(None)
        )
    ).scalars():
        if keep is not None and session.id == keep.id:
            continue
        session.ended_at = now
        count += 1
    return count


def live_sessions(customer: Customer) -> list[BrowserSession]:
    now = utcnow()
    return list(
        db.session.execute(
            db.select(BrowserSession)
            .where(
                BrowserSession.customer_id == customer.id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.expires_at > now,
            )
            .order_by(BrowserSession.last_seen_at.desc())
        ).scalars()
    )


def join(session: BrowserSession, client_id: str) -> None:
    """Note that a client took part in this session, so logout can tell it (Back-Channel 2.7)."""
    from idp.models import SessionClient

    now = utcnow()
    existing = db.session.execute(
        db.select(SessionClient).where(
            SessionClient.session_id == session.id, SessionClient.client_id == client_id
        )
    ).scalar_one_or_none()
    if existing is None:
        db.session.add(
            SessionClient(session_id=session.id, client_id=client_id, first_at=now, last_at=now)
        )
    else:
        existing.last_at = now


def elevate(browser_session: BrowserSession, *, amr: list[str]) -> str:
    """Raise a live session to a stronger sign-in (step-up), under a new id.

    A privilege change gets a new session id (OWASP ASVS 3.2.1); the ``sid`` stays, so the
    clients that joined this session are still told at logout. ``auth_time`` becomes now: it is
    when the customer last authenticated, which max_age and prompt=login look at.
    """
    raw = security.random_token(32)
    browser_session.id_digest = security.digest(raw)
    browser_session.amr = list(amr)
    browser_session.auth_time = utcnow()
    return raw
