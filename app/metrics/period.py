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

An employee's metrics and tag counts are worked out from their figures when they are read (a cycle's
scoring reads each employee's once, on the scoring workers' cores); a station's at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce
from operator import add

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


# The additive figures of one employee or station, in the order the passes return them: each pass
# fills one slice (see ``queries``), the order pass last, followed by its tag counts.
FIELDS: tuple[str, ...] = (
    "reworked", "reworked_first_fixed", "surveys", "attitude_sum", "quality_sum", "speed_sum", "cost_sum",
    "cost_n", "orders", "first_fixed", "repair_sum", "repair_n", "response_sum", "response_n", "sla_n",
    "sla_met", "parts_sum", "parts_any", "fee_sum", "delayed", "enterprise",
)


def metrics_of(sums: list[float], days: int) -> dict[str, float | None]:
    """The metrics of one employee or station from its additive figures (see ``FIELDS``)."""
    (reworked, reworked_first_fixed, surveys, attitude_sum, quality_sum, speed_sum, cost_sum, cost_n, n,
     first_fixed, repair_sum, repair_n, response_sum, response_n, sla_n, sla_met, parts_sum, parts_any,
     fee_sum, delayed, enterprise) = sums[:len(FIELDS)]
    # Each ratio is None when its denominator is 0 (written out: ten thousand employees per period).
    return {
        "orders": float(n) if n else None,
        "satisfaction": (attitude_sum + quality_sum + speed_sum) / 3 / surveys if surveys else None,
        "attitude": attitude_sum / surveys if surveys else None,
        "repair_quality": quality_sum / surveys if surveys else None,
        "speed_rating": speed_sum / surveys if surveys else None,
        "survey_rate": surveys / n if n else None,
        "first_fix_rate": (first_fixed - reworked_first_fixed) / n if n else None,
        "rework_rate": reworked / n if n else None,
        "avg_repair_hours": repair_sum / repair_n if repair_n else None,
        "avg_response_hours": response_sum / response_n if response_n else None,
        "sla_rate": sla_met / sla_n if sla_n else None,
        "parts_cost_per_order": parts_sum / n if parts_any and n else None,
        "labor_cost_ratio": cost_sum / fee_sum if cost_n and fee_sum else None,  # no fee: no revenue
        "parts_delay_count": float(delayed) if n else None,
        "enterprise_share": enterprise / n if n else None,
        "period_days": float(days),
    }


class Figures:
    """The employees' additive figures as the passes returned them: per pass, each employee's row
    (``employee, station, *values``; an employee's rows at several stations added up into one)."""

    __slots__ = ("passes",)

    def __init__(self, passes: list[tuple[int, int, dict[int, tuple]]], width: int) -> None:
        self.passes = sorted(passes, key=lambda found: found[0])  # (first column, end, rows): column order
        ends = [0] + [end for at, end, rows in self.passes]
        assert [at for at, end, rows in self.passes] + [width] == ends, ends  # every column once

    def reader(self, first: int, last: int) -> Callable[[int], list]:
        """``read(employee_id)``: the employee's figures ``first:last`` (0 where a pass has no row for
        them), added to zeros as the sums of a station are (0 + a figure is the figure, 0 for -0.0)."""
        kept = [(rows, 2 + max(0, first - at), (0,) * (min(end, last) - max(at, first)))
                for at, end, rows in self.passes if at < last and end > first]
        zeros = [0] * (last - first)  # ``map`` stops there: a last pass's further values are left out

        def read(employee_id: int) -> list:
            values = []
            for rows, skip, blank in kept:
                row = rows.get(employee_id)
                values += blank if row is None else row[skip:]
            return list(map(add, zeros, values))
        return read


class PerEmployee(Mapping):
    """Employee id → ``make(their figures)`` (their metrics, their tag counts), worked out on each read:
    a fresh dict every time, for the chosen employees only, in their order."""

    __slots__ = ("people", "read", "make")

    def __init__(self, people: Mapping[int, object], read: Callable[[int], list],
                 make: Callable[[list], dict]) -> None:
        self.people, self.read, self.make = people, read, make

    def __getitem__(self, employee_id: int) -> dict:
        if employee_id not in self.people:
            raise KeyError(employee_id)
        return self.make(self.read(employee_id))

    def get(self, employee_id: int, default=None):
        return self.make(self.read(employee_id)) if employee_id in self.people else default

    def __contains__(self, employee_id: object) -> bool:
        return employee_id in self.people

    def __iter__(self) -> Iterator[int]:
        return iter(self.people)

    def __len__(self) -> int:
        return len(self.people)


@dataclass
class PeriodMetrics:
    """All metrics of a period: per employee, per station, and tag counts per employee (mappings from
    the ids; the employees' are worked out when read, see :class:`PerEmployee`)."""

    start: dt.date
    end: dt.date
    employees: Mapping[int, dict[str, float | None]]
    stations: dict[int, dict[str, float | None]]
    tags: Mapping[int, dict[str, int]]
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


