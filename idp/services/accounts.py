"""Self-service account flows: sign up, verify email, forgot and reset password, change password.

None of them tells a stranger whether an email has an account: the answers and the work done
are the same either way, and the difference only reaches the mailbox's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from idp import security
from idp.errors import AuthenticationFailed, ValidationError
from idp.extensions import db
from idp.models import BrowserSession, Customer
from idp.services import RequestMeta, customers, events, links, mfa, sessions
from idp.services.events import EventTag
from idp.services.links import Purpose
from idp.services.mail import Mailer, send_to_customer


@dataclass(frozen=True)
class LinkSettings:
    issuer: str
    secret_key: str
    verify_max_age: int
    reset_max_age: int


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    given_name: str | None = None
    family_name: str | None = None
    birthdate: date | None = None
    locale: str | None = None


SUBJECTS = {
    "verify_email": _l("Confirm your email address"),
    "account_exists": _l("Someone tried to sign up with your email"),
    "reset_password": _l("Reset your password"),
    "password_changed": _l("Your password was changed"),
}


def _mail(mailer: Mailer, customer: Customer, template: str, **context: object) -> None:
    send_to_customer(mailer, customer, template, SUBJECTS[template], **context)


def send_verification(customer: Customer, *, mailer: Mailer, settings: LinkSettings) -> None:
    token = links.make(settings.secret_key, customer, Purpose.VERIFY_EMAIL)
    _mail(
        mailer,
        customer,
        "verify_email",
        link=f"{settings.issuer}/verify-email/{token}",
        hours=settings.verify_max_age // 3600,
    )


def sign_up(data: SignUp, *, meta: RequestMeta, mailer: Mailer, settings: LinkSettings) -> None:
    """Create the account and mail a verification link; if the email is taken, warn its owner."""
    existing = customers.find_by_email(data.email)
    if existing is not None:
        customers.check_password(data.password, email=existing.email)
        security.burn_password_check(data.password)  # same argon2 cost as creating an account
        _mail(
            mailer,
            existing,
            "account_exists",
            link=f"{settings.issuer}/forgot-password",
        )
        return
    try:
        customer = customers.create(
            email=data.email,
            password=data.password,
            given_name=data.given_name,
            family_name=data.family_name,
            birthdate=data.birthdate,
            locale=data.locale,
        )
    except ValidationError as exc:
        if "email" in exc.errors and customers.find_by_email(data.email) is not None:
            return  # lost a race with a concurrent sign-up for the same address
        raise
    events.record(EventTag.SIGNUP, customer=customer, meta=meta)
    db.session.commit()
    send_verification(customer, mailer=mailer, settings=settings)


def verify_email(token: str, *, meta: RequestMeta, settings: LinkSettings) -> Customer:
    claims = links.read(settings.secret_key, token, Purpose.VERIFY_EMAIL, settings.verify_max_age)
    links.spend(claims)
    customer = claims.customer
    customer.email_verified = True
    events.record(EventTag.EMAIL_VERIFIED, customer=customer, meta=meta)
    db.session.commit()
    return customer


def request_password_reset(
    email: str, *, meta: RequestMeta, mailer: Mailer, settings: LinkSettings
) -> None:
    customer = customers.find_by_email(email)
    if customer is None or not customer.is_active:
        return
    token = links.make(settings.secret_key, customer, Purpose.RESET_PASSWORD)
    events.record(EventTag.PASSWORD_RESET_REQUESTED, customer=customer, meta=meta)
    db.session.commit()
    _mail(
        mailer,
        customer,
        "reset_password",
        link=f"{settings.issuer}/reset-password/{token}",
        minutes=settings.reset_max_age // 60,
    )


def check_reset_link(token: str, *, settings: LinkSettings) -> Customer:
    return links.read(
        settings.secret_key, token, Purpose.RESET_PASSWORD, settings.reset_max_age
    ).customer


def reset_password(
    token: str, new_password: str, *, meta: RequestMeta, mailer: Mailer, settings: LinkSettings
) -> Customer:
    """Set the new password and end every session: whoever knew the old one is signed out."""
    claims = links.read(settings.secret_key, token, Purpose.RESET_PASSWORD, settings.reset_max_age)
    customer = claims.customer
    customers.set_password(customer, new_password)
    links.spend(claims)
    # The link reached the mailbox, which proves the address.
    customer.email_verified = True
    sessions.end_all(customer)
    # A remembered browser stands in for the second factor only beside the right password.
    mfa.forget_browsers(customer)
    events.record(EventTag.PASSWORD_RESET, customer=customer, meta=meta)
    db.session.commit()
    _mail(mailer, customer, "password_changed", link=f"{settings.issuer}/forgot-password")
    return customer


def change_password(
    customer: Customer,
    current_password: str,
    new_password: str,
    *,
    keep: BrowserSession | None,
    meta: RequestMeta,
    mailer: Mailer,
    settings: LinkSettings,
) -> None:
    credential = customer.password
    if credential is None or not security.verify_password(
        credential.password_hash, current_password
    ):
        raise AuthenticationFailed()
    customers.set_password(customer, new_password)
    sessions.end_all(customer, keep=keep)
    mfa.forget_browsers(customer)
    events.record(EventTag.PASSWORD_CHANGED, customer=customer, meta=meta)
    db.session.commit()
    _mail(mailer, customer, "password_changed", link=f"{settings.issuer}/forgot-password")
