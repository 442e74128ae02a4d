"""Cycles, appraisals and their audit trail (the approval workflow).

An appraisal row is one *version* of one employee's result in one cycle; an amendment adds a
version and marks the old one not current. Its ``snapshot`` is what was computed (what is hashed and
signed), ``snapshot_hash`` the SHA-256 of its canonical JSON; every audit event records the hash it saw.
"""

from __future__ import annotations

import datetime as dt
import enum

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..workflow import State
from .base import Model, metadata
from .org import Employee, Station
from .rules import RuleSetVersion


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CycleStatus(enum.StrEnum):
    new = "new"            # created, never computed
    computed = "computed"  # appraisals written (recompute keeps this status)


cycle_station = Table(
    "cycle_station",
    metadata,
    Column("cycle_id", ForeignKey("cycle.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", ForeignKey("station.id"), primary_key=True),
)


class Cycle(Model):
    __tablename__ = "cycle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    # No stations: every station.
    stations: Mapped[list[Station]] = relationship(secondary=cycle_station, order_by=Station.code)
    rule_set_version_id: Mapped[int | None] = mapped_column(ForeignKey("rule_set_version.id"), nullable=True)
    rule_set_version: Mapped[RuleSetVersion | None] = relationship()
    status: Mapped[CycleStatus] = mapped_column(
        Enum(CycleStatus, native_enum=False, length=16, validate_strings=True),
        nullable=False, default=CycleStatus.new,
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Progress of a running compute, written outside its transaction so that any worker can report it.
    progress_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    progress_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    progress_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the last compute created and changed (services.compute.ComputeResult.to_dict()).
    last_result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Publication (结果公示): from then on employees see their approved results. ``publication`` keeps
    # what was decided then: the policy breaches published over, and each pooled station's allocation.
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    publish_override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    publication: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def __repr__(self) -> str:
        return self.name


# The states in which the appraised employee sees a published result of their own.
VISIBLE_TO_SUBJECT = (State.approved, State.signed, State.disputed)


def _state_enum():
    return Enum(State, name="appraisal_state", native_enum=False, length=32, validate_strings=True,
                values_callable=lambda states: [s.value for s in states])


class Appraisal(Model):
    __tablename__ = "appraisal"
    __scope__ = ("employee_id", "station_id")  # see app.scoping
    __table_args__ = (
        UniqueConstraint("cycle_id", "employee_id", "version", name="uq_appraisal_cycle_employee_version"),
        Index("ix_appraisal_cycle_current", "cycle_id", "is_current"),
        Index("ix_appraisal_state", "state"),
        # The lists (app.web.datamodel): a page's keys are read from an index in the page's order, never
        # from the rows (a snapshot each). The keys alone, for a deep page in the default order (on
        # PostgreSQL the primary key's index would do; SQLite keeps the rows in its key's b-tree).
        Index("ix_appraisal_id", "id"),
        Index("ix_appraisal_total", "total"),
        Index("ix_appraisal_cycle_total", "cycle_id", "total"),
        Index("ix_appraisal_cycle_station", "cycle_id", "station_id"),
        # Covering indexes, so the counting pages read no row (a row carries its snapshot): the home
        # cards and the inbox decide by (state, cycle, rule set, people) over the current appraisals;
        # the cycle and calibration pages group a cycle's current appraisals by station, grade and total.
        Index("ix_appraisal_current_state", "is_current", "state", "cycle_id", "rule_set_version_id",
              "employee_id", "station_id", "reviewer_id", "id"),
        Index("ix_appraisal_cycle_grades", "cycle_id", "is_current", "station_id", "grade", "total", "state",
              "rule_set_version_id"),
        # The appraisals handed to a reviewer by HR (the inbox, the reviewer's scope).
        Index("ix_appraisal_reviewer_id", "reviewer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), nullable=False)
    cycle: Mapped[Cycle] = relationship()
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), nullable=False, index=True)
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    # The employee's station when computed: scoping follows the result, not a later transfer.
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), nullable=False, index=True)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # The rule-set version it was computed with (the cycle's when computed); its workflow table applies.
    rule_set_version_id: Mapped[int] = mapped_column(ForeignKey("rule_set_version.id"), nullable=False)
    rule_set_version: Mapped[RuleSetVersion] = relationship()
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    state: Mapped[State] = mapped_column(_state_enum(), nullable=False, default=State.draft)
    subtotal: Mapped[float | None] = mapped_column(Float, nullable=True)
    total: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(16), nullable=True)
    adjustment: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    adjustment_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    manual: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # indicator code → value
    snapshot: Mapped[dict] = mapped_column(JSON, nullable=False)
    snapshot_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    # HR's reassignment (转交): this employee reviews instead of the supervisor, for the reason given.
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", name="fk_appraisal_reviewer"), nullable=True)
    reviewer_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    events: Mapped[list[AuditEvent]] = relationship(
        back_populates="appraisal", order_by="AuditEvent.id", viewonly=True
    )

    @classmethod
    def subject_rule(cls):
        """The criterion under which the appraised employee sees a row of their own (app.scoping): a
        result exists for them once its cycle is published and it is approved, signed or disputed."""
        published = select(Cycle.id).where(Cycle.published_at.is_not(None)).scalar_subquery()
        return cls.state.in_(VISIBLE_TO_SUBJECT) & cls.cycle_id.in_(published)

    def __repr__(self) -> str:
        return f"{self.cycle_id}/{self.employee_id} v{self.version} {self.state}"


class AuditEvent(Model):
    """One thing that happened to an appraisal: a transition, a compute, a review edit, an amendment."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisal.id"), nullable=False, index=True)
    appraisal: Mapped[Appraisal] = relationship(back_populates="events")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), nullable=True)
    user: Mapped[User | None] = relationship(User, foreign_keys=[user_id])
    who: Mapped[str] = mapped_column(String(200), nullable=False)  # the name at the time
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who may read the comment: "shared" (the appraised employee too) or "internal" (reviewers and HR).
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="shared",
                                            server_default="shared")
    snapshot_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # A substitute's step: the principal it was taken for, and their name at the time ("代 X").
    on_behalf_of_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("ab_user.id", name="fk_audit_event_on_behalf"), nullable=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(200), nullable=True)

    def __repr__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class CycleDeadline(Model):
    """The date by which a cycle's appraisals should have left ``state`` (review by, sign by, ...):
    the end of the chosen local day, stored in UTC."""

    __tablename__ = "cycle_deadline"
    __table_args__ = (UniqueConstraint("cycle_id", "state", name="uq_cycle_deadline_cycle_state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id", ondelete="CASCADE"), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    set_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    set_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"{self.cycle_id} {self.state} by {self.due_at}"
