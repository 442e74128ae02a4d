"""A cycle's grade distribution for calibration: every station side by side, the network and each customer
segment (grade counts and shares, the spread of the totals), the people at the grade boundaries, and the
distribution policy's breaches.

Only current appraisal versions count, in any state. An appraisal without a grade is left out of the
counts, the shares and the headcount (as the policy counts), and reported as ``ungraded``. Everything is
read with a few queries over columns (grade counts by GROUP BY, the totals of the spread as one column
list), never by loading appraisal rows; the people (:func:`people`) are read a page at a time, filtered
and counted in SQL, the page's ids chosen first so that only its rows are read whole.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.sql.functions import aggregate_strings

from ..charts.spread import FiveNumbers, quantile
from ..models import Appraisal, Cycle, Employee, Station
from ..models.org import Segment
from ..rules.policy import Breach, DistributionPolicy, breaches_of_counts
from .likes import escape_like
from .rules import ruleset_for_version

NETWORK, STATION, SEGMENT = "network", "station", "segment"
SEGMENTS = tuple(s.value for s in Segment)  # enterprise, consumer, mixed
BOUNDARY_POINTS = 2.0  # a total this close to a band's minimum (either side) is at the boundary
NO_GRADE = "-"  # the people filter's value for appraisals without a grade


def spread_of(totals: Iterable[float], *, finite: bool = False) -> FiveNumbers:
    """What ``app.charts.spread.five_numbers`` says of these totals, for the floats a total column holds:
    sorted once, with no per-value conversion (a network's ten thousand totals are read on every view);
    ``finite``: the caller has left out the infinite ones already, so no value is looked at twice."""
    ordered = sorted(totals) if finite else sorted(t for t in totals if math.isfinite(t))
    if not ordered:
        return FiveNumbers(0)
    return FiveNumbers(len(ordered), round(ordered[0], 2), round(quantile(ordered, 0.25), 2),
                       round(quantile(ordered, 0.5), 2), round(quantile(ordered, 0.75), 2),
                       round(ordered[-1], 2), round(math.fsum(ordered) / len(ordered), 2))


@dataclass
class Group:
    """One column of the comparison: a station, a segment or the network."""

    kind: str  # "station", "segment" or "network"
    key: str  # the station code, the segment code, or "network"
    name: str
    segment: str | None = None
    station_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # grade → count, in the grades' order
    ungraded: int = 0
    totals: list[float] = field(default_factory=list)  # the finite ones of the appraisals, in no order

    @property
    def headcount(self) -> int:
        return sum(self.counts.values())

    @property
    def appraisals(self) -> int:
        return self.headcount + self.ungraded

    def share(self, grade: str) -> float | None:
        return round(self.counts.get(grade, 0) / self.headcount, 4) if self.headcount else None

    @cached_property
    def spread(self) -> FiveNumbers:
        """The five numbers of ``totals`` (read once the totals are all in)."""
        return spread_of(self.totals, finite=True)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "name": self.name, "segment": self.segment,
                "appraisals": self.appraisals,
                "headcount": self.headcount, "ungraded": self.ungraded, "counts": dict(self.counts),
                "shares": {g: self.share(g) for g in self.counts}, "spread": self.spread.to_dict()}


@dataclass(frozen=True)
class Person:
    """A current appraisal in the people list; ``band`` and ``band_min`` name the grade whose minimum
    its total lies within :data:`BOUNDARY_POINTS` of (None when it is at no boundary)."""

    appraisal_id: int
    employee_no: str
    name: str
    station_code: str
    station_name: str
    total: float
    grade: str | None
    state: str
    band: str | None  # the grade whose minimum is near
    band_min: float | None
    snapshot_hash: str

    @property
    def distance(self) -> float | None:
        """Points above (positive) or below (negative) the band's minimum; None at no boundary."""
        return None if self.band_min is None else round(self.total - self.band_min, 2)

    def to_dict(self) -> dict:
        return {"appraisal_id": self.appraisal_id, "employee_no": self.employee_no, "name": self.name,
                "station": self.station_code, "station_name": self.station_name, "total": self.total,
                "grade": self.grade, "state": self.state, "band": self.band, "band_min": self.band_min,
                "distance": self.distance, "hash": self.snapshot_hash}


BoundaryPerson = Person  # the boundary list's rows are people at a boundary


@dataclass(frozen=True)
class PeopleFilter:
    """Which people a list shows: of one station, of one grade (:data:`NO_GRADE` for none), whose number
    or name holds ``text``, and only those at a grade boundary (``boundary``) or everyone."""

    station_id: int | None = None
    grade: str | None = None
    text: str | None = None
    boundary: bool = True

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the default (the boundary people of every station) is asked."""
        return bool(self.station_id or self.grade or self.text or not self.boundary)


@dataclass(frozen=True)
class PeoplePage:
    """One page of the people list: its rows, how many match in all, the page (from 1) and its size."""

    rows: list[Person]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size)) if self.size else 1

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first row; 0 when there is none."""
        return (self.page - 1) * self.size + 1 if self.rows else 0


@dataclass
class Distribution:
    """What the calibration screen and API show of one cycle, within the stations asked for."""

    cycle: Cycle
    grades: list[str]  # the rule set's grades in its order, then any other grade found
    grade_labels: dict[str, str]
    bands: list[tuple[str, float]]  # (grade, minimum), highest first
    policy: DistributionPolicy | None
    stations: list[Group]
    network: Group
    segments: list[Group]
    boundary: list[BoundaryPerson]
    boundary_total: int  # how many are at a boundary (``boundary`` may hold only the first of them)
    breaches: list[Breach]
    whole_network: bool  # False when limited to some stations: ``network`` then sums only those

    def breach_at(self, scope: str, grade: str) -> list[Breach]:
        return [b for b in self.breaches if b.scope == scope and b.grade == grade]

    def limits_for(self, group: Group) -> dict[str, list]:
        """grade → the policy's limits that apply to this group (network limits to the network row,
        station limits to a station with at least the policy's minimum headcount)."""
        if self.policy is None or group.kind == SEGMENT:
            return {}
        out: dict[str, list] = defaultdict(list)
        for limit in self.policy.limits:
            if group.kind == NETWORK:
                applies = limit.network and self.whole_network
            else:
                applies = limit.station and group.headcount >= max(self.policy.min_headcount, 1)
            if applies:
                out[limit.grade].append(limit)
        return dict(out)

    def to_dict(self, locale: str | None) -> dict:
        policy = None
        if self.policy is not None:
            policy = {"min_headcount": self.policy.min_headcount,
                      "limits": [{"grade": lim.grade, "min": lim.min_share, "max": lim.max_share,
                                  "scope": lim.scope} for lim in self.policy.limits]}
        return {
            "cycle": {"id": self.cycle.id, "name": self.cycle.name, "published": self.cycle.is_published},
            "grades": [{"grade": g, "label": self.grade_labels.get(g, g),
                        "min": next((m for b, m in self.bands if b == g), None)} for g in self.grades],
            "policy": policy,
            "whole_network": self.whole_network,
            "network": self.network.to_dict(),
            "stations": [s.to_dict() for s in self.stations],
            "segments": [s.to_dict() for s in self.segments],
            "boundary": [p.to_dict() for p in self.boundary],
            "boundary_total": self.boundary_total,
            "breaches": [b.to_dict(locale) for b in self.breaches],
        }


def _current(cycle: Cycle, station_ids: Iterable[int] | None):
    where = [Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)]
    if station_ids is not None:
        where.append(Appraisal.station_id.in_(sorted(set(station_ids))))
    return where


