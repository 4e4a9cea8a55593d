"""What staff may do to a customer's account from the console.

Each action takes the acting ``audit.Actor``, changes the record, and adds an audit entry (before
and after, the reason when given) and an event on the customer's timeline to the caller's
transaction. What must leave idp (mails, back-channel logout notices) is returned in ``Done``
and sent only once the caller has committed: a rollback never mails anyone, and no request
holds a transaction open while another system answers.

A record absorbed by a merge is an alias: every action refuses it and names the survivor's page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from idp.config import LOCALES
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import (
    BrowserSession,
    Customer,
    CustomerStatus,
    LinkedAccount,
    SessionClient,
    TokenFamily,
)
from idp.oauth import logout as rp_logout
from idp.services import (
    RequestMeta,
    accounts,
    audit,
    consent,
    customer_view,
    customers,
    events,
    links,
    mfa,
    sessions,
    tokens,
)
from idp.services.accounts import LinkSettings
from idp.services.events import EventTag
from idp.services.links import Purpose
from idp.services.mail import Mailer, send_to_customer
from idp.services.records import linked

TARGET = "customer"
REASON_MAX = 500
# login_event.reason holds this much; the audit entry keeps the whole reason.
EVENT_REASON_MAX = 64
EDITABLE = ("email", "given_name", "family_name", "phone", "birthdate", "locale")
NAME_MAX = 100
EARLIEST_BIRTHDATE = date(1900, 1, 1)


@dataclass
class Done:
    """What an action did; ``after_commit`` sends what it queued (mail, logout notices)."""

    changed: bool = True
    sessions_ended: int = 0
    grants_revoked: int = 0
    later: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self) -> None:
        """Run once the action's transaction is committed; it may add events (delivery
        results) to a new transaction, which the caller commits too."""
        jobs, self.later = self.later, []
        for job in jobs:
            job()


def _live_record(customer: Customer) -> None:
    if customer.status == CustomerStatus.MERGED:
        raise ValidationError(
            {"customer": _l("This record was merged into another: act on the kept record.")}
        )


def _reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if reason is None and required:
        raise ValidationError({"reason": _l("Say why, for the audit log.")})
    if reason is not None and (len(reason) > REASON_MAX or not reason.isprintable()):
        raise ValidationError({"reason": _l("At most %(n)d characters on one line.", n=REASON_MAX)})
    return reason


def _short(reason: str | None) -> str | None:
    return reason[:EVENT_REASON_MAX] if reason else None


def _write(
    customer: Customer,
    actor: audit.Actor,
    action: str,
    tag: EventTag,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    client_id: str | None = None,
    event_reason: str | None = None,
) -> None:
    """The audit entry and the timeline event every action leaves."""
    audit.record(
        actor,
        action,
        target_kind=TARGET,
        target_id=customer.public_id,
        before=before,
        after=after,
        reason=reason,
    )
    events.record(
        tag,
        customer=customer,
        meta=actor.meta,
        method="admin",
        reason=_short(event_reason or reason),
        client_id=client_id,
    )


# Signing out ------------------------------------------------------------------------------------


def _end_everything(customer: Customer, revoked_reason: str) -> tuple[list[BrowserSession], int]:
    """End every browser session and revoke every grant the customer's apps hold (offline ones
    and devices too): afterwards no app holds a working refresh or access token."""
    ended = list(
        db.session.execute(
            db.select(BrowserSession).where(
                BrowserSession.customer_id == customer.id, BrowserSession.ended_at.is_(None)
            )
        ).scalars()
    )
    sessions.end_all(customer)
    families = list(
        db.session.execute(
            db.select(TokenFamily).where(
                TokenFamily.customer_id == customer.id, TokenFamily.revoked_at.is_(None)
            )
        ).scalars()
    )
    for family in families:
        tokens.revoke_family(family, revoked_reason)
    return ended, len(families)


def _notify_apps(
    customer: Customer, ended: list[BrowserSession], meta: RequestMeta
) -> Callable[[], None]:
    """Back-channel logout (OIDC Back-Channel Logout 1.0, 2.5) to every app that took part in
    one of the ended sessions, each result on the customer's timeline."""
    ids = [s.id for s in ended]

    def deliver() -> None:
        if not ids:
            return
        joined = set(
            db.session.execute(
                db.select(SessionClient.session_id)
                .where(SessionClient.session_id.in_(ids))
                .group_by(SessionClient.session_id)
            ).scalars()
        )
        for session in ended:
            if session.id not in joined:
                continue
            for delivery in rp_logout.notify_backchannel(session):
                events.record(
                    EventTag.BACKCHANNEL_LOGOUT_SENT
                    if delivery.ok
                    else EventTag.BACKCHANNEL_LOGOUT_FAILED,
                    success=delivery.ok,
                    customer=customer,
                    meta=meta,
                    client_id=delivery.client_id,
                    reason=None if delivery.ok else f"status {delivery.status}",
                )

    return deliver


