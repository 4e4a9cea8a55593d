"""Authenticator apps (RFC 6238 TOTP): enrollment confirmed by a first code, each code once.

Codes are checked one 30-second step either side of now, to forgive a phone's clock drift; the
step of the last accepted code is stored, and the update that accepts a code only succeeds if
that step is newer, so the same code sent twice (even at the same instant) works once.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from sqlalchemy import or_, update

from idp import security
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, TotpCredential
from idp.models.types import utcnow

log = logging.getLogger(__name__)

CODE = re.compile(r"^[0-9]{6}$")
WINDOW = 1


@dataclass(frozen=True)
class TotpSettings:
    key: bytes  # seals secrets at rest
    issuer_name: str  # what the authenticator app shows above the account


def _seal(secret: str, customer: Customer, key: bytes) -> bytes:
    return security.encrypt(secret.encode("ascii"), key, _bound_to(customer))


def _open(row: TotpCredential, key: bytes) -> str:
    return security.decrypt(row.secret_ciphertext, key, _bound_to(row.customer)).decode("ascii")


def _bound_to(customer: Customer) -> bytes:
    return f"totp:{customer.public_id}".encode()


def _row(customer: Customer) -> TotpCredential | None:
    return db.session.execute(
        db.select(TotpCredential).where(TotpCredential.customer_id == customer.id)
    ).scalar_one_or_none()


def normalize(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "")


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str


def enrollment(customer: Customer, settings: TotpSettings) -> Enrollment:
    """The secret waiting for its first code, made now if there is none yet."""
    row = _row(customer)
    if row is not None and row.confirmed_at is not None:
        raise ValidationError({"code": "An authenticator app is already set up."})
    if row is None:
        secret = pyotp.random_base32()
        row = TotpCredential(customer=customer, secret_ciphertext=b"")
        db.session.add(row)
        db.session.flush()
        row.secret_ciphertext = _seal(secret, customer, settings.key)
        db.session.commit()
    else:
        try:
            secret = _open(row, settings.key)
        except security.DecryptionError:
            # An unreadable waiting secret is worth nothing: start the enrollment again.
            secret = pyotp.random_base32()
            row.secret_ciphertext = _seal(secret, customer, settings.key)
            db.session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=customer.email, issuer_name=settings.issuer_name)
    return Enrollment(secret=secret, uri=uri)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    if not CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept(row: TotpCredential, code: str, settings: TotpSettings) -> bool:
    try:
        secret = _open(row, settings.key)
    except security.DecryptionError:
        # The key changed (SECRET_KEY without KEY_ENCRYPTION_KEY) or the row was tampered
        # with: no code can match; the customer recovers with a recovery code or a reset.
        log.error("TOTP secret of customer %s cannot be decrypted", row.customer_id)
        return False
    step = _matching_step(secret, normalize(code), time.time())
    if step is None:
        return False
    now = utcnow()
    result = db.session.execute(
        update(TotpCredential)
        .where(
            TotpCredential.id == row.id,
            or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    accepted: bool = result.rowcount == 1  # type: ignore[attr-defined]
    if accepted:
        db.session.refresh(row)
    return accepted


def confirm(customer: Customer, code: str, settings: TotpSettings) -> TotpCredential | None:
    """Turn the waiting secret on when ``code`` is right; None when it is not."""
    row = _row(customer)
    if row is None or row.confirmed_at is not None:
        return None
    if not _accept(row, code, settings):
        return None
    row.confirmed_at = utcnow()
    return row


def verify(customer: Customer, code: str, settings: TotpSettings) -> TotpCredential | None:
    """The confirmed credential when ``code`` is right and not used before; None otherwise."""
    row = _row(customer)
    if row is None or row.confirmed_at is None:
        return None
    return row if _accept(row, code, settings) else None


def remove(customer: Customer) -> bool:
    row = _row(customer)
    if row is None:
        return False
    was_on = row.confirmed_at is not None
    db.session.delete(row)
    return was_on
