"""The unified customer record and the password that can prove it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow
from idp.text import fold


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    # Absorbed by a merge: an alias of ``merged_into``, resolved to it everywhere.
    MERGED = "merged"


def new_public_id() -> str:
    return str(uuid.uuid4())


def _prefix_index(column: str, *then: str) -> Index:
    """An index that serves ``LIKE 'prefix%'`` on PostgreSQL whatever the database collation;
    ``then`` orders rows of one key, so a keyset page of a common name reads only that page."""
    return Index(
        f"ix_customer_{column}_prefix",
        column,
        *then,
        postgresql_ops={column: "varchar_pattern_ops"},
    )


class Customer(db.Model):  # type: ignore[name-defined,misc]
    """One person across every channel; ``public_id`` is the OIDC ``sub`` for every client."""

    __tablename__ = "customer"
    __table_args__ = (
        _prefix_index("email_normalized"),
        _prefix_index("given_key", "id"),
        _prefix_index("family_key", "id"),
        Index("ix_customer_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(String(16))
    phone_verified: Mapped[bool] = mapped_column(default=False)
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    # Folded names (idp.text.fold), kept in step by the validators below: what search matches.
    given_key: Mapped[str | None] = mapped_column(String(100))
    family_key: Mapped[str | None] = mapped_column(String(100))
    birthdate: Mapped[date | None]
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when a merge absorbed this record; cleared when the merge is undone.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)

    password: Mapped[PasswordCredential | None] = relationship(
        back_populates="customer", cascade="all, delete-orphan", uselist=False
    )

    @validates("given_name", "family_name")
    def _keep_keys(self, name: str, value: str | None) -> str | None:
        setattr(self, name.replace("_name", "_key"), fold(value))
        return value

    @property
    def is_active(self) -> bool:
        return self.status == CustomerStatus.ACTIVE

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.given_name, self.family_name) if p]
        return " ".join(parts) or None

    def __repr__(self) -> str:
        return f"<Customer {self.public_id}>"


class PasswordCredential(db.Model):  # type: ignore[name-defined,misc]
    """An argon2id hash; rehashed at sign-in when the parameters change."""

    __tablename__ = "password_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), unique=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="password")
