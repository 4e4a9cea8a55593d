"""What a customer can prove besides a password: TOTP, recovery codes, passkeys, emailed codes,
and the browsers they asked us to remember after a second factor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.types import UTCDateTime, utcnow


class TotpCredential(db.Model):  # type: ignore[name-defined,misc]
    """One authenticator app per customer; unconfirmed until a first valid code is typed."""

    __tablename__ = "totp_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), unique=True
    )
    # AES-GCM, bound to the customer id: a copied ciphertext does not decrypt on another row.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The last 30-second step accepted; a code of that step or an earlier one is a replay.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()


class RecoveryCode(db.Model):  # type: ignore[name-defined,misc]
    """A single-use code for when the other factors are lost; 80 random bits, kept as SHA-256."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(db.Model):  # type: ignore[name-defined,misc]
    """A WebAuthn public-key credential (Web Authentication Level 3), named by its owner."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str | None] = mapped_column(String(36))
    # Backup eligible: a synced passkey, whose key lives in software (RFC 8176 "swk").
    backup_eligible: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()


class EmailSignIn(db.Model):  # type: ignore[name-defined,misc]
    """A short-lived emailed sign-in: a six-digit code and a link, either usable once."""

    __tablename__ = "email_sign_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public handle kept in the browser that asked, so a typed code is checked against its mail.
    handle: Mapped[str] = mapped_column(String(43), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    # HMAC keyed from the secret key: six digits are too few for a plain digest.
    code_digest: Mapped[str] = mapped_column(String(64))
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()


class TrustedBrowser(db.Model):  # type: ignore[name-defined,misc]
    """A browser that may skip the customer's second factor until it expires or is forgotten."""

    __tablename__ = "trusted_browser"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
