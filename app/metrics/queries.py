"""The aggregate queries behind the metrics: each one pass, GROUP BY technician and station.

Written in SQLAlchemy Core with nothing dialect-specific, so they run the same on SQLite and
PostgreSQL: hours were computed at import (``response_hours``, ``repair_hours``), booleans are
counted with CASE, tags are matched with LIKE on ``;``-delimited text. On SQLite the first query
reads ``ix_work_order_metrics`` alone, in group order (no sort, no table access); the survey query
reads ``ix_survey_metrics`` alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from ..models import LaborCost, Survey, WorkOrder
from ..services.likes import escape_like

ORDER = WorkOrder.__table__
SURVEY = Survey.__table__
COST = LaborCost.__table__


def count_if(condition: ColumnElement[bool]):
    return func.sum(case((condition, 1), else_=0))


def has_tag(tags_column, word: str) -> ColumnElement[bool]:
    """``word`` is one of the ``;``-separated words of the column (LIKE wildcards escaped)."""
    return (literal(";") + tags_column + literal(";")).like(f"%;{escape_like(word)};%", escape="\\")


def _scope(technician_col, station_col, employees, stations):
    if employees is None and stations is None:
        return []
    parts = []
    if employees:
        parts.append(technician_col.in_(sorted(employees)))
    if stations:
        parts.append(station_col.in_(sorted(stations)))
    return [or_(*parts)] if parts else [literal(False)]


def in_period(column, lower: dt.datetime, upper: dt.datetime) -> ColumnElement[bool]:
    return and_(column >= lower, column < upper)


def order_groups(session: Session, lower, upper, words, employees, stations):
    """Completed orders of the period per (technician, station): counts and sums."""
    o = ORDER.c
    enterprise = o.customer_type == "enterprise"
    figures = {
        "orders": func.count(),
        "first_fixed": count_if(o.first_time_fixed),
        "repair_sum": func.sum(o.repair_hours),
        "repair_n": func.count(o.repair_hours),
        "response_sum": func.sum(o.response_hours),
        "response_n": func.count(o.response_hours),
        "sla_n": count_if(and_(enterprise, o.sla_response_hours.is_not(None), o.response_hours.is_not(None))),
        "sla_met": count_if(and_(enterprise, o.response_hours <= o.sla_response_hours)),
        "parts_sum": func.sum(o.parts_cost),
        "parts_n": func.count(o.parts_cost),
        "fee_sum": func.sum(o.service_fee),
        "fee_n": func.count(o.service_fee),
        "delayed": count_if(o.parts_delay),
        "enterprise": count_if(enterprise),
    }
    query = (
        select(o.technician_id, o.station_id, *(c.label(k) for k, c in figures.items()))
        .where(in_period(o.completed_at, lower, upper),
               *_scope(o.technician_id, o.station_id, employees, stations))
        .group_by(o.technician_id, o.station_id)
    )
    return tuple(figures), session.execute(query)


def tag_groups(session: Session, lower, upper, words, employees, stations):
    """Per (technician, station): how many completed orders of the period carry each of ``words``.
    Its own pass over the orders with tags, so that it can run beside :func:`order_groups`."""
    o = ORDER.c
    query = (
        select(o.technician_id, o.station_id,
               *(count_if(has_tag(o.tags, w)).label(f"tag{i}") for i, w in enumerate(words)))
        .where(in_period(o.completed_at, lower, upper), o.tags.is_not(None), o.tags != "",
               *_scope(o.technician_id, o.station_id, employees, stations))
        .group_by(o.technician_id, o.station_id)
    )
    return (), session.execute(query)


def rework_groups(session: Session, lower, upper, words, employees, stations):
    """Completed orders of the period that a later order reworks (whenever it was created).

    ``IN (reworked ids)`` rather than a correlated EXISTS: the database walks the few reworks and
    fetches their originals by key instead of probing once per order (6x faster on SQLite)."""
    o = ORDER.alias("original")
    r = ORDER.alias("rework")
    reworked = select(r.c.rework_of_id).where(r.c.rework_of_id.is_not(None))
    query = (
        select(o.c.technician_id, o.c.station_id, func.count(), count_if(o.c.first_time_fixed))
        .where(
            in_period(o.c.completed_at, lower, upper),
            o.c.id.in_(reworked),
            *_scope(o.c.technician_id, o.c.station_id, employees, stations),
        )
        .group_by(o.c.technician_id, o.c.station_id)
    )
    return ("reworked", "reworked_first_fixed"), session.execute(query)


def survey_groups(session: Session, lower, upper, words, employees, stations):
    """Surveys of the period's completed orders (a survey counts with its order)."""
    s = SURVEY.c
    query = (
        select(s.technician_id, s.station_id, func.count(), func.sum(s.attitude), func.sum(s.quality),
               func.sum(s.speed))
        .where(in_period(s.order_completed_at, lower, upper),
               *_scope(s.technician_id, s.station_id, employees, stations))
        .group_by(s.technician_id, s.station_id)
    )
    return ("surveys", "attitude_sum", "quality_sum", "speed_sum"), session.execute(query)


def cost_groups(session: Session, lower, upper, words, employees, stations):
    """Labour cost rows whose month starts inside the period, per employee and bearing station."""
    c = COST.c
    query = (
        select(c.employee_id, c.station_id, func.sum(c.salary + c.training_cost + c.other_labor_cost),
               func.count())
        .where(c.month >= lower.date(), c.month < upper.date(),
               *_scope(c.employee_id, c.station_id, employees, stations))
        .group_by(c.employee_id, c.station_id)
    )
    return ("cost_sum", "cost_n"), session.execute(query)
