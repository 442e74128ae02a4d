"""Metrics of one period for many employees at once (the built-in metrics and their period rules).

Period rules, so that results are unambiguous:

* an order belongs to the period containing its ``completed_at`` (dates inclusive, local wall
  time as imported); open orders count nowhere;
* a survey counts with its order; a rework is any order whose ``rework_of`` names the order,
  whenever it was created; an empty ``first_time_fixed`` counts as 0;
* ``avg_repair_hours`` uses ``arrived_at``, else ``responded_at``, and leaves out orders with
  neither; ``avg_response_hours`` uses orders with ``responded_at``; ``sla_rate`` uses the
  period's enterprise orders that have both ``sla_response_hours`` and ``responded_at``;
* ``labor_cost_ratio`` takes the cost rows whose month starts inside the period.

A metric without data is N/A (None), never 0. In particular an employee without completed orders
in the period has ``orders`` None (not 0) and every order-based metric None; ``parts_delay_count``
is 0 when there are orders and none was delayed; ``parts_cost_per_order`` is None when no order of
the period carries a parts cost (empty cells count as 0 once one does); ``labor_cost_ratio`` is None
without cost rows or without revenue. ``period_days`` is always the number of days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Employee, Station
from . import queries

CODES: tuple[str, ...] = (
    "orders", "satisfaction", "attitude", "repair_quality", "speed_rating", "survey_rate",
    "first_fix_rate", "rework_rate", "avg_repair_hours", "avg_response_hours", "sla_rate",
    "parts_cost_per_order", "labor_cost_ratio", "parts_delay_count", "enterprise_share", "period_days",
)

# Beyond this many ids a filter costs more than it saves: the full pass is the fast path anyway.
MAX_FILTER_IDS = 1000


FIELDS: tuple[str, ...] = (
    "orders", "first_fixed", "reworked", "reworked_first_fixed", "repair_sum", "repair_n", "response_sum",
    "response_n", "sla_n", "sla_met", "parts_sum", "parts_n", "fee_sum", "fee_n", "delayed", "enterprise",
    "surveys", "attitude_sum", "quality_sum", "speed_sum", "cost_sum", "cost_n",
)
_AT = {name: i for i, name in enumerate(FIELDS)}


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def metrics_of(sums: list[float], days: int) -> dict[str, float | None]:
    """The metrics of one employee or station from its additive figures (see ``FIELDS``)."""
    (n, first_fixed, reworked, reworked_first_fixed, repair_sum, repair_n, response_sum, response_n, sla_n,
     sla_met, parts_sum, parts_n, fee_sum, fee_n, delayed, enterprise, surveys, attitude_sum, quality_sum,
     speed_sum, cost_sum, cost_n) = sums
    return {
        "orders": float(n) if n else None,
        "satisfaction": _ratio((attitude_sum + quality_sum + speed_sum) / 3, surveys),
        "attitude": _ratio(attitude_sum, surveys),
        "repair_quality": _ratio(quality_sum, surveys),
        "speed_rating": _ratio(speed_sum, surveys),
        "survey_rate": _ratio(surveys, n),
        "first_fix_rate": _ratio(first_fixed - reworked_first_fixed, n),
        "rework_rate": _ratio(reworked, n),
        "avg_repair_hours": _ratio(repair_sum, repair_n),
        "avg_response_hours": _ratio(response_sum, response_n),
        "sla_rate": _ratio(sla_met, sla_n),
        "parts_cost_per_order": _ratio(parts_sum, n) if parts_n else None,
        "labor_cost_ratio": _ratio(cost_sum, fee_sum) if cost_n and fee_n else None,
        "parts_delay_count": float(delayed) if n else None,
        "enterprise_share": _ratio(enterprise, n),
        "period_days": float(days),
    }


def _adder(names: tuple[str, ...]):
    """A function adding a query row's figures (named ``names``) into a sums list."""
    positions = [_AT[name] for name in names]

    def add(sums: list[float], values) -> None:
        for i, value in zip(positions, values, strict=False):
            if value:
                sums[i] += value

    return add


@dataclass
class PeriodMetrics:
    """All metrics of a period: per employee, per station, and tag counts per employee."""

    start: dt.date
    end: dt.date
    employees: dict[int, dict[str, float | None]]
    stations: dict[int, dict[str, float | None]]
    tags: dict[int, dict[str, int]]
    station_codes: dict[int, str]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def empty(self) -> dict[str, float | None]:
        return metrics_of([0] * len(FIELDS), self.days)

    def variables_for(self, employee_id: int, station_id: int | None) -> dict[str, float | None]:
        """The employee's metrics plus ``station_<code>`` for the station's: what formulas see."""
        variables = dict(self.employees.get(employee_id) or self.empty())
        station = self.stations.get(station_id) if station_id is not None else None
        for code, value in (station or self.empty()).items():
            variables[f"station_{code}"] = value
        return variables


