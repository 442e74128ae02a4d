"""Delegation: substitutes (代理) who act for a principal over a range of local dates, and the partial
approvals of a countersigned step (会签), one row per filled seat of one visit of the state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Substitute(Model):
    """``substitute_id`` acts for ``principal_id`` from ``starts_on`` to ``ends_on`` (inclusive, local
    dates), unless revoked."""

    __tablename__ = "substitute"
    __table_args__ = (
        Index("ix_substitute_active", "substitute_id", "starts_on", "ends_on"),
        Index("ix_substitute_principal", "principal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"{self.substitute_id} for {self.principal_id} {self.starts_on}..{self.ends_on}"


class CountersignApproval(Model):
    """One seat of a countersigned step filled in one visit of ``state`` (``entered_event_id``: the
    audit event that brought the appraisal into it). A new visit starts with no seats filled."""

    __tablename__ = "countersign_approval"
    __table_args__ = (
        UniqueConstraint("appraisal_id", "entered_event_id", "seat",
                         name="uq_countersign_approval_visit_seat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisal.id"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    entered_event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), nullable=False)
    seat: Mapped[str] = mapped_column(String(32), nullable=False)  # a role named in the row's countersign
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    on_behalf_of_user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    audit_event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
