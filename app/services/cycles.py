"""Appraisal cycles: create one, count its appraisals per state and per rule-set version, submit its
drafts.

Computing a cycle is ``compute.compute_cycle``; its progress and the background run are in
``progress``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..clock import now
from ..kept import Kept
from ..models import Appraisal, Cycle, CycleStatus, RuleSetVersion, Station
from ..scoping import Scope, scope_clause
from ..workflow import State
from .caller import Caller
from .compute import CycleError
from .latest_writes import SETTLE, latest_write
from .transitions import BulkOutcome, bulk_transition


def create_cycle(session, name: str, start: dt.date, end: dt.date,
                 station_codes: Collection[str] | None = None) -> Cycle:
    """A new cycle over ``start``–``end`` (inclusive) for the given stations (none: all). Commits."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise CycleError("BAD_NAME", _("Give the cycle a name of at most 100 characters."))
    if start is None or end is None or end < start:
        raise CycleError("BAD_PERIOD", _("The period must end on or after its start."))
    if (end - start).days > 366 * 2:
        raise CycleError("BAD_PERIOD", _("A cycle covers at most two years."))
    if session.scalar(select(func.count()).select_from(Cycle).where(Cycle.name == name)):
        raise CycleError("NAME_TAKEN", _("A cycle named “%(name)s” already exists.", name=name))
    stations: list[Station] = []
    if station_codes:
        codes = sorted({c.strip() for c in station_codes if c and c.strip()})
        stations = list(session.scalars(select(Station).where(Station.code.in_(codes))))
        unknown = sorted(set(codes) - {s.code for s in stations})
        if unknown:
            raise CycleError("UNKNOWN_STATION", _("Unknown stations: %(codes)s", codes=", ".join(unknown)))
    cycle = Cycle(name=name, start=start, end=end, stations=stations, status=CycleStatus.new)
    session.add(cycle)
    session.commit()
    return cycle


def state_counts(session, cycle_id: int, scope: Scope | None = None) -> dict[str, int]:
    """Current appraisals of the cycle per state, counting only those in ``scope`` (if given)."""
    query = (select(Appraisal.state, func.count())
             .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True)).group_by(Appraisal.state))
    if scope is not None:
        query = query.where(scope_clause(Appraisal, scope))
    return {state.value: count for state, count in session.execute(query)}


@dataclass
class VersionCount:
    """How many of a cycle's current appraisals were computed with one rule-set version, per state."""

    id: int
    label: str
    count: int = 0
    states: dict[str, int] = field(default_factory=dict)
    is_cycles: bool = False  # the version the cycle is bound to (what a recompute uses)


def version_counts(session, cycle: Cycle, scope: Scope | None = None) -> list[VersionCount]:
    """The rule-set versions of the cycle's current appraisals (within ``scope``, if given), the
    cycle's own first, then the newest: appraisals past review keep the version they were computed
    with when the cycle moves to another."""
    query = (select(RuleSetVersion.id, RuleSetVersion.number, Appraisal.state, func.count())
             .join(Appraisal, Appraisal.rule_set_version_id == RuleSetVersion.id)
             .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
             .group_by(RuleSetVersion.id, RuleSetVersion.number, Appraisal.state))
    if scope is not None:
        query = query.where(scope_clause(Appraisal, scope))
    out: dict[int, VersionCount] = {}
    numbers: dict[int, int] = {}
    for version_id, number, state, count in session.execute(query):
        item = out.setdefault(version_id, VersionCount(version_id, f"v{number}",
                                                       is_cycles=version_id == cycle.rule_set_version_id))
        numbers[version_id] = number
        item.count += count
        item.states[state.value] = count
    return sorted(out.values(), key=lambda v: (not v.is_cycles, -numbers[v.id]))


@dataclass
class CycleCounts:
    """A cycle's current appraisals counted for its page, within a scope: per state, per rule-set
    version (as :func:`version_counts`) and per station and grade (as
    ``distribution.grade_counts_by_station``, for the policy's breaches)."""

    states: dict[str, int]
    versions: list[VersionCount]
    grades: dict[int, dict[str | None, int]]
    everything: bool  # counted over the whole cycle (no scope narrowed it)


# The whole cycle's counts (HR's) are kept per worker while the cycle's appraisals stay as they were: with
# the latest ``updated_at`` of its appraisals (one descent of the index on (cycle, updated_at)), which every
# write to an appraisal stamps. Only once that write is SETTLE old (no commit still in flight can carry an
# older stamp); a narrower scope reads the people too (whose changes stamp nothing) and is counted afresh.
KEPT_CYCLES = 32
_kept: Kept[tuple, tuple] = Kept(KEPT_CYCLES)


