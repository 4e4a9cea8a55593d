"""The login history of every customer: each sign-in attempt and, later, each token event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class LoginEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "login_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept when the customer is erased later: SET NULL keeps the security history's shape.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    tag: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool]
    method: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    client_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
