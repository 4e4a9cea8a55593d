"""Keys that sign ID tokens and JWT access tokens: public half in the JWKS, private half sealed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class KeyState(StrEnum):
    NEXT = "next"  # published, not signing yet
    ACTIVE = "active"  # signing
    RETIRED = "retired"  # no longer signing, still published for the tokens it signed
    EXPIRED = "expired"  # gone from the JWKS; the row waits for ``purge_expired``


class SigningKey(db.Model):  # type: ignore[name-defined,misc]
    """One key pair; its life: published, then signing, then retired, then expired."""

    __tablename__ = "signing_key"
    # One key per (alg, generation): two processes creating "the next key" at once cannot both
    # win, whatever the database (see ``idp.services.keys``).
    __table_args__ = (UniqueConstraint("alg", "generation", name="uq_signing_key_alg_generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # RFC 7638 thumbprint of the public key: unique and stable.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8))
    # 1 for the first key of an alg, then one more at each rotation; the highest usable one signs.
    generation: Mapped[int]
    # Public members only, with kid, alg and use=sig: served as is in the JWKS.
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # PKCS#8 PEM sealed by ``security.encrypt`` with the kid as associated data; never plaintext.
    private_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Publish before use: in the JWKS from creation, signing only from here.
    activates_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a newer key of the same alg takes over.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # retired_at + the longest lifetime of a token it signed: from here it leaves the JWKS.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def state(self, now: datetime) -> KeyState:
        if self.expires_at is not None and self.expires_at <= now:
            return KeyState.EXPIRED
        if self.retired_at is not None and self.retired_at <= now:
            return KeyState.RETIRED
        if self.activates_at > now:
            return KeyState.NEXT
        return KeyState.ACTIVE

    def is_published(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now
