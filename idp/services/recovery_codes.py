"""Ten single-use recovery codes, shown once: 80 random bits each, so a SHA-256 digest suffices."""

from __future__ import annotations

import secrets

from sqlalchemy import update

from idp import security
from idp.extensions import db
from idp.models import Customer, RecoveryCode
from idp.models.types import utcnow

COUNT = 10
# Crockford's base32: no I, L, O or U, so a code copied by hand from paper reads back the same.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalize(code: str | None) -> str:
    cleaned = "".join(ch for ch in (code or "").casefold() if ch.isalnum())
    return cleaned.translate(_READ_AS)[:64]


def generate(customer: Customer) -> list[str]:
    """Replace every code of the customer with ten new ones; the raw codes exist only here."""
    db.session.execute(
        db.delete(RecoveryCode)
        .where(RecoveryCode.customer_id == customer.id)
        .execution_options(synchronize_session=False)
    )
    codes = [_new_code() for _ in range(COUNT)]
    now = utcnow()
    for code in codes:
        db.session.add(
            RecoveryCode(
                customer_id=customer.id,
                code_digest=security.digest(normalize(code)),
                created_at=now,
            )
        )
    return codes


def use(customer: Customer, code: str) -> bool:
    """Spend one code; the conditional update makes two requests with it spend it once."""
    cleaned = normalize(code)
    if len(cleaned) != 16:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.customer_id == customer.id,
            RecoveryCode.code_digest == security.digest(cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]