def sign_out_everywhere(
    customer: Customer, *, actor: audit.Actor, reason: str | None = None
) -> Done:
    """End every session, revoke every grant, and tell the apps (after the commit)."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    ended, revoked = _end_everything(customer, "admin_sign_out")
    _write(
        customer,
        actor,
        "customer.signed_out_everywhere",
        EventTag.ADMIN_SIGNED_OUT,
        after={"sessions_ended": len(ended), "grants_revoked": revoked},
        reason=reason,
    )
    return Done(
        sessions_ended=len(ended),
        grants_revoked=revoked,
        later=[_notify_apps(customer, ended, actor.meta)],
    )


# Status -----------------------------------------------------------------------------------------


def disable(customer: Customer, *, actor: audit.Actor, reason: str | None) -> Done:
    """Switch the account off (sign-in refused, tokens refused) and sign it out everywhere."""
    _live_record(customer)
    reason = _reason(reason, required=True)
    if customer.status == CustomerStatus.DISABLED:
        return Done(changed=False)
    before = customer.status
    customer.status = CustomerStatus.DISABLED
    ended, revoked = _end_everything(customer, "customer_disabled")
    _write(
        customer,
        actor,
        "customer.disabled",
        EventTag.ADMIN_DISABLED,
        before={"status": before},
        after={
            "status": CustomerStatus.DISABLED.value,
            "sessions_ended": len(ended),
            "grants_revoked": revoked,
        },
        reason=reason,
    )
    return Done(
        sessions_ended=len(ended),
        grants_revoked=revoked,
        later=[_notify_apps(customer, ended, actor.meta)],
    )


def enable(customer: Customer, *, actor: audit.Actor, reason: str | None = None) -> Done:
    """Switch a disabled account back on; the customer signs in again (nothing is restored)."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    if customer.status != CustomerStatus.DISABLED:
        return Done(changed=False)
    customer.status = CustomerStatus.ACTIVE
    _write(
        customer,
        actor,
        "customer.enabled",
        EventTag.ADMIN_ENABLED,
        before={"status": CustomerStatus.DISABLED.value},
        after={"status": CustomerStatus.ACTIVE.value},
        reason=reason,
    )
    return Done()


# Apps -------------------------------------------------------------------------------------------


def revoke_app(
    customer: Customer, client_id: str, *, actor: audit.Actor, reason: str | None = None
) -> Done:
    """Withdraw the consent (as the customer's own "withdraw" does) and revoke every grant the
    app holds for the customer, first-party grants without a consent too."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64 or not client_id.isprintable():
        raise ValidationError({"client_id": _l("Name the application by its client id.")})
    found = consent.find(customer, client_id)
    scopes = list(found.scopes or []) if found is not None and found.withdrawn_at is None else None
    families = list(
        db.session.execute(
            db.select(TokenFamily).where(
                TokenFamily.customer_id == customer.id,
                TokenFamily.client_id == client_id,
                TokenFamily.revoked_at.is_(None),
            )
        ).scalars()
    )
    # Withdrawing revokes the grants of a consented app; the loop below those without one.
    withdrawn = consent.withdraw(customer, client_id)
    if not withdrawn and not families:
        raise ValidationError(
            {"client_id": _l("This application holds no consent and no grant for this customer.")}
        )
    for family in families:
        tokens.revoke_family(family, "admin_revoked")
    _write(
        customer,
        actor,
        "customer.app_revoked",
        EventTag.ADMIN_APP_REVOKED,
        before={"client_id": client_id, "scopes": scopes, "live_grants": len(families)},
        after={"client_id": client_id, "scopes": None, "live_grants": 0},
        reason=reason,
        client_id=client_id,
    )
    return Done(grants_revoked=len(families))


# Mail -------------------------------------------------------------------------------------------


def send_password_reset(
    customer: Customer,
    *,
    actor: audit.Actor,
    mailer: Mailer,
    settings: LinkSettings,
    reason: str | None = None,
) -> Done:
    """Mail the customer a reset link, the one "forgot password" sends; the password keeps
    working until the customer uses the link (which then signs every session out)."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    if not customer.is_active:
        raise ValidationError({"customer": _l("The account is disabled: enable it first.")})
    token = links.make(settings.secret_key, customer, Purpose.RESET_PASSWORD)
    _write(
        customer,
        actor,
        "customer.password_reset_sent",
        EventTag.ADMIN_PASSWORD_RESET_SENT,
        after={"to": customer.email},
        reason=reason,
    )
    link = f"{settings.issuer}/reset-password/{token}"
    minutes = settings.reset_max_age // 60

    def send() -> None:
        send_to_customer(
            mailer,
            customer,
            "reset_password",
            accounts.SUBJECTS["reset_password"],
            link=link,
            minutes=minutes,
        )

    return Done(later=[send])


