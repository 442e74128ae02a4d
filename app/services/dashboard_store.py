"""HR's dashboard figures, stored per cycle and station (app.models.aggregates) and read back while the
cycle's appraisals stay as they were.

HR's dashboard spans every station of every cycle: its figures are summed once per cycle (each station and
the whole network) and stored with the cycle's fingerprint, the latest ``updated_at`` of its appraisals (one
descent of an index). Every write to an appraisal stamps ``updated_at`` with the time of the write (new rows
too), so a view whose fingerprint differs sums the cycle again. Two writes in flight at once could commit
the earlier stamp last: figures summed within ``SETTLE`` of the latest write are summed once more when that
long has passed. A narrower scope (a station manager, a supervisor) is small and summed live by the same
code, so that both read alike; the per-query functions of app.services.dashboard stay the reference
(exports use them, tests compare).

A write may also call :func:`forget` for its cycle, in its own transaction: the next view sums it again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..clock import now
from ..kept import Kept
from ..models import Appraisal, Cycle, DashboardFigures, Employee, RuleSetVersion, Station
from ..scoping import Scope
from .dashboard import (
    MAX_CYCLES,
    Held,
    IndicatorSummary,
    Ranked,
    VersionShare,
    in_scope,
    number_or_none,
    station_ranking,
)
from .latest_writes import LATEST_WRITE, SETTLE, latest_writes
from .latest_writes import aware as _aware

TOP = 20  # the employees a ranking shows
# Longer than any write transaction takes from stamping ``updated_at`` to its commit.


@dataclass
class Figures:
    """One cycle's sums over a set of appraisals (a station, the network or a scope)."""

    people: int = 0
    total_sum: float = 0.0
    total_n: int = 0
    grades: dict[str, int] = field(default_factory=dict)  # "" for no grade
    categories: dict[str, list] = field(default_factory=dict)  # category → [sum, scores]
    versions: dict[str, int] = field(default_factory=dict)  # rule-set version number (text) → appraisals
    # (code, version number) → [name, category, appraisals, N/A, sum, scores]
    indicators: dict[tuple[str, int], list] = field(default_factory=dict)
    top: list[list] = field(default_factory=list)  # [total, employee no, appraisal id, employee id, grade]

    def add(self, appraisal_id: int, employee_id: int, employee_no: str, total, grade, number: int,
            scores, lines) -> None:
        self.people += 1
        if total is not None:
            self.total_sum += total
            self.total_n += 1
            self.top.append([total, employee_no, appraisal_id, employee_id, grade])
        self.grades[grade or ""] = self.grades.get(grade or "", 0) + 1
        self.versions[str(number)] = self.versions.get(str(number), 0) + 1
        _add_scores(self.categories, scores)
        for line in lines or []:
            code = str(line.get("code", ""))
            if not code:
                continue
            item = self.indicators.get((code, number))
            if item is None:
                item = self.indicators[(code, number)] = [
                    str(line.get("name", code)), str(line.get("category", "")), 0, 0, 0.0, 0]
            item[2] += 1
            if line.get("na") or (value := number_or_none(line.get("score"))) is None:
                item[3] += 1
            else:
                item[4] += value
                item[5] += 1

    def finish(self) -> Figures:
        """The best ``TOP`` totals kept, best first (the employee number breaks ties)."""
        self.top = sorted(self.top, key=lambda row: (-row[0], row[1]))[:TOP]
        return self

    @property
    def mean_total(self) -> float | None:
        return round(self.total_sum / self.total_n, 2) if self.total_n else None

    def grade_counts(self) -> dict[str, int]:
        """As :func:`grade_counts`: grades in order, no grade last as N/A."""
        out = {grade: self.grades[grade] for grade in sorted(self.grades) if grade}
        if self.grades.get(""):
            out["N/A"] = self.grades[""]
        return out

    def category_means(self) -> dict[str, float | None]:
        return {category: (round(total / n, 2) if n else None)
                for category, (total, n) in sorted(self.categories.items())}

    def rule_versions(self) -> list[VersionShare]:
        """As :func:`rule_versions`: the newest first."""
        return [VersionShare(f"v{number}", self.versions[number])
                for number in sorted(self.versions, key=int, reverse=True)]

    def indicator_summary(self) -> list[IndicatorSummary]:
        """As :func:`indicator_summary`: one row per indicator, or per indicator and version when the
        appraisals are on several."""
        split = len(self.versions) > 1
        merged: dict[tuple[str, int], list] = {}
        for (code, number), (name, category, count, na, total, n) in self.indicators.items():
            key = (code, number if split else 0)
            item = merged.setdefault(key, [name, category, 0, 0, 0.0, 0])
            item[2:] = [item[2] + count, item[3] + na, item[4] + total, item[5] + n]
        out = [IndicatorSummary(code, name, category, round(total / n, 2) if n else None, count, na,
                                f"v{number}" if split else None, self.people)
               for (code, number), (name, category, count, na, total, n) in merged.items()]
        return sorted(out, key=lambda item: (item.category, item.code, -int((item.version or "v0")[1:])))

    def to_row(self) -> dict:
        return {"people": self.people, "total_sum": self.total_sum, "total_n": self.total_n,
                "grades": self.grades, "categories": self.categories, "versions": self.versions,
                "indicators": [[code, number, *item] for (code, number), item in self.indicators.items()],
                "top": self.top}

    @classmethod
    def from_row(cls, row) -> Figures:
        return cls(row.people, row.total_sum, row.total_n, dict(row.grades), dict(row.categories),
                   dict(row.versions), {(item[0], item[1]): list(item[2:]) for item in row.indicators},
                   [list(item) for item in row.top])