def _counted(session, cycle: Cycle, scope: Scope | None) -> tuple[dict, dict, dict]:
    """Per state, per version and state, per station and grade: the cycle's current appraisals."""
    query = (select(Appraisal.station_id, Appraisal.grade, Appraisal.state, Appraisal.rule_set_version_id,
                    func.count())
             .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
             .group_by(Appraisal.station_id, Appraisal.grade, Appraisal.state, Appraisal.rule_set_version_id))
    if scope is not None:
        query = query.where(scope_clause(Appraisal, scope))
    states: dict[str, int] = {}
    by_version: dict[int, dict[str, int]] = {}
    grades: dict[int, dict[str | None, int]] = {}
    for station_id, grade, state, version_id, count in session.execute(query):
        states[state.value] = states.get(state.value, 0) + count
        per_state = by_version.setdefault(version_id, {})
        per_state[state.value] = per_state.get(state.value, 0) + count
        per_grade = grades.setdefault(station_id, {})
        per_grade[grade or None] = per_grade.get(grade or None, 0) + count
    return states, by_version, grades


def _kept_counts(session, cycle: Cycle, scope: Scope | None) -> tuple[dict, dict, dict]:
    """:func:`_counted`, kept for the whole cycle while its latest (settled) write stays the same; copies."""
    if scope is not None and not scope.everything:
        return _counted(session, cycle, scope)
    latest = latest_write(session, cycle.id)
    if latest is None or latest > now() - SETTLE:
        return _counted(session, cycle, scope)
    key = (str(session.get_bind().url), cycle.id, latest)
    states, by_version, grades = _kept.get_or_build(key, lambda: _counted(session, cycle, scope))
    return (dict(states), {k: dict(v) for k, v in by_version.items()},
            {k: dict(v) for k, v in grades.items()})


def cycle_counts(session, cycle: Cycle, scope: Scope | None = None) -> CycleCounts:
    """:func:`state_counts`, :func:`version_counts` and the station × grade counts of the cycle's current
    appraisals (within ``scope``, if given) from one GROUP BY, which the index on (cycle, current,
    station, grade, total, state, rule set) answers without reading the rows (kept for HR while the
    cycle's appraisals stay as they were); and the versions' numbers."""
    states, by_version, grades = _kept_counts(session, cycle, scope)
    numbers = dict(session.execute(select(RuleSetVersion.id, RuleSetVersion.number)
                                   .where(RuleSetVersion.id.in_(list(by_version)))).all())
    versions = [VersionCount(vid, f"v{numbers[vid]}", sum(per_state.values()), per_state,
                             is_cycles=vid == cycle.rule_set_version_id)
                for vid, per_state in by_version.items() if vid in numbers]
    versions.sort(key=lambda v: (not v.is_cycles, -numbers[v.id]))
    return CycleCounts(states, versions, grades, everything=scope is None or scope.everything)


def off_version_counts(session, cycle_ids: Collection[int]) -> dict[int, int]:
    """Cycle id → how many of its current appraisals are on another rule-set version than the cycle's
    (those locked when it moved to a new one); cycles with none left out."""
    if not cycle_ids:
        return {}
    return dict(session.execute(
        select(Appraisal.cycle_id, func.count()).join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.cycle_id.in_(list(cycle_ids)), Appraisal.is_current.is_(True),
               Appraisal.rule_set_version_id != Cycle.rule_set_version_id)
        .group_by(Appraisal.cycle_id)).all())


# At most this many drafts are submitted by one call (one transaction each, ~10 ms): a request
# stays short; the caller says how many remain.
MAX_SUBMIT = 1000


def drafts_of(session, cycle_id: int, scope: Scope) -> list[int]:
    """Ids of the cycle's current draft appraisals within ``scope``, in a stable order."""
    return list(session.scalars(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True),
                                   Appraisal.state == State.draft, scope_clause(Appraisal, scope))
        .order_by(Appraisal.id)
    ))


def submit_drafts(session, cycle_id: int, caller: Caller, comment: str | None = None, *,
                  limit: int = MAX_SUBMIT) -> tuple[list[BulkOutcome], int]:
    """HR submits a cycle: its current drafts (in ``caller``'s scope, at most ``limit``) go to
    review, each through :func:`transitions.transition` with every check, in its own transaction.
    Returns each one's outcome and how many drafts remain unsubmitted beyond ``limit``."""
    ids = drafts_of(session, cycle_id, caller.scope)
    outcomes = bulk_transition(session, ids[:limit], caller, "submit", comment)
    return outcomes, max(0, len(ids) - limit)