def _ruleset(session, cycle: Cycle):
    return ruleset_for_version(session, cycle.rule_set_version_id) if cycle.rule_set_version_id else None


def grade_counts_by_station(session, cycle: Cycle, station_ids: Iterable[int] | None = None
                            ) -> dict[int, dict[str | None, int]]:
    """station id → grade (None for none) → number of current appraisals: one GROUP BY."""
    out: dict[int, dict[str | None, int]] = defaultdict(dict)
    rows = session.execute(select(Appraisal.station_id, Appraisal.grade, func.count())
                           .where(*_current(cycle, station_ids))
                           .group_by(Appraisal.station_id, Appraisal.grade))
    for station_id, grade, count in rows:
        out[station_id][grade or None] = out[station_id].get(grade or None, 0) + count
    return out


def _policy_breaches(policy: DistributionPolicy | None, codes: Mapping[int, str],
                     counts: Mapping[int, Mapping[str | None, int]]) -> list[Breach]:
    """The policy's breaches by these counts (station id → grade → count), as counted."""
    if policy is None:
        return []
    by_code: dict[str, dict[str | None, int]] = {}
    for station_id, by_grade in counts.items():
        merged = by_code.setdefault(codes[station_id], {})
        for grade, count in by_grade.items():
            merged[grade] = merged.get(grade, 0) + count
    return breaches_of_counts(policy, by_code)