def gather(session, cycle_id: int, *criteria,
           per_station: bool = False) -> tuple[Figures, dict[int, Figures]]:
    """The cycle's figures over its current appraisals meeting ``criteria`` (a scope, a station), and with
    ``per_station`` each station's too: one pass over the rows, in id order."""
    query = (select(Appraisal.id, Appraisal.employee_id, Employee.employee_no, Appraisal.station_id,
                    Appraisal.total, Appraisal.grade, RuleSetVersion.number,
                    Appraisal.snapshot["category_scores"], Appraisal.snapshot["lines"])
             .join(Employee, Employee.id == Appraisal.employee_id)
             .join(RuleSetVersion, RuleSetVersion.id == Appraisal.rule_set_version_id)
             .where(Appraisal.is_current.is_(True), Appraisal.cycle_id == cycle_id, *criteria)
             .order_by(Appraisal.id))
    whole, each = Figures(), defaultdict(Figures)
    for aid, eid, no, station_id, total, grade, number, scores, lines in session.execute(query):
        whole.add(aid, eid, no, total, grade, number, scores, lines)
        if per_station:
            each[station_id].add(aid, eid, no, total, grade, number, scores, lines)
    return whole.finish(), {sid: figures.finish() for sid, figures in each.items()}


# Each cycle's latest write and the mark of its stored network row (one statement for the cycles of a view).
_FINGERPRINTS_AND_MARKS = (
    select(Cycle.id, LATEST_WRITE, DashboardFigures.fingerprint, DashboardFigures.computed_at)
    .outerjoin(DashboardFigures,
               (DashboardFigures.cycle_id == Cycle.id) & DashboardFigures.station_id.is_(None))
    .where(Cycle.id.in_(bindparam("ids", expanding=True))).order_by(DashboardFigures.id))


def fingerprints(session, cycle_ids: Iterable[int]) -> dict[int, tuple[str, dt.datetime]]:
    """Cycle id → (fingerprint of its appraisals, their latest ``updated_at``): one descent of the index on
    (cycle, updated_at) per cycle, never a pass over the rows; a cycle without appraisals is absent."""
    moments = latest_writes(session, cycle_ids)
    return {cycle_id: (moment.isoformat(), moment) for cycle_id, moment in moments.items()}


def store(session, cycle_id: int, fingerprint: str | None = None) -> tuple[Figures, dict[int, Figures]]:
    """Sum the cycle's figures again and store them in place of any before, committing; the figures summed
    (kept in hand when the write cannot be made now, e.g. a database busy with a long write)."""
    if fingerprint is None:
        fingerprint = fingerprints(session, [cycle_id]).get(cycle_id, ("", None))[0]
    whole, each = gather(session, cycle_id, per_station=True)
    at = now()
    rows = [{"cycle_id": cycle_id, "station_id": None, "fingerprint": fingerprint, "computed_at": at,
             **whole.to_row()}]
    rows += [{"cycle_id": cycle_id, "station_id": sid, "fingerprint": fingerprint, "computed_at": at,
              **figures.to_row()} for sid, figures in sorted(each.items())]
    try:
        forget(session, cycle_id)
        session.execute(insert(DashboardFigures), rows)
        session.commit()
    except (OperationalError, IntegrityError):
        session.rollback()  # another writer holds the database: the next view stores them
    return whole, each


def forget(session, cycle_id: int) -> None:
    """Drop the cycle's stored figures, in the caller's transaction (a write to its appraisals)."""
    session.execute(delete(DashboardFigures).where(DashboardFigures.cycle_id == cycle_id))


def _settled(latest: dt.datetime | None, computed_at, moment: dt.datetime) -> bool:
    """Figures summed at ``computed_at`` still stand for a cycle whose latest write is ``latest``."""
    computed_at = _aware(computed_at)
    if latest is None or computed_at - latest >= SETTLE:
        return True
    return moment < computed_at + SETTLE


