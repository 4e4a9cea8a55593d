"""Creating, finding and updating customers, and the normalisation every identifier goes through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from idp import security
from idp.config import LOCALES
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, PasswordCredential
from idp.models.types import utcnow
from idp.services import password_policy
from idp.services.records import aliases

ADDRESS_FIELDS = ("street_address", "locality", "region", "postal_code", "country")

PASSWORD_MESSAGES = {
    "too_short": _l("Use at least %(n)d characters.", n=password_policy.MIN_LENGTH),
    "too_long": _l("Use at most %(n)d characters.", n=password_policy.MAX_LENGTH),
    "too_common": _l("This password is too common. Choose one that is harder to guess."),
    "like_email": _l("Your password must not be your email address."),
}


def normalize_email(raw: str) -> tuple[str, str]:
    """(display form, lookup key); the key is case-folded so one mailbox is one account."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError({"email": _l("Enter a valid email address.")}) from exc
    return result.normalized, result.normalized.casefold()


def normalize_phone(raw: str) -> str:
    """E.164 (``+33612345678``); a number without a country code is refused, not guessed."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            {"phone": _l("Enter the number in international format, like +33 6 12 34 56 78.")}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": _l("This phone number is not valid.")})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_address(raw: Mapping[str, Any]) -> dict[str, str]:
    """OIDC Core 5.1.1 address members; unknown keys are refused so typos are not lost."""
    unknown = set(raw) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(
            {"address": _l("Unknown address fields: %(f)s", f=", ".join(sorted(unknown)))}
        )
    address = {k: str(v).strip() for k, v in raw.items() if v is not None and str(v).strip()}
    if any(len(v) > 200 for v in address.values()):
        raise ValidationError({"address": _l("Address lines are limited to 200 characters.")})
    if address:
        lines = [
            address.get("street_address"),
            " ".join(p for p in (address.get("postal_code"), address.get("locality")) if p),
            address.get("region"),
            address.get("country"),
        ]
        address["formatted"] = "\n".join(line for line in lines if line)
    return address


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    found = password_policy.problems(password, email=email)
    if found:
        raise ValidationError({field: PASSWORD_MESSAGES[found[0]]})


def find_by_email(raw_email: str) -> Customer | None:
    try:
        _, key = normalize_email(raw_email)
    except ValidationError:
        return None
    return db.session.execute(
        db.select(Customer).where(Customer.email_normalized == key)
    ).scalar_one_or_none()


def find_by_public_id(public_id: str, *, follow_aliases: bool = False) -> Customer | None:
    """The record with this id; with ``follow_aliases``, the live record an id absorbed by a
    merge now means (what the admin API and imports ask for; sign-in and signed links do not,
    as what they carry was bound to the absorbed record itself)."""
    if follow_aliases:
        return aliases.resolve(public_id)
    return db.session.execute(
        db.select(Customer).where(Customer.public_id == public_id)
    ).scalar_one_or_none()


def create(
    *,
    email: str,
    password: str | None,
    given_name: str | None = None,
    family_name: str | None = None,
    phone: str | None = None,
    birthdate: date | None = None,
    address: Mapping[str, Any] | None = None,
    locale: str | None = None,
    email_verified: bool = False,
    phone_verified: bool = False,
) -> Customer:
    """Validate everything first, then write customer and password in one transaction.

    Raises ``ValidationError`` with ``email`` when the address is taken; callers facing the
    public decide whether to reveal that (sign-up does not).
    """
    display, key = normalize_email(email)
    errors: dict[str, str] = {}
    if password is not None:
        try:
            check_password(password, email=display)
        except ValidationError as exc:
            errors.update(exc.errors)
    values: dict[str, Any] = {}
    try:
        if phone:
            values["phone"] = normalize_phone(phone)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        if address:
            values["address"] = normalize_address(address)
    except ValidationError as exc:
        errors.update(exc.errors)
    if locale is not None and locale not in LOCALES:
        errors["locale"] = _l("Unsupported language.")
    if errors:
        raise ValidationError(errors)

    customer = Customer(
        email=display,
        email_normalized=key,
        email_verified=email_verified,
        given_name=(given_name or "").strip() or None,
        family_name=(family_name or "").strip() or None,
        birthdate=birthdate,
        locale=locale,
        phone=values.get("phone"),
        phone_verified=bool(values.get("phone")) and phone_verified,
        address=values.get("address") or None,
    )
    if password is not None:
        customer.password = PasswordCredential(password_hash=security.hash_password(password))
    db.session.add(customer)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationError({"email": _l("An account already uses this email address.")}) from exc
    return customer


def set_password(customer: Customer, password: str) -> None:
    """Replace the password; callers end the customer's other sessions."""
    check_password(password, email=customer.email)
    now = utcnow()
    if customer.password is None:
        customer.password = PasswordCredential(
            password_hash=security.hash_password(password), created_at=now, updated_at=now
        )
    else:
        customer.password.password_hash = security.hash_password(password)
        customer.password.updated_at = now


def list_customers(limit: int = 100, offset: int = 0) -> list[Customer]:
    return list(
        db.session.execute(
            db.select(Customer).order_by(Customer.id).limit(limit).offset(offset)
        ).scalars()
    )
