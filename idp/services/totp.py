"""Authenticator apps (RFC 6238 TOTP): enrollment confirmed by a first code, each code once.

Codes are checked one 30-second step either side of now, to forgive a phone's clock drift; the
step of the last accepted code is stored, and the update that accepts a code only succeeds if
that step is newer, so the same code sent twice (even at the same instant) works once.

Customers and staff (the admin console) hold the same kind of credential in tables of their own
(``TotpCredential``, ``AdminTotp``); every rule here is written once for both.
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
from idp.models import AdminTotp, AdminUser, Customer, TotpCredential
from idp.models.types import utcnow

log = logging.getLogger(__name__)

CODE = re.compile(r"^[0-9]{6}$")
WINDOW = 1


# Whose authenticator app it is, and the row type that holds it.
Holder = Customer | AdminUser
Row = TotpCredential | AdminTotp


@dataclass(frozen=True)
class TotpSettings:
    key: bytes  # seals secrets at rest
    issuer_name: str  # what the authenticator app shows above the account


def _seal(secret: str, holder: Holder, key: bytes) -> bytes:
    return security.encrypt(secret.encode("ascii"), key, _bound_to(holder))


def _open(row: Row, holder: Holder, key: bytes) -> str:
    return security.decrypt(row.secret_ciphertext, key, _bound_to(holder)).decode("ascii")


def _bound_to(holder: Holder) -> bytes:
    """The ciphertext's associated data: a secret copied to another row does not decrypt."""
    if isinstance(holder, AdminUser):
        return f"admin-totp:{holder.public_id}".encode()
    return f"totp:{holder.public_id}".encode()


def _row(holder: Holder) -> Row | None:
    if isinstance(holder, AdminUser):
        return db.session.execute(
            db.select(AdminTotp).where(AdminTotp.admin_id == holder.id)
        ).scalar_one_or_none()
    return db.session.execute(
        db.select(TotpCredential).where(TotpCredential.customer_id == holder.id)
    ).scalar_one_or_none()


def _new_row(holder: Holder) -> Row:
    if isinstance(holder, AdminUser):
        return AdminTotp(admin=holder, secret_ciphertext=b"")
    return TotpCredential(customer=holder, secret_ciphertext=b"")


def normalize(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "")


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str


def enrollment(holder: Holder, settings: TotpSettings) -> Enrollment:
    """The secret waiting for its first code, made now if there is none yet."""
    row = _row(holder)
    if row is not None and row.confirmed_at is not None:
        raise ValidationError({"code": "An authenticator app is already set up."})
    if row is None:
        secret = pyotp.random_base32()
        row = _new_row(holder)
        db.session.add(row)
        db.session.flush()
        row.secret_ciphertext = _seal(secret, holder, settings.key)
        db.session.commit()
    else:
        try:
            secret = _open(row, holder, settings.key)
        except security.DecryptionError:
            # An unreadable waiting secret is worth nothing: start the enrollment again.
            secret = pyotp.random_base32()
            row.secret_ciphertext = _seal(secret, holder, settings.key)
            db.session.commit()
    issuer_name = settings.issuer_name
    if isinstance(holder, AdminUser):
        # Apart from the same person's customer account in the same app.
        issuer_name = f"{issuer_name} (admin)"
    uri = pyotp.TOTP(secret).provisioning_uri(name=holder.email, issuer_name=issuer_name)
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


def _accept(row: Row, holder: Holder, code: str, settings: TotpSettings) -> bool:
    try:
        secret = _open(row, holder, settings.key)
    except security.DecryptionError:
        # The key changed (SECRET_KEY without KEY_ENCRYPTION_KEY) or the row was tampered
        # with: no code can match; the customer recovers with a recovery code or a reset.
        log.error("TOTP secret of %r cannot be decrypted", holder)
        return False
    step = _matching_step(secret, normalize(code), time.time())
    if step is None:
        return False
    now = utcnow()
    model = type(row)
    result = db.session.execute(
        update(model)
        .where(
            model.id == row.id,
            or_(model.last_used_step.is_(None), model.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    accepted: bool = result.rowcount == 1  # type: ignore[attr-defined]
    if accepted:
        db.session.refresh(row)
    return accepted


def confirm(holder: Holder, code: str, settings: TotpSettings) -> Row | None:
    """Turn the waiting secret on when ``code`` is right; None when it is not."""
    row = _row(holder)
    if row is None or row.confirmed_at is not None:
        return None
    if not _accept(row, holder, code, settings):
        return None
    row.confirmed_at = utcnow()
    return row


def verify(holder: Holder, code: str, settings: TotpSettings) -> Row | None:
    """The confirmed credential when ``code`` is right and not used before; None otherwise."""
    row = _row(holder)
    if row is None or row.confirmed_at is None:
        return None
    return row if _accept(row, holder, code, settings) else None


def confirmed(holder: Holder) -> Row | None:
    """The holder's authenticator app once its first code was typed."""
    row = _row(holder)
    return row if row is not None and row.confirmed_at is not None else None


def remove(holder: Holder) -> bool:
    row = _row(holder)
    if row is None:
        return False
    was_on = row.confirmed_at is not None
    db.session.delete(row)
    return was_on