def _run(session: Session, passes, arguments, threads: int) -> list:
    """Each pass's (names, rows), in order: one after another on the session, or on ``threads``
    connections at once (the drivers let go of the interpreter while the database works)."""
    if threads <= 1 or len(passes) == 1:
        return [query(session, *arguments) for query in passes]
    engine = session.get_bind()

    def run(query):
        with engine.connect() as connection:
            names, result = query(connection, *arguments)
            return names, result.all()

    with ThreadPoolExecutor(min(threads, len(passes))) as pool:
        return list(pool.map(run, passes))


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, day after end 00:00): dates inclusive, local wall time."""
    if end < start:
        raise ValueError("the period ends before it starts")
    return dt.datetime.combine(start,
                               dt.time(0, 0)), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0, 0))


def compute_metrics(
    session: Session,
    start: dt.date,
    end: dt.date,
    *,
    employee_ids: Collection[int] | None = None,
    station_ids: Collection[int] | None = None,
    tag_words: Collection[str] = (),
    threads: int = 1,
) -> PeriodMetrics:
    """Every built-in metric for the period ``start``–``end`` (inclusive).

    Employees: ``employee_ids`` if given, else those whose station is in ``station_ids``, else
    all; every one is present, with None values when they have no data. Stations: ``station_ids``
    if given, else the stations of the employees chosen by ``employee_ids``, else all. An
    employee's figures count their orders at any station; a station's count its orders whoever
    did them, and the labour costs it bore. ``tag_words``: the words TAGGED/TAGGED_RATE use.

    ``threads`` > 1 runs the aggregate passes side by side, each on its own connection of the
    session's engine (a database works on one pass per core): for a whole cycle's metrics. Each pass
    then reads the data committed when it starts, not the session's own uncommitted changes.
    """
    lower, upper = period_bounds(start, end)
    words = sorted({w for w in tag_words if w})
    people_query = select(Employee.id, Employee.station_id)
    if employee_ids is not None:
        people_query = people_query.where(Employee.id.in_(sorted(set(employee_ids))))
    elif station_ids is not None:
        people_query = people_query.where(Employee.station_id.in_(sorted(set(station_ids))))
    people = dict(session.execute(people_query).all())
    codes = dict(session.execute(select(Station.id, Station.code)).all())
    if station_ids is not None:
        wanted_stations = {s for s in station_ids if s in codes}
    elif employee_ids is not None:
        wanted_stations = set(people.values())
    else:
        wanted_stations = set(codes)

    everyone = employee_ids is None and station_ids is None
    filter_employees = None if everyone or len(people) > MAX_FILTER_IDS else set(people)
    filter_stations = None if everyone or len(wanted_stations) > MAX_FILTER_IDS else wanted_stations
    if filter_employees is None or filter_stations is None:
        filter_employees = filter_stations = None  # one side unbounded: read everything

    # Each query row is a (technician, station) group: it adds into that employee's sums and that
    # station's sums. A few thousand groups, no ORM objects.
    width = len(FIELDS)
    by_employee = {e: [0] * width for e in people}
    by_station = {st: [0] * width for st in wanted_stations}
    tag_counts = {e: [0] * len(words) for e in people}
    passes = [queries.order_groups, *([queries.tag_groups] if words else []), queries.survey_groups,
              queries.rework_groups, queries.cost_groups]  # the longest first
    arguments = (lower, upper, words, filter_employees, filter_stations)
    for query, (names, rows) in zip(passes, _run(session, passes, arguments, threads), strict=True):
        if query is queries.tag_groups:
            for row in rows:
                counts = tag_counts.get(row[0])
                if counts is not None:
                    for i, n in enumerate(row[2:]):
                        counts[i] += n or 0
            continue
        add = _adder(names)
        for row in rows:
            employee, station, values = row[0], row[1], row[2:2 + len(names)]
            sums = by_employee.get(employee)
            if sums is not None:
                add(sums, values)
            sums = by_station.get(station)
            if sums is not None:
                add(sums, values)

    days = (end - start).days + 1
    return PeriodMetrics(
        start=start,
        end=end,
        employees={e: metrics_of(v, days) for e, v in by_employee.items()},
        stations={st: metrics_of(v, days) for st, v in by_station.items()},
        tags={e: dict(zip(words, counts, strict=True)) for e, counts in tag_counts.items()},
        station_codes={st: codes[st] for st in by_station},
    )