def resend_verification(
    customer: Customer,
    *,
    actor: audit.Actor,
    mailer: Mailer,
    settings: LinkSettings,
    reason: str | None = None,
) -> Done:
    """Mail a new confirmation link to an address not confirmed yet."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    if customer.email_verified:
        raise ValidationError({"email": _l("This address is already confirmed.")})
    _write(
        customer,
        actor,
        "customer.verification_sent",
        EventTag.ADMIN_VERIFICATION_SENT,
        after={"to": customer.email},
        reason=reason,
    )
    return Done(
        later=[lambda: accounts.send_verification(customer, mailer=mailer, settings=settings)]
    )


# Factors ----------------------------------------------------------------------------------------


def reset_factors(
    customer: Customer, *, actor: audit.Actor, reason: str | None, mailer: Mailer, issuer: str
) -> Done:
    """Remove every second factor of a customer who lost them (the reason is mandatory: who
    checked what), end their sessions, tell their apps and mail the customer."""
    _live_record(customer)
    reason = _reason(reason, required=True)
    kinds = [f.kind for f in customer_view.factors(customer)]
    ended = list(
        db.session.execute(
            db.select(BrowserSession).where(
                BrowserSession.customer_id == customer.id, BrowserSession.ended_at.is_(None)
            )
        ).scalars()
    )
    removed = mfa.reset(customer)
    audit.record(
        actor,
        "customer.factors_reset",
        target_kind=TARGET,
        target_id=customer.public_id,
        before={"factors": kinds},
        after={"factors": [], "removed": removed, "sessions_ended": len(ended)},
        reason=reason,
    )
    # The tag the command line's reset-mfa writes too: the customer's own history says the same.
    events.record(
        EventTag.MFA_RESET,
        customer=customer,
        meta=actor.meta,
        method="admin",
        reason=_short(reason),
    )

    def mail() -> None:
        send_to_customer(
            mailer,
            customer,
            "factor_changed",
            _l("A security setting of your account changed"),
            change=mfa.CHANGES[EventTag.MFA_RESET],
            link=f"{issuer}/account/security",
        )

    return Done(sessions_ended=len(ended), later=[mail, _notify_apps(customer, ended, actor.meta)])


# Profile ----------------------------------------------------------------------------------------


def _profile(customer: Customer) -> dict[str, Any]:
    return {
        "email": customer.email,
        "email_verified": customer.email_verified,
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "phone": customer.phone,
        "phone_verified": customer.phone_verified,
        "birthdate": customer.birthdate.isoformat() if customer.birthdate else None,
        "locale": customer.locale,
    }


def _clean_profile(customer: Customer, values: Mapping[str, str | None]) -> dict[str, Any]:
    """The posted fields checked and normalized; every problem at once."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = set(values) - set(EDITABLE)
    if unknown:
        errors["fields"] = _l("Unknown fields: %(f)s", f=", ".join(sorted(unknown)))
    for name in ("given_name", "family_name"):
        if name in values:
            text = (values[name] or "").strip()
            if len(text) > NAME_MAX or not text.isprintable():
                errors[name] = _l("At most %(n)d characters on one line.", n=NAME_MAX)
            clean[name] = text or None
    if "phone" in values:
        raw = (values["phone"] or "").strip()
        try:
            clean["phone"] = customers.normalize_phone(raw) if raw else None
        except ValidationError as exc:
            errors.update(exc.errors)
    if "birthdate" in values:
        raw = (values["birthdate"] or "").strip()
        try:
            born = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors["birthdate"] = _l("Write the date as YYYY-MM-DD.")
        else:
            if born is not None and not EARLIEST_BIRTHDATE <= born <= date.today():
                errors["birthdate"] = _l("This date of birth is not plausible.")
            clean["birthdate"] = born
    if "locale" in values:
        locale = (values["locale"] or "").strip() or None
        if locale is not None and locale not in LOCALES:
            errors["locale"] = _l("Unsupported language.")
        clean["locale"] = locale
    if "email" in values:
        raw = (values["email"] or "").strip()
        if not raw:
            errors["email"] = _l("A customer always has an email address.")
        else:
            try:
                display, key = customers.normalize_email(raw)
            except ValidationError as exc:
                errors.update(exc.errors)
            else:
                other = customers.find_by_email(display)
                if other is not None and other.id != customer.id:
                    errors["email"] = _l("Another customer uses this email address.")
                clean["email"] = (display, key)
    if errors:
        raise ValidationError(errors)
    return clean


