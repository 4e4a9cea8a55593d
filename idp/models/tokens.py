"""Refresh tokens (opaque, rotated, grouped in families) and the record of issued access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.types import UTCDateTime, utcnow


class TokenFamily(db.Model):  # type: ignore[name-defined,misc]
    """Every token descended from one authorization (RFC 9700 4.14.2): revoked as one."""

    __tablename__ = "token_family"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    authorization_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorization_code.id", ondelete="SET NULL"), unique=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    # RFC 8707: the resources granted; each access token is for these or fewer.
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    # RFC 9449 5: a public client's refresh tokens work only with this DPoP key (thumbprint).
    dpop_jkt: Mapped[str | None] = mapped_column(String(43))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Absolute lifetime: no refresh past this, however active the client is.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    customer: Mapped[Customer | None] = relationship()


class RefreshToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int] = mapped_column(
        ForeignKey("token_family.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Idle lifetime: an unused refresh token dies after this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when rotated; presenting it again is reuse and revokes the family.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    family: Mapped[TokenFamily] = relationship()

    # Authlib's RefreshTokenGrant reads these.
    def check_client(self, client: object) -> bool:
        return self.family.client_id == getattr(client, "client_id", None)

    def get_scope(self) -> str:
        return self.family.scope


class AccessToken(db.Model):  # type: ignore[name-defined,misc]
    """An issued JWT access token by its ``jti``, so it can be introspected and revoked."""

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int | None] = mapped_column(
        ForeignKey("token_family.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    family: Mapped[TokenFamily | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
