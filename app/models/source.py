"""Source data: work orders, customer call-back surveys and labour costs.

Rows arrive only through ``app.importing``. Each keeps the codes of the file (``station_code``,
``technician_no``, ``rework_of`` …) and the keys they resolved to, so that screens show what the
station sent and queries join on integers. Times are the local wall time of ``JIXIAO_TIMEZONE`` as
written in the file; the import stores the durations the metrics need (``response_hours``,
``repair_hours``) computed with the time zone's rules, so the SQL stays portable and cheap.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .org import Employee, Station

ENTERPRISE = "enterprise"
CONSUMER = "consumer"
CUSTOMER_TYPES = (ENTERPRISE, CONSUMER)


class WorkOrder(Model):
    """A repair order (维修工单). ``completed_at`` empty = still open."""

    __tablename__ = "work_order"
    __scope__ = ("technician_id", "station_id")  # see app.scoping
    __table_args__ = (
        # Covers the metric query (app.metrics): read in technician order, no table access and no
        # sort, which keeps all metrics of a period within a small multiple of one bare scan. A
        # period seeks each technician's range. (No separate index on completed_at: SQLite would
        # prefer it and pay a table lookup per order.)
        Index(
            "ix_work_order_metrics", "technician_id", "station_id", "completed_at", "first_time_fixed",
            "customer_type", "response_hours", "sla_response_hours", "repair_hours", "parts_cost",
            "service_fee", "parts_delay", "tags",
        ),
        # The metrics' tag pass (app.metrics.queries.tag_groups) reads the orders that carry a tag
        # alone, four columns each, instead of the wide index above (1M orders: 0.26 -> 0.17 s). A
        # partial index serves a query whose WHERE implies the index's: the query writes ``tags != ''``
        # as a literal, as here (a bound '' would not do on SQLite).
        Index(
            "ix_work_order_tagged", "technician_id", "station_id", "completed_at", "tags",
            sqlite_where=text("tags != ''"), postgresql_where=text("tags <> ''"),
        ),
        # The list API's filter by technician number, and the keys alone for its deep pages (see
        # ix_appraisal_id).
        Index("ix_work_order_technician_no", "technician_no"),
        Index("ix_work_order_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    station_code: Mapped[str] = mapped_column(String(32), nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), nullable=False, index=True)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    technician_no: Mapped[str] = mapped_column(String(32), nullable=False)
    technician_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), nullable=False)
    technician: Mapped[Employee] = relationship(foreign_keys=[technician_id])
    customer_type: Mapped[str] = mapped_column(String(16), nullable=False)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    first_time_fixed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    rework_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rework_of_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), nullable=True, index=True)
    parts_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    labor_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    service_fee: Mapped[float | None] = mapped_column(Float, nullable=True)
    sla_response_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    parts_delay: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    tags: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Derived at import: hours from reported_at to responded_at, and from arrived_at (else
    # responded_at) to completed_at; NULL where the times are missing.
    response_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    repair_hours: Mapped[float | None] = mapped_column(Float, nullable=True)

    def __repr__(self) -> str:
        return self.order_no


class Survey(Model):
    """A customer call-back (回访) about one order; scores 1–5. One per order."""

    __tablename__ = "survey"
    # The order's technician, station and completion, copied at import and kept in step when the
    # order is re-imported: scoping is one comparison like everywhere else, and the metric query
    # reads this table's covering index alone instead of probing the orders a million times.
    __scope__ = ("technician_id", "station_id")
    __table_args__ = (
        Index("ix_survey_metrics", "technician_id", "station_id", "order_completed_at",
              "attitude", "quality", "speed"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), unique=True, nullable=False)
    order: Mapped[WorkOrder] = relationship(foreign_keys=[order_id])
    technician_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), nullable=False)
    technician: Mapped[Employee] = relationship(foreign_keys=[technician_id])
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), nullable=False, index=True)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    order_completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    surveyed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    attitude: Mapped[float] = mapped_column(Float, nullable=False)
    quality: Mapped[float] = mapped_column(Float, nullable=False)
    speed: Mapped[float] = mapped_column(Float, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"{self.order_no} {self.surveyed_at:%Y-%m-%d}"


class LaborCost(Model):
    """An employee's labour cost (人力成本) of one month; ``month`` is the month's first day."""

    __tablename__ = "labor_cost"
    # The employee's station when the row was imported: the station that bore the cost.
    __scope__ = ("employee_id", "station_id")
    __table_args__ = (UniqueConstraint("employee_id", "month", name="uq_labor_cost_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(32), nullable=False)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), nullable=False)
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), nullable=False, index=True)
    station: Mapped[Station] = relationship(foreign_keys=[station_id])
    month: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    salary: Mapped[float] = mapped_column(Float, nullable=False)
    training_cost: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    other_labor_cost: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)

    @property
    def total(self) -> float:
        return (self.salary or 0.0) + (self.training_cost or 0.0) + (self.other_labor_cost or 0.0)

    def __repr__(self) -> str:
        return f"{self.employee_no} {self.month:%Y-%m}"
