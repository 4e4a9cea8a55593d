"""Passwordless sign-in by email: a six-digit code and a link, mailed together, either usable once.

The code is typed back into the browser that asked, which holds the row's public ``handle``; the
link carries 256 random bits and works in any browser. Six digits are few enough to be tried
all, so the code is kept as an HMAC under a key derived from the secret key, each handle dies
after ``MAX_ATTEMPTS`` wrong codes, and the caller throttles wrong codes per account and address
(``services.attempts``). Spending either is one conditional UPDATE on ``used_at IS NULL``, so two
requests racing with the same code or link cannot both sign in (OWASP ASVS 2.7.x).

An unknown email gets a handle too, one that matches no row: the pages cannot tell it apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, update

from idp import security
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, EmailSignIn
from idp.models.types import utcnow
from idp.services import RequestMeta, customers, events
from idp.services.events import EventTag
from idp.services.mail import Mailer, send_to_customer

CODE_KEY_INFO = b"idp email sign-in code"
CODE_DIGITS = 6
MAX_ATTEMPTS = 5
HANDLE_BYTES = 32  # 43 characters, the column's size
LINK_PATH = "/login/email/"
SUBJECT = _l("Your sign-in code")
_CODE = re.compile(r"^[0-9]{6}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class EmailSignInSettings:
    issuer: str
    lifetime: timedelta
    # Keys the code digests: the same key must be used on every node.
    code_key: bytes


def code_key(secret_key: str) -> bytes:
    return security.derive_key(secret_key, CODE_KEY_INFO)


def code_digest(code: str, key: bytes) -> str:
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def normalize_code(raw: str | None) -> str | None:
    """The six digits typed, spaces and dashes ignored; None when it cannot be a code."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    cleaned = re.sub(r"[\s-]", "", raw)
    return cleaned if _CODE.match(cleaned) else None


def account_key(email: str) -> str:
    """The normalised address, so another spelling of it gets no fresh mails or guesses."""
    try:
        return customers.normalize_email(email)[1]
    except ValidationError:
        return email.strip().casefold()[:320]


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def start(email: str, *, meta: RequestMeta, mailer: Mailer, settings: EmailSignInSettings) -> str:
    """Mail a code and a link to the account using ``email``; the handle the asking browser keeps.

    Older unspent codes and links of the customer die: only the newest mail works. An unknown or
    disabled account gets a fresh handle that matches no row and no mail (no enumeration).
    """
    handle = security.random_token(HANDLE_BYTES)
    code, token = _new_code(), security.random_token(32)
    digests = code_digest(code, settings.code_key), security.digest(token)
    customer = customers.find_by_email(email)
    if customer is None or not customer.is_active:
        events.record(
            EventTag.LOGIN_FAILURE,
            success=False,
            customer=customer,
            meta=meta,
            method="email_code",
            reason="unknown_account" if customer is None else "disabled",
        )
        db.session.commit()
        return handle
    now = utcnow()
    # The customer's older mails die, and anyone's expired rows go while we are here.
    db.session.execute(
        delete(EmailSignIn)
        .where(or_(EmailSignIn.customer_id == customer.id, EmailSignIn.expires_at <= now))
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        EmailSignIn(
            handle=handle,
            customer_id=customer.id,
            code_digest=digests[0],
            link_digest=digests[1],
            attempts=0,
            created_at=now,
            expires_at=now + settings.lifetime,
        )
    )
    events.record(EventTag.EMAIL_SIGN_IN_SENT, customer=customer, meta=meta, method="email_code")
    db.session.commit()
    send_to_customer(
        mailer,
        customer,
        "sign_in_code",
        SUBJECT,
        code=code,
        link=f"{settings.issuer}{LINK_PATH}{token}",
        minutes=max(1, int(settings.lifetime.total_seconds()) // 60),
    )
    return handle


def is_live(row: EmailSignIn) -> bool:
    """Unspent, unexpired, not guessed at too often, and its customer still allowed in."""
    return (
        row.used_at is None
        and row.expires_at > utcnow()
        and row.attempts < MAX_ATTEMPTS
        and row.customer.is_active
    )


def by_handle(handle: str | None) -> EmailSignIn | None:
    if not isinstance(handle, str) or not _TOKEN.match(handle):
        return None
    return db.session.execute(
        db.select(EmailSignIn).where(EmailSignIn.handle == handle)
    ).scalar_one_or_none()


def by_link(token: str | None) -> EmailSignIn | None:
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return db.session.execute(
        db.select(EmailSignIn).where(EmailSignIn.link_digest == security.digest(token))
    ).scalar_one_or_none()


def _spend(row: EmailSignIn) -> Customer | None:
    """Mark the row used unless another request did first; the caller commits."""
    now = utcnow()
    result = db.session.execute(
        update(EmailSignIn)
        .where(
            EmailSignIn.id == row.id,
            EmailSignIn.used_at.is_(None),
            EmailSignIn.expires_at > now,
            EmailSignIn.attempts < MAX_ATTEMPTS,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    customer = row.customer
    # The mail reached its owner: that proves the address, as a reset link does.
    customer.email_verified = True
    return customer


def verify_code(
    handle: str | None, code: str | None, settings: EmailSignInSettings
) -> Customer | None:
    """The customer when ``code`` is the live code of ``handle``; None otherwise.

    A wrong code counts against the handle and is committed at once, so a caller rolling back
    cannot give the guess back; the right code is spent in the caller's transaction.
    """
    cleaned = normalize_code(code)
    typed = code_digest(cleaned or "", settings.code_key)  # the same work for junk
    row = by_handle(handle) if cleaned is not None else None
    if row is None or not is_live(row):
        return None
    if not hmac.compare_digest(row.code_digest, typed):
        db.session.execute(
            update(EmailSignIn)
            .where(EmailSignIn.id == row.id, EmailSignIn.used_at.is_(None))
            .values(attempts=EmailSignIn.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return None
    return _spend(row)


def verify_link(token: str | None) -> Customer | None:
    """The customer of a live link, spending it (and the code mailed with it); None otherwise."""
    row = by_link(token)
    if row is None or not is_live(row):
        return None
    return _spend(row)