class Read:
    """What this process has read of one cycle's stored figures, summed at one moment from one fingerprint:
    nothing else can have been stored under that key, so it is read once and kept."""

    def __init__(self):
        self.figures: dict[int | None, Figures] = {}  # station id (None: the network) → its figures
        # station id (None: the network) → (categories, total sum, totals): the history and the ranking
        self.light: dict[int | None, tuple[dict, float, int]] | None = None


KEPT = 64  # cycles whose stored figures a process keeps in hand
_kept: Kept[tuple, Read] = Kept(KEPT)


def _read(key: tuple) -> Read:
    """The figures this process has read under ``key`` (database, cycle id, fingerprint, moment summed): one
    object that every thread fills (the first one kept, see app.kept)."""
    return _kept.get_or_build(key, Read)


class Board:
    """The figures one dashboard view reads over ``cycle_list``: stored ones for a scope of everything,
    live ones (the same sums) for a narrower scope (of the appraisals ``held``, when the view read them).

    Stored figures are read back once per process under their cycle, fingerprint and moment summed (see
    :class:`Read`): a view then costs the two queries that find each cycle's fingerprint and stored mark, and
    a write to a cycle's appraisals moves its fingerprint, so that the next view sums and reads it anew."""

    def __init__(self, session, scope: Scope, cycle_list: list[Cycle], held: Held | None = None):
        self.session, self.scope, self.cycles, self.held = session, scope, cycle_list, held
        self.stored = scope.everything and len(scope.delegated) == 0
        self._marks: dict[int, tuple] = {}  # cycle id → (database, cycle id, fingerprint, moment summed)
        self._fresh: dict[tuple[int, int | None], Figures] = {}  # summed by this view: not read back
        self._summed: set[int] = set()
        if self.stored:
            self._ensure([c.id for c in cycle_list])

    def _ensure(self, cycle_ids: list[int]) -> None:
        """Each cycle's fingerprint and the mark of its stored network row, in one statement; the cycles whose
        figures do not stand are summed and stored again."""
        if not cycle_ids:
            return
        prints, marks = {}, {}
        for cycle_id, at, fingerprint, computed_at in self.session.execute(
                _FINGERPRINTS_AND_MARKS, {"ids": sorted(set(cycle_ids))}):
            if (moment := _aware(at)) is not None:  # as :func:`fingerprints`
                prints[cycle_id] = (moment.isoformat(), moment)
            if fingerprint is not None:
                marks[cycle_id] = (fingerprint, computed_at)
        moment = now()
        where = self.session.get_bind().url.render_as_string()  # the database the figures are stored in
        for cycle_id, (fingerprint, latest) in prints.items():
            mark = marks.get(cycle_id)
            if mark is None or mark[0] != fingerprint or not _settled(latest, mark[1], moment):
                whole, each = store(self.session, cycle_id, fingerprint)
                self._fresh[(cycle_id, None)] = whole
                self._fresh.update({(cycle_id, sid): figures for sid, figures in each.items()})
                self._summed.add(cycle_id)
            else:
                self._marks[cycle_id] = (where, cycle_id, *mark)

    def _stored(self, cycle_ids: Iterable[int], *criteria, columns=()):
        """The stored rows of these cycles written with the marks this view read (cycle id → rows)."""
        out: dict[int, list] = defaultdict(list)
        wanted = [cycle_id for cycle_id in cycle_ids if cycle_id in self._marks]
        if not wanted:
            return out
        for row in self.session.execute(
                select(DashboardFigures.cycle_id, DashboardFigures.fingerprint, DashboardFigures.computed_at,
                       DashboardFigures.station_id, *columns)
                .where(DashboardFigures.cycle_id.in_(wanted), *criteria).order_by(DashboardFigures.id)):
            if self._marks[row.cycle_id][1:] == (row.cycle_id, row.fingerprint, row.computed_at):
                out[row.cycle_id].append(row)
        return out

    def _light(self, cycle_ids: list[int]) -> dict[int, dict[int | None, tuple[dict, float, int]]]:
        """Cycle id → station id (None: the network) → (categories, total sum, totals), read once."""
        reads = {cycle_id: _read(self._marks[cycle_id]) for cycle_id in cycle_ids if cycle_id in self._marks}
        missing = [cycle_id for cycle_id, read in reads.items() if read.light is None]
        if missing:
            rows = self._stored(missing, columns=(DashboardFigures.categories, DashboardFigures.total_sum,
                                                  DashboardFigures.total_n))
            for cycle_id in missing:
                reads[cycle_id].light = {row.station_id: (dict(row.categories), row.total_sum, row.total_n)
                                         for row in rows.get(cycle_id, [])}
        return {cycle_id: read.light or {} for cycle_id, read in reads.items()}

    def _scoped(self, cycle_ids: list[int]):
        """Criterion: the current appraisals of these cycles in the (narrower) scope."""
        return in_scope(self.scope) if self.held is None else self.held.criterion(cycle_ids)

    def figures(self, cycle_id: int, station_id: int | None = None) -> Figures:
        """The cycle's figures for one station of the scope, or all of it."""
        if not self.stored:
            criteria = [self._scoped([cycle_id])]
            if station_id is not None:
                criteria.append(Appraisal.station_id == station_id)
            return gather(self.session, cycle_id, *criteria)[0]
        if cycle_id not in self._marks:
            return self._fresh.get((cycle_id, station_id)) or Figures()
        read = _read(self._marks[cycle_id])
        figures = read.figures.get(station_id)
        if figures is None:
            where = (DashboardFigures.station_id.is_(None) if station_id is None
                     else DashboardFigures.station_id == station_id)
            rows = self._stored([cycle_id], where, columns=(DashboardFigures,)).get(cycle_id)
            figures = Figures.from_row(rows[0].DashboardFigures) if rows else Figures()
            read.figures[station_id] = figures
        return figures

    def history(self, station_id: int | None = None) -> dict[str, list[tuple[str, float | None]]]:
        """Category → [(cycle name, mean score)] over the last ``MAX_CYCLES`` cycles, every cycle in every
        series (None where there was no score)."""
        chosen = self.cycles[-MAX_CYCLES:]
        by_cycle: dict[int, dict[str, list]] = {}
        if self.stored:
            light = self._light([c.id for c in chosen])
            for cycle in chosen:
                if cycle.id in self._summed:
                    by_cycle[cycle.id] = (self._fresh.get((cycle.id, station_id)) or Figures()).categories
                elif station_id in light.get(cycle.id, {}):
                    by_cycle[cycle.id] = light[cycle.id][station_id][0]
        else:
            ids = [c.id for c in chosen]
            query = (select(Appraisal.cycle_id, Appraisal.snapshot["category_scores"])
                     .where(self._scoped(ids), Appraisal.cycle_id.in_(ids)))
            if station_id is not None:
                query = query.where(Appraisal.station_id == station_id)
            for cycle_id, scores in self.session.execute(query.order_by(Appraisal.id)):
                _add_scores(by_cycle.setdefault(cycle_id, {}), scores)
        categories = sorted({category for sums in by_cycle.values() for category in sums})
        return {category: [(c.name, _pair_mean(by_cycle.get(c.id, {}).get(category))) for c in chosen]
                for category in categories}

    def station_ranking(self, cycle_id: int, stations: Iterable = ()) -> list[Ranked]:
        """As :func:`station_ranking`: stations by their mean total, best first; named from ``stations`` (rows
        of ``id``, ``code`` and ``name`` the view has read), those not among them read here."""
        if not self.stored:
            return station_ranking(self.session, self.scope, cycle_id, self.held)
        if cycle_id in self._summed:
            sums = {sid: (f.total_sum, f.total_n) for (cid, sid), f in self._fresh.items()
                    if cid == cycle_id and sid is not None}
        else:
            sums = {sid: (total, n) for sid, (_categories, total, n) in self._light([cycle_id]).get(
                cycle_id, {}).items() if sid is not None}
        names = {station.id: (station.code, station.name) for station in stations}
        if unnamed := [sid for sid in sums if sid not in names]:
            names.update((sid, (code, name)) for sid, code, name in self.session.execute(
                select(Station.id, Station.code, Station.name).where(Station.id.in_(unnamed))))
        ranked = [Ranked(sid, f"{names[sid][0]} {names[sid][1]}", round(total / n, 2), n)
                  for sid, (total, n) in sums.items() if n and sid in names]
        return sorted(ranked, key=lambda r: (-r.total, names[r.id][0]))

    def people(self, figures: Figures) -> list[Ranked]:
        """The best ``TOP`` employees of these figures, with their number and name as they are now."""
        ids = [row[3] for row in figures.top]
        named = {eid: (no, name) for eid, no, name in self.session.execute(
            select(Employee.id, Employee.employee_no, Employee.name).where(Employee.id.in_(ids)))}
        return [Ranked(eid, f"{named[eid][0]} {named[eid][1]}", total, 1, grade, aid)
                for total, _no, aid, eid, grade in figures.top if eid in named]


def _add_scores(sums: dict[str, list], scores) -> None:
    """Adds a snapshot's category scores into ``sums`` (category → [sum, scores])."""
    for category, score in (scores or {}).items():
        pair = sums.setdefault(category, [0.0, 0])
        if (value := number_or_none(score)) is not None:
            pair[0] += value
            pair[1] += 1


def _pair_mean(pair) -> float | None:
    return round(pair[0] / pair[1], 2) if pair and pair[1] else None
