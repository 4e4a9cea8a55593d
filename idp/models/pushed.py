"""Pushed authorization requests (RFC 9126): parameters a client sent ahead, by reference."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.extensions import db
from idp.models.types import UTCDateTime, utcnow


class PushedRequest(db.Model):  # type: ignore[name-defined,misc]
    """One pushed request, found by the digest of its ``request_uri``, good for one code."""

    __tablename__ = "pushed_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_uri_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    # Every parameter as pushed, each name with its list of values.
    params: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
