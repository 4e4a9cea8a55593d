"""Device authorizations (RFC 8628) and the devices they put on a customer's record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.tokens import TokenFamily
from idp.models.types import UTCDateTime, utcnow


class DeviceStatus(StrEnum):
    PENDING = "pending"  # waiting for the customer on the verification page
    APPROVED = "approved"
    DENIED = "denied"


class Device(db.Model):  # type: ignore[name-defined,misc]
    """A TV or console a customer approved; removing it revokes its token family."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    # The client's name at approval: what the customer saw and approved.
    name: Mapped[str] = mapped_column(String(100))
    family_id: Mapped[int] = mapped_column(
        ForeignKey("token_family.id", ondelete="CASCADE"), unique=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moved on at every token issued to the device: first tokens and each refresh.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()
    family: Mapped[TokenFamily] = relationship()


class DeviceAuthorization(db.Model):  # type: ignore[name-defined,misc]
    """One device authorization request (RFC 8628 3.1), found by the digest of either code.

    The device code is found by its SHA-256 digest when the device polls; the user code by a
    keyed digest of its normalized form when the customer types it. A user code is unique among
    live requests: expired rows give theirs up (``services.devices.start``).
    """

    __tablename__ = "device_authorization"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=DeviceStatus.PENDING)
    # Seconds the device must wait between polls; grows by 5 at each slow_down (RFC 8628 3.5).
    poll_interval: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who approved or denied it, and when.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The device created at approval; NULL once the customer removed it.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    # Set when tokens were issued: the device code is spent.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer | None] = relationship()
    device: Mapped[Device | None] = relationship()

    # Authlib's DeviceCodeGrant reads the scope when it makes the tokens.
    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()