def breaches_for_cycle(session, cycle: Cycle,
                       counts: Mapping[int, Mapping[str | None, int]] | None = None) -> list[Breach]:
    """The cycle's rule-set policy over the grades of its current appraisals; [] without a policy.
    ``counts``: :func:`grade_counts_by_station` of the cycle when the caller has read it already."""
    ruleset = _ruleset(session, cycle)
    policy = ruleset.policy if ruleset is not None else None
    if policy is None:
        return []
    if counts is None:
        counts = grade_counts_by_station(session, cycle)
    codes = dict(session.execute(select(Station.id, Station.code).where(Station.id.in_(list(counts)))).all())
    return _policy_breaches(policy, codes, counts)


def _finite(texts: Iterable[str]) -> list[float]:
    """The finite numbers of these comma-separated lists of totals."""
    values = list(map(float, ",".join(texts).split(","))) if texts else []
    return values if all(map(math.isfinite, values)) else [v for v in values if math.isfinite(v)]


def _grade_order(ruleset, found: Iterable[str]) -> list[str]:
    order = [band.grade for band in ruleset.grades] if ruleset is not None else []
    return order + sorted(set(found) - set(order))


def _edges(bands: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The grade minimums that are boundaries: every band's but the lowest's (nothing lies below it)."""
    if len(bands) < 2:
        return []
    lowest = min(m for _, m in bands)
    return [(g, float(m)) for g, m in bands if m > lowest]


def _near(edges: Sequence[tuple[str, float]]):
    return or_(*[Appraisal.total.between(m - BOUNDARY_POINTS, m + BOUNDARY_POINTS) for _, m in edges])


def _band(total: float | None, edges: Sequence[tuple[str, float]]) -> tuple[str | None, float | None]:
    """The boundary ``total`` is at: the nearest grade minimum within :data:`BOUNDARY_POINTS` (the higher
    one on a tie), else (None, None)."""
    if total is None or not edges:
        return None, None
    band, band_min = min(edges, key=lambda e: (abs(total - e[1]), -e[1]))
    return (band, band_min) if abs(total - band_min) <= BOUNDARY_POINTS + 1e-9 else (None, None)


def people(session, cycle: Cycle, bands: Sequence[tuple[str, float]], *,
           station_ids: Iterable[int] | None = None, where: PeopleFilter = PeopleFilter(),
           page: int = 1, size: int | None = 50) -> PeoplePage:
    """One page of the cycle's current appraisals within ``station_ids`` (all when None) that match
    ``where``: station by station (in the order they were added), highest total first (those without one
    last), then in the order they were written.
    ``bands`` are the rule set's (grade, minimum) pairs; asked for the boundary people, a rule set of
    fewer than two grades has none. ``size`` None: every match on one page. A page past the last is the
    last. Three queries: the count, the page's ids, the page's rows."""
    edges = _edges(bands)
    if where.boundary and not edges:
        return PeoplePage([], 0, 1, size or 0)
    scoped = station_ids
    if where.station_id is not None:
        scoped = [where.station_id] if station_ids is None or where.station_id in set(station_ids) else []
    conditions = list(_current(cycle, scoped))
    if where.grade == NO_GRADE:
        conditions.append(or_(Appraisal.grade.is_(None), Appraisal.grade == ""))
    elif where.grade:
        conditions.append(Appraisal.grade == where.grade)
    if where.boundary:
        conditions += [Appraisal.total.is_not(None), _near(edges)]
    if where.text:
        like = f"%{escape_like(where.text)}%"
        conditions.append(Appraisal.employee_id.in_(
            select(Employee.id).where(or_(Employee.employee_no.ilike(like, escape="\\"),
                                          Employee.name.ilike(like, escape="\\")))))
    total = session.scalar(select(func.count()).select_from(Appraisal).where(*conditions)) or 0
    size = size if size else max(total, 1)
    page = min(max(page, 1), max(1, math.ceil(total / size)))
    if not total:
        return PeoplePage([], 0, page, size)
    # The page's ids first, sorted on the appraisal's own narrow columns (an index on the cycle's
    # stations, grades and totals answers it without reading the rows, and stops after the page): the
    # rows' other columns (the snapshot's hash is stored after the snapshot) are read for this page only.
    ids = session.scalars(
        select(Appraisal.id).where(*conditions)
        .order_by(Appraisal.station_id, Appraisal.total.desc().nulls_last(), Appraisal.id)
        .limit(size).offset((page - 1) * size)).all()
    found = {}
    for ident, no, name, code, station_name, total_, grade, state, digest in session.execute(
            select(Appraisal.id, Employee.employee_no, Employee.name, Station.code, Station.name,
                   Appraisal.total, Appraisal.grade, Appraisal.state, Appraisal.snapshot_hash)
            .join(Employee, Employee.id == Appraisal.employee_id)
            .join(Station, Station.id == Appraisal.station_id)
            .where(Appraisal.id.in_(ids))):
        band, band_min = _band(total_, edges)
        found[ident] = Person(ident, no, name, code, station_name, total_, grade,
                              getattr(state, "value", state), band, band_min, digest)
    return PeoplePage([found[i] for i in ids if i in found], total, page, size)


def _boundary(session, cycle: Cycle, station_ids, bands: Sequence[tuple[str, float]],
              limit: int | None) -> tuple[list[Person], int]:
    """Current appraisals within :data:`BOUNDARY_POINTS` of a band's minimum (the lowest band has no
    boundary below it), by station, then highest total first (the first ``limit``); and how many there
    are in all."""
    if limit == 0 or (station_ids is not None and not list(station_ids)):
        return [], 0
    found = people(session, cycle, bands, station_ids=station_ids, size=limit)
    return found.rows, found.total


def cycle_distribution(session, cycle: Cycle, *, station_ids: Iterable[int] | None = None,
                       locale: str | None = None, boundary_limit: int | None = None,
                       boundary_station_ids: Iterable[int] | None = None) -> Distribution:
    """The cycle's distribution over the stations ``station_ids`` (every station when None); the boundary
    people of ``boundary_station_ids`` among them (all of them when None), the first ``boundary_limit``.

    Limited to some stations, ``network`` sums only those, and only the breaches of those stations'
    own limits are reported (a network-wide breach is a fact about stations the caller does not see).
    """
    station_ids = None if station_ids is None else sorted(set(station_ids))
    ruleset = _ruleset(session, cycle)
    policy = ruleset.policy if ruleset is not None else None
    # One GROUP BY gives each station's grade counts and, as one text per station and grade, its totals
    # (exact: a float's text reads back as the same float), so every group's spread needs no other query.
    counts: dict[int, dict[str | None, int]] = defaultdict(dict)
    totals_of: dict[int, list[str]] = defaultdict(list)
    for sid, grade, count, text in session.execute(
            select(Appraisal.station_id, Appraisal.grade, func.count(),
                   aggregate_strings(cast(Appraisal.total, String), ","))
            .where(*_current(cycle, station_ids)).group_by(Appraisal.station_id, Appraisal.grade)):
        counts[sid][grade or None] = counts[sid].get(grade or None, 0) + count
        if text:
            totals_of[sid].append(text)
    stations = session.execute(select(Station.id, Station.code, Station.name, Station.segment)
                               .where(Station.id.in_(list(counts))).order_by(Station.code)).all()
    found = {g for by_grade in counts.values() for g in by_grade if g is not None}
    grades = _grade_order(ruleset, found)
    bands = sorted(((b.grade, b.min) for b in ruleset.grades), key=lambda b: -b[1]) if ruleset else []
    labels = {b.grade: b.text(locale) for b in ruleset.grades} if ruleset else {}

    def group(kind: str, key: str, name: str, segment: str | None = None,
              station_id: int | None = None) -> Group:
        return Group(kind, key, name, segment, station_id, counts={g: 0 for g in grades})

    network = group(NETWORK, NETWORK, NETWORK)
    by_segment = {s: group(SEGMENT, s, s, s) for s in SEGMENTS}
    by_station: dict[int, Group] = {}
    for sid, code, name, segment in stations:
        segment = getattr(segment, "value", segment)
        station = by_station[sid] = group(STATION, code, name, segment, sid)
        for grade, count in counts[sid].items():
            for target in (station, network, by_segment[segment]):
                if grade is None:
                    target.ungraded += count
                else:
                    target.counts[grade] += count
        # Unordered: each group's totals are sorted once, when its spread is first read.
        station.totals = _finite(totals_of[sid])
        network.totals += station.totals
        by_segment[segment].totals += station.totals

    among = station_ids
    if boundary_station_ids is not None:
        among = sorted(set(boundary_station_ids) & set(station_ids if station_ids is not None
                                                      else boundary_station_ids))
    boundary, boundary_total = _boundary(session, cycle, among, bands, boundary_limit)
    found_breaches = _policy_breaches(policy, {sid: g.key for sid, g in by_station.items()}, counts)
    if station_ids is not None:
        found_breaches = [b for b in found_breaches if b.scope != NETWORK]
    return Distribution(
        cycle=cycle, grades=grades, grade_labels=labels, bands=bands, policy=policy,
        stations=list(by_station.values()), network=network, segments=list(by_segment.values()),
        boundary=boundary, boundary_total=boundary_total,
        breaches=found_breaches, whole_network=station_ids is None,
    )