def _run(session: Session, passes, arguments, threads: int,
         meanwhile: Callable[[], object] | None) -> Iterator[tuple]:
    """Each pass's (names, rows), in order: one after another on the session, or on ``threads``
    connections at once (the drivers let go of the interpreter while the database works), this thread
    doing ``meanwhile`` on the session in the mean time, then taking each pass as soon as it and those
    before it are done (adding up one while the later ones still run)."""
    if threads <= 1 or len(passes) == 1:
        if meanwhile is not None:
            meanwhile()
        for query in passes:
            names, result = query(session, *arguments)
            yield names, result.all()
        return
    engine = session.get_bind()

    def run(query):
        with engine.connect() as connection:
            names, result = query(connection, *arguments)
            return names, result.all()

    with ThreadPoolExecutor(min(threads, len(passes))) as pool:  # leaving it waits for every pass
        results = [pool.submit(run, query) for query in passes]
        if meanwhile is not None:
            meanwhile()
        for result in results:
            yield result.result()


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
    meanwhile: Callable[[], object] | None = None,
) -> PeriodMetrics:
    """Every built-in metric for the period ``start``–``end`` (inclusive).

    Employees: ``employee_ids`` if given, else those whose station is in ``station_ids``, else
    all; every one is present, with None values when they have no data. Stations: ``station_ids``
    if given, else the stations of the employees chosen by ``employee_ids``, else all. An
    employee's figures count their orders at any station; a station's count its orders whoever
    did them, and the labour costs it bore. ``tag_words``: the words TAGGED/TAGGED_RATE use.

    ``threads`` > 1 runs the aggregate passes side by side, each on its own connection of the
    session's engine (a database works on one pass per core): for a whole cycle's metrics. Each pass
    then reads the data committed when it starts, not the session's own uncommitted changes; the tag
    counts are then a pass of their own. (Cutting the order pass into ranges of technicians read side
    by side was tried: on SQLite it cost a fifth more CPU and ended no sooner.)
    ``meanwhile`` is called on this thread while the passes run (the caller's own reading, on the
    session).
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

    # Each query row is a (technician, station) group, a few thousand per pass and no ORM objects. An
    # employee's rows are kept as they came (see ``Figures``); a station's add up into one slice of its
    # sums, column by column in row order. The order pass's tag counts follow ``FIELDS``.
    columns = FIELDS + tuple(f"tag{i}" for i in range(len(words)))
    by_station = {st: [0] * len(columns) for st in wanted_stations}
    if threads > 1 and words:  # the tag search beside the order pass, not inside it (see tag_groups)
        passes = [queries.order_figures, queries.tag_groups, queries.survey_groups, queries.rework_groups,
                  queries.cost_groups]  # the longest first
    else:
        passes = [queries.order_groups, queries.survey_groups, queries.rework_groups, queries.cost_groups]
    arguments = (lower, upper, words, filter_employees, filter_stations)
    found = []
    for names, rows in _run(session, passes, arguments, threads, meanwhile):
        at = columns.index(names[0])
        end_at = at + len(names)
        assert columns[at:end_at] == names, names  # FIELDS and the queries agree
        found.append((at, end_at, _by_technician(rows)))
        _add_by_station(by_station, rows, at, end_at)

    days = (end - start).days + 1
    figures = Figures(found, len(columns))
    return PeriodMetrics(
        start=start,
        end=end,
        employees=PerEmployee(people, figures.reader(0, len(FIELDS)), lambda sums: metrics_of(sums, days)),
        stations={st: metrics_of(v, days) for st, v in by_station.items()},
        tags=PerEmployee(people, figures.reader(len(FIELDS), len(columns)),
                         lambda sums: dict(zip(words, sums, strict=True))),
        station_codes={st: codes[st] for st in by_station},
    )


def _by_technician(rows: list) -> dict[int, tuple]:
    """Each technician's row of a pass; the rows of one at several stations added up, in row order (0 plus
    that sum, when read, is what adding each row to zeros gave)."""
    found = {row[0]: row for row in rows}
    if len(found) < len(rows):
        found = {}
        for row in rows:
            before = found.get(row[0])
            found[row[0]] = row if before is None else (row[0], None, *map(add, before[2:], row[2:]))
    return found


def _add_by_station(by_station: dict[int, list], rows: list, at: int, end_at: int) -> None:
    """Add a pass's rows into ``by_station[station][at:end_at]``: the rows of each station in their
    order, each column added up in C (``reduce(add, …)``) from the sums so far."""
    groups = defaultdict(list)
    for row in rows:
        groups[row[1]].append(row)
    for station, group in groups.items():
        sums = by_station.get(station)
        if sums is not None:
            figures = list(zip(*group, strict=True))[2:]  # column by column
            sums[at:end_at] = [reduce(add, values, total)
                               for values, total in zip(figures, sums[at:end_at], strict=True)]
