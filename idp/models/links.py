"""Signed links already spent; the primary key makes spending one atomic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class UsedLink(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "used_link"

    nonce_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Rows past this can be purged: the signature check refuses the link anyway.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
