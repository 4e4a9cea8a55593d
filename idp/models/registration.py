"""Initial access tokens: what an operator hands out to allow dynamic registration (RFC 7591 3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class InitialAccessToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "initial_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the bearer token; the raw value is shown once, when minted.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    single_use: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First use for a single-use token (which then stops working), last use otherwise.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