def edit_profile(
    customer: Customer,
    values: Mapping[str, str | None],
    *,
    actor: audit.Actor,
    mailer: Mailer,
    settings: LinkSettings,
    reason: str | None = None,
) -> Done:
    """Change profile fields (only those given). A new phone number is unconfirmed; a new email
    address is unconfirmed too and gets a confirmation link, and links sent to the old one stop
    working (they are bound to the address)."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    clean = _clean_profile(customer, values)
    before = _profile(customer)
    email_changed = False
    if "email" in clean:
        display, key = clean.pop("email")
        if key != customer.email_normalized:
            customer.email_normalized = key
            customer.email_verified = False
            email_changed = True
        customer.email = display
    if "phone" in clean and clean["phone"] != customer.phone:
        customer.phone = clean.pop("phone")
        customer.phone_verified = False
    clean.pop("phone", None)
    for name, value in clean.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
    old, new = audit.changes(before, _profile(customer))
    if not new:
        return Done(changed=False)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Another transaction took the address first: the unique key decides.
        raise ValidationError({"email": _l("Another customer uses this email address.")}) from exc
    _write(
        customer,
        actor,
        "customer.profile_edited",
        EventTag.ADMIN_PROFILE_EDITED,
        before=old,
        after=new,
        reason=reason,
        event_reason=",".join(sorted(new)),
    )
    later = []
    if email_changed:
        later.append(lambda: accounts.send_verification(customer, mailer=mailer, settings=settings))
    return Done(later=later)


# Linked accounts --------------------------------------------------------------------------------


def link_account(
    customer: Customer, source: str, source_id: str, *, actor: audit.Actor
) -> LinkedAccount:
    """Link the customer's account in another system; ``linked.link`` audits it. An account
    already theirs is refused rather than relinked: relinking would wipe what that system
    sent."""
    _live_record(customer)
    source, source_id = (source or "").strip(), (source_id or "").strip()
    existing = linked.find(source, source_id)
    if existing is not None and existing.customer_id == customer.id:
        raise ValidationError({"source_id": _l("This account is already linked to this customer.")})
    return linked.link(customer, source, source_id, None, actor=actor)


def unlink_account(
    customer: Customer,
    source: str,
    source_id: str,
    *,
    actor: audit.Actor,
    reason: str | None = None,
) -> LinkedAccount:
    """Remove one of the customer's linked accounts; ``linked.unlink`` audits it."""
    _live_record(customer)
    reason = _reason(reason, required=False)
    row = linked.find((source or "").strip(), (source_id or "").strip())
    if row is None or row.customer_id != customer.id:
        raise ValidationError({"source_id": _l("This customer has no such linked account.")})
    return linked.unlink(customer, row.id, actor=actor, reason=reason)
