"""What each customer allowed each client to see, kept so they are asked once and can withdraw."""

from __future__ import annotations

from idp.extensions import db
from idp.models import Consent, Customer, TokenFamily
from idp.models.types import utcnow
from idp.services import tokens

# Scopes that reveal nothing by themselves and are never listed on the consent page.
SILENT_SCOPES = frozenset({"openid"})


def find(customer: Customer, client_id: str) -> Consent | None:
    return db.session.execute(
        db.select(Consent).where(Consent.customer_id == customer.id, Consent.client_id == client_id)
    ).scalar_one_or_none()


def covers(customer: Customer, client_id: str, scopes: set[str]) -> bool:
    """True when a live consent already includes every scope asked for now."""
    consent = find(customer, client_id)
    if consent is None or consent.withdrawn_at is not None:
        return False
    return (scopes - SILENT_SCOPES) <= set(consent.scopes)


def grant(customer: Customer, client_id: str, scopes: set[str]) -> Consent:
    consent = find(customer, client_id)
    if consent is None:
        consent = Consent(customer_id=customer.id, client_id=client_id, scopes=[])
        db.session.add(consent)
    previous = set() if consent.withdrawn_at is not None else set(consent.scopes or [])
    consent.scopes = sorted(previous | (scopes - SILENT_SCOPES))
    consent.granted_at = utcnow()
    consent.withdrawn_at = None
    return consent


def withdraw(customer: Customer, client_id: str) -> bool:
    """Forget the consent and revoke every token the client holds for this customer."""
    consent = find(customer, client_id)
    if consent is None or consent.withdrawn_at is not None:
        return False
    consent.withdrawn_at = utcnow()
    consent.scopes = []
    for family in db.session.execute(
        db.select(TokenFamily).where(
            TokenFamily.customer_id == customer.id,
            TokenFamily.client_id == client_id,
            TokenFamily.revoked_at.is_(None),
        )
    ).scalars():
        tokens.revoke_family(family, "consent_withdrawn")
    return True


def list_for(customer: Customer) -> list[Consent]:
    return list(
        db.session.execute(
            db.select(Consent)
            .where(Consent.customer_id == customer.id, Consent.withdrawn_at.is_(None))
            .order_by(Consent.granted_at.desc())
        ).scalars()
    )
