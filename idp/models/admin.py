"""Staff accounts for the admin console: apart from customers, with roles and their own factor
and sessions, so a customer's credentials never open the console and the reverse."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class AdminRole(StrEnum):
    """Ordered: each role may do everything the ones before it may."""

    VIEWER = "viewer"  # reads, changes nothing
    SUPPORT = "support"  # account actions on customers, merges
    ADMIN = "admin"  # everything, clients and staff included

    @property
    def rank(self) -> int:
        return list(AdminRole).index(self)

    def allows(self, needed: AdminRole) -> bool:
        return self.rank >= needed.rank


class AdminStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class AdminUser(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AdminStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.status == AdminStatus.ACTIVE

    def allows(self, needed: AdminRole) -> bool:
        return self.is_active and AdminRole(self.role).allows(needed)

    def __repr__(self) -> str:
        return f"<AdminUser {self.email} {self.role}>"


class AdminTotp(db.Model):  # type: ignore[name-defined,misc]
    """The admin's authenticator app; the same columns and rules as a customer's."""

    __tablename__ = "admin_totp"

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), unique=True
    )
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    admin: Mapped[AdminUser] = relationship()


class AdminSession(db.Model):  # type: ignore[name-defined,misc]
    """A console session: the cookie holds a random id, this row its SHA-256 and the state.

    ``second_factor_at`` is empty while only the password is proven: such a session reaches
    the second-factor pages and nothing else.
    """

    __tablename__ = "admin_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))

    admin: Mapped[AdminUser] = relationship()
