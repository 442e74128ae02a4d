"""The orders behind one metric of one employee and period: the drill-down.

For a ratio the lines are the orders of its denominator and ``counts`` says whether an order is in
the numerator (first_fix_rate: fixed at the first visit and not reworked); for a mean, the orders
that have the averaged value, in ``value``; for a count, the orders counted. Summing the lines
gives the metric back, which the tests check for every code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from ..models import Survey, WorkOrder
from .period import CODES, period_bounds

ORDER = WorkOrder.__table__
SURVEY = Survey.__table__

SURVEY_METRICS = {"satisfaction", "attitude", "repair_quality", "speed_rating"}


@dataclass(frozen=True)
class OrderLine:
    id: int
    order_no: str
    station_code: str
    customer_type: str
    reported_at: dt.datetime
    responded_at: dt.datetime | None
    arrived_at: dt.datetime | None
    completed_at: dt.datetime
    first_time_fixed: bool | None
    reworked: bool
    response_hours: float | None
    repair_hours: float | None
    sla_response_hours: float | None
    parts_cost: float | None
    service_fee: float | None
    parts_delay: bool | None
    tags: str | None
    attitude: float | None
    quality: float | None
    speed: float | None
    counts: bool | None  # in the numerator of a ratio (None for means)
    value: float | None  # the value a mean or sum takes from this order

    @property
    def satisfaction(self) -> float | None:
        if self.attitude is None:
            return None
        return (self.attitude + self.quality + self.speed) / 3


def _line(row, code: str) -> OrderLine:
    enterprise = row.customer_type == "enterprise"
    counts: bool | None = None
    value: float | None = None
    if code == "first_fix_rate":
        counts = bool(row.first_time_fixed) and not row.reworked
    elif code == "rework_rate":
        counts = bool(row.reworked)
    elif code == "survey_rate":
        counts = row.attitude is not None
    elif code == "enterprise_share":
        counts = enterprise
    elif code == "sla_rate":
        counts = row.response_hours <= row.sla_response_hours
    elif code in ("orders", "parts_delay_count", "period_days"):
        counts = True
    elif code == "avg_repair_hours":
        value = row.repair_hours
    elif code == "avg_response_hours":
        value = row.response_hours
    elif code == "parts_cost_per_order":
        value = row.parts_cost
    elif code == "labor_cost_ratio":
        value = row.service_fee
    elif code == "satisfaction":
        value = (row.attitude + row.quality + row.speed) / 3
    elif code in ("attitude", "repair_quality", "speed_rating"):
        value = {"attitude": row.attitude, "repair_quality": row.quality, "speed_rating": row.speed}[code]
    fields = {name: getattr(row, name) for name in OrderLine.__dataclass_fields__
              if name not in ("counts", "value", "reworked")}
    return OrderLine(**fields, reworked=bool(row.reworked), counts=counts, value=value)


def metric_orders(
    session: Session, employee_id: int, start: dt.date, end: dt.date, metric_code: str, *,
    limit: int | None = None
) -> list[OrderLine]:
    """The employee's orders completed in the period that make up ``metric_code`` (see the module).

    Raises ValueError for an unknown code. Scoping is the caller's: check the employee first.
    """
    if metric_code not in CODES:
        raise ValueError(f"unknown metric {metric_code!r}")
    lower, upper = period_bounds(start, end)
    o = ORDER.c
    rework = ORDER.alias("rework")
    reworked = exists().where(rework.c.rework_of_id == o.id).label("reworked")
    query = (
        select(
            o.id, o.order_no, o.station_code, o.customer_type, o.reported_at, o.responded_at, o.arrived_at,
            o.completed_at, o.first_time_fixed, o.response_hours, o.repair_hours, o.sla_response_hours,
            o.parts_cost, o.service_fee, o.parts_delay, o.tags, reworked,
            SURVEY.c.attitude, SURVEY.c.quality, SURVEY.c.speed,
        )
        .select_from(ORDER.outerjoin(SURVEY, SURVEY.c.order_id == o.id))
        .where(o.technician_id == employee_id, o.completed_at >= lower, o.completed_at < upper)
        .order_by(o.completed_at, o.id)
    )
    if metric_code in SURVEY_METRICS:
        query = query.where(SURVEY.c.id.is_not(None))
    elif metric_code == "avg_repair_hours":
        query = query.where(o.repair_hours.is_not(None))
    elif metric_code == "avg_response_hours":
        query = query.where(o.response_hours.is_not(None))
    elif metric_code == "sla_rate":
        query = query.where(and_(o.customer_type == "enterprise", o.sla_response_hours.is_not(None),
                                 o.response_hours.is_not(None)))
    elif metric_code == "parts_delay_count":
        query = query.where(o.parts_delay.is_(True))
    if limit is not None:
        query = query.limit(limit)
    return [_line(row, metric_code) for row in session.execute(query)]
