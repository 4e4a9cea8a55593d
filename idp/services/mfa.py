"""Which factors a customer has, what a sign-in proved, and the changes a customer is told of.

A sign-in collects ``Proof``s, one per factor checked. Their RFC 8176 ``amr`` values go into the
session and from there into every token; ``mfa`` is added only when two independent factors were
really checked in this sign-in (a passkey with user verification counts for two: the key, and
the PIN or biometric that unlocked it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from idp import security
from idp.extensions import db
from idp.models import (
    BrowserSession,
    Customer,
    EmailSignIn,
    Passkey,
    RecoveryCode,
    TotpCredential,
    TrustedBrowser,
)
from idp.models.types import utcnow
from idp.services import RequestMeta, events, sessions
from idp.services.events import EventTag
from idp.services.mail import Mailer, send_to_customer
from idp.services.records import aliases

ACR_PASSWORD = "urn:idp:acr:pwd"  # noqa: S105 - an acr name, not a secret
ACR_MFA = "urn:idp:acr:mfa"
# Strongest last: a request naming several acceptable values gets the weakest it accepts.
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)


@dataclass(frozen=True)
class Proof:
    """One factor checked: the event ``method`` name, its RFC 8176 values, factors it counts."""

    method: str
    amr: tuple[str, ...]
    factors: int = 1


PASSWORD = Proof("pwd", ("pwd",))
TOTP = Proof("totp", ("otp",))
RECOVERY_CODE = Proof("recovery_code", ("otp",))
EMAIL_CODE = Proof("email_code", ("otp",))
MAGIC_LINK = Proof("magic_link", ("otp",))


def passkey_proof(*, backup_eligible: bool, user_verified: bool) -> Proof:
    """RFC 8176: ``hwk`` for a key bound to its device, ``swk`` for a synced one; ``user`` for the
    presence test every assertion carries."""
    key = "swk" if backup_eligible else "hwk"
    return Proof("passkey", (key, "user"), 2 if user_verified else 1)


def amr_of(proofs: Iterable[Proof]) -> list[str]:
    proofs = list(proofs)
    amr: list[str] = []
    for proof in proofs:
        amr.extend(value for value in proof.amr if value not in amr)
    if sum(proof.factors for proof in proofs) >= 2:
        amr.append("mfa")
    return amr


def acr_of(amr: Iterable[str]) -> str:
    return ACR_MFA if "mfa" in amr else ACR_PASSWORD


def satisfies(amr: Iterable[str], acr: str) -> bool:
    return acr != ACR_MFA or "mfa" in amr


# --- what the customer has ------------------------------------------------------------------


def confirmed_totp(customer: Customer) -> TotpCredential | None:
    return db.session.execute(
        db.select(TotpCredential).where(
            TotpCredential.customer_id == customer.id, TotpCredential.confirmed_at.is_not(None)
        )
    ).scalar_one_or_none()


def passkeys(customer: Customer) -> list[Passkey]:
    return list(
        db.session.execute(
            db.select(Passkey).where(Passkey.customer_id == customer.id).order_by(Passkey.id)
        ).scalars()
    )


def remaining_recovery_codes(customer: Customer) -> int:
    return db.session.execute(
        db.select(db.func.count(RecoveryCode.id)).where(
            RecoveryCode.customer_id == customer.id, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one()


def has_second_factor(customer: Customer) -> bool:
    """An authenticator app or a passkey: once one exists, every sign-in asks for it."""
    return confirmed_totp(customer) is not None or bool(passkeys(customer))


# --- browsers remembered after a second factor ----------------------------------------------


@dataclass(frozen=True)
class TrustSettings:
    secret_key: str
    lifetime: timedelta


def _serializer(settings: TrustSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="idp trusted browser")


def remember_browser(customer: Customer, *, meta: RequestMeta, settings: TrustSettings) -> str:
    """A signed cookie value naming this customer and a revocable row; only a digest is kept."""
    raw = security.random_token(32)
    now = utcnow()
    db.session.add(
        TrustedBrowser(
            customer_id=customer.id,
            token_digest=security.digest(raw),
            user_agent=(meta.user_agent or "")[:512] or None,
            created_at=now,
            expires_at=now + settings.lifetime,
        )
    )
    events.record(EventTag.BROWSER_REMEMBERED, customer=customer, meta=meta)
    return _serializer(settings).dumps({"c": customer.public_id, "t": raw})


def is_trusted(cookie: str | None, customer: Customer, *, settings: TrustSettings) -> bool:
    if not cookie or len(cookie) > 512:
        return False
    try:
        data = _serializer(settings).loads(cookie, max_age=int(settings.lifetime.total_seconds()))
    except BadSignature:
        return False
    # A browser remembered before a merge names the absorbed record; its row moved with it.
    if not isinstance(data, dict) or not aliases.names(data.get("c"), customer):
        return False
    row = db.session.execute(
        db.select(TrustedBrowser).where(
            TrustedBrowser.token_digest == security.digest(str(data.get("t")))
        )
    ).scalar_one_or_none()
    return (
        row is not None
        and row.customer_id == customer.id
        and row.revoked_at is None
        and row.expires_at > utcnow()
    )


def trusted_browsers(customer: Customer) -> list[TrustedBrowser]:
    return list(
        db.session.execute(
            db.select(TrustedBrowser)
            .where(
                TrustedBrowser.customer_id == customer.id,
                TrustedBrowser.revoked_at.is_(None),
                TrustedBrowser.expires_at > utcnow(),
            )
            .order_by(TrustedBrowser.created_at.desc())
        ).scalars()
    )


def forget_browsers(customer: Customer) -> int:
    now = utcnow()
    rows = trusted_browsers(customer)
    for row in rows:
        row.revoked_at = now
    return len(rows)


# --- telling the customer -------------------------------------------------------------------

CHANGES = {
    EventTag.TOTP_ENABLED: _l("An authenticator app was added to your account."),
    EventTag.TOTP_DISABLED: _l("The authenticator app was removed from your account."),
    EventTag.PASSKEY_ADDED: _l("A passkey named “%(name)s” was added to your account."),
    EventTag.PASSKEY_REMOVED: _l("The passkey named “%(name)s” was removed from your account."),
    EventTag.RECOVERY_CODES_GENERATED: _l(
        "New recovery codes were created; the old ones no longer work."
    ),
    EventTag.RECOVERY_CODE_USED: _l(
        "A recovery code was used to sign in. Unused recovery codes left: %(remaining)s."
    ),
    EventTag.BROWSERS_FORGOTTEN: _l("Every remembered browser will ask for a second step again."),
    EventTag.MFA_RESET: _l(
        "Customer service removed every second step from your account at your request."
    ),
}


def factor_changed(
    customer: Customer,
    tag: EventTag,
    *,
    meta: RequestMeta | None,
    mailer: Mailer,
    issuer: str,
    method: str | None = None,
    reason: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    """Record a factor change on the customer's history and mail them about it."""
    events.record(tag, customer=customer, meta=meta, method=method, reason=reason)
    send_to_customer(
        mailer,
        customer,
        "factor_changed",
        _l("A security setting of your account changed"),
        change=CHANGES[tag] % details if details else CHANGES[tag],
        link=f"{issuer}/account/security",
    )


def reset(customer: Customer) -> int:
    """Remove every second factor, recovery code, remembered browser and pending emailed code;
    end the sessions. How many factors went."""
    removed = 0
    for model in (TotpCredential, Passkey):
        for row in db.session.execute(
            db.select(model).where(model.customer_id == customer.id)
        ).scalars():
            db.session.delete(row)
            removed += 1
    for model in (RecoveryCode, EmailSignIn):
        for row in db.session.execute(
            db.select(model).where(model.customer_id == customer.id)
        ).scalars():
            db.session.delete(row)
    forget_browsers(customer)
    sessions.end_all(customer)
    return removed


def session_satisfies(browser_session: BrowserSession, acr: str) -> bool:
    return satisfies(browser_session.amr or [], acr)
