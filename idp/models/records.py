"""The unified record's own tables: accounts in other systems linked to a customer, merges of
two records of one person (with what it takes to undo them), and pairs known to be two people."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.extensions import db
from idp.models.customer import Customer
from idp.models.types import UTCDateTime, utcnow


class LinkedAccount(db.Model):  # type: ignore[name-defined,misc]
    """The customer's account in another system (a shop, the loyalty program, a CRM), or at an
    upstream sign-in provider: one (source, source_id) belongs to exactly one customer."""

    __tablename__ = "linked_account"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(64))
    # Indexed alone too: support searches a source id without knowing which system gave it.
    source_id: Mapped[str] = mapped_column(String(255), index=True)
    # What that system knows of the person, as it sent it.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()


class CustomerMerge(db.Model):  # type: ignore[name-defined,misc]
    """One merge: ``absorbed`` became an alias of ``survivor``. ``undo`` holds everything the
    merge changed (the survivor's fields before, each moved row), so undoing restores both."""

    __tablename__ = "customer_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    survivor_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undo_until: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))

    survivor: Mapped[Customer] = relationship(foreign_keys=[survivor_id])
    absorbed: Mapped[Customer] = relationship(foreign_keys=[absorbed_id])


class DistinctPeople(db.Model):  # type: ignore[name-defined,misc]
    """Two records marked "not the same person": never merged, by hand or by an import.
    Stored once per pair, the smaller customer id first."""

    __tablename__ = "distinct_people"
    __table_args__ = (
        UniqueConstraint("first_id", "second_id"),
        CheckConstraint("first_id < second_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    second_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
