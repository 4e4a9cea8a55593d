"""Server-side browser sessions: the cookie holds a random id, the row holds everything else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.types import UTCDateTime, utcnow


class BrowserSession(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "browser_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the cookie value: a stolen database cannot be replayed as cookies.
    id_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Public, non-secret handle; later the OIDC ``sid`` claim.
    sid: Mapped[str] = mapped_column(String(43), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now


class SessionClient(db.Model):  # type: ignore[name-defined,misc]
    """A client that received tokens within a browser session: who to tell at logout."""

    __tablename__ = "session_client"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("browser_session.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
