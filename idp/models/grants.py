"""Authorization codes and consents: what a customer allowed which client to do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.types import UTCDateTime, utcnow


class AuthorizationCode(db.Model):  # type: ignore[name-defined,misc]
    """One code, found by digest, spent once; its tokens are revoked if it is replayed."""

    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    # True when the request named the redirect URI, so the token request must repeat it.
    redirect_uri_given: Mapped[bool] = mapped_column(default=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    # RFC 8707: the resources the client asked for; its tokens may name no others.
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    # RFC 9449 10: the DPoP key (thumbprint) the token request must prove, when bound.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()

    # Authlib's AuthorizationCodeMixin and OIDC extension read these.
    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri if self.redirect_uri_given else None

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str] | None:
        return self.amr


class Consent(db.Model):  # type: ignore[name-defined,misc]
    """The scopes a customer granted a client; withdrawn consent is kept as history."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("customer_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
