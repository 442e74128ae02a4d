"""The figures behind the dashboards, always within a row scope (app.scoping).

Only current appraisal versions count. Totals, grades and rankings are GROUP BY queries; the
category and indicator figures live in each appraisal's snapshot, so those queries read just that
part of the JSON (``snapshot -> 'category_scores'`` / ``'lines'``) and average in Python, in id order, as
app.services.dashboard_store sums the figures it stores (the same rows give the same rounding).

A cycle recomputed on a new rule set keeps the appraisals past review on the version they were computed
with: indicators are then averaged per rule-set version, each mean saying how many of the people shown
it covers, so that an indicator of one version is never read as everyone's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..metrics import CODES
from ..models import Appraisal, Cycle, Employee, RuleSetVersion, Station
from ..rules.formulas import INDICATOR
from ..rules.model import expr_text
from ..scoping import Scope, scope_clause
from ..workflow import State
from .rules import ruleset_for_version

MAX_CYCLES = 12  # how many cycles a history chart spans


def in_scope(scope: Scope):
    """Criterion: the current appraisals in ``scope``. A narrower scope than everything is tested on the
    scope's columns alone (an index holds them all), in a subquery of ids, so that a query over many
    cycles never reads whole rows (their snapshots) only to find them out of scope."""
    current = Appraisal.is_current.is_(True)
    if scope.everything:
        return current
    return current & Appraisal.id.in_(select(Appraisal.id).where(current, scope_clause(Appraisal, scope)))


MAX_NAMED = 5_000  # a view over more appraisals than this tests its scope in each query (:func:`in_scope`)


@dataclass(frozen=True)
class Held:
    """The current appraisals of a scope narrower than everything, ``(id, cycle id, station id)`` each,
    read once per view from the index of the scope's columns; the view's queries then name them by id
    instead of testing the scope again, each over every current appraisal."""

    scope: Scope
    rows: tuple[tuple[int, int, int], ...]

    @classmethod
    def read(cls, session, scope: Scope) -> Held | None:
        """None for a scope of everything (nothing to test)."""
        if scope.everything:
            return None
        # no ORDER BY: SQLite would walk the table in id order, reading every row, not the index
        query = (select(Appraisal.id, Appraisal.cycle_id, Appraisal.station_id)
                 .where(Appraisal.is_current.is_(True), scope_clause(Appraisal, scope)))
        return cls(scope, tuple(sorted(tuple(row) for row in session.execute(query))))

    def criterion(self, cycle_ids: Iterable[int]):
        """Criterion: the appraisals held in these cycles, by id (or by :func:`in_scope`, when many)."""
        wanted = set(cycle_ids)
        ids = [ident for ident, cycle_id, _station in self.rows if cycle_id in wanted]
        return Appraisal.id.in_(ids) if len(ids) <= MAX_NAMED else in_scope(self.scope)


def is_manager_view(scope: Scope) -> bool:
    """HR and station managers (and supervisors, for their reports) see the network view."""
    return scope.everything or bool(scope.station_ids) or scope.supervises


def cycles(session, scope: Scope, held: Held | None = None) -> list:
    """Cycles with at least one appraisal in scope (in ``held``, when given), oldest first (by their end: a
    month before the quarter it starts), each its ``id``, ``name``, ``start`` and ``end``. One index probe
    per cycle, not a pass over every appraisal."""
    if held is not None:
        where = Cycle.id.in_(sorted({cycle_id for _id, cycle_id, _station in held.rows}))
    else:
        where = select(Appraisal.id).where(Appraisal.cycle_id == Cycle.id, in_scope(scope)).exists()
    return list(session.execute(select(Cycle.id, Cycle.name, Cycle.start, Cycle.end).where(where)
                                .order_by(Cycle.end, Cycle.start, Cycle.id)))


def stations(session, scope: Scope, held: Held | None = None) -> list:
    """Stations with at least one appraisal in scope (in ``held``, when given), each its ``id``, ``code`` and
    ``name``. Each station is probed cycle by cycle on the index of (cycle, current, station): naming the
    cycles keeps SQLite off the index that starts with ``is_current`` alone, where finding a station means
    walking every current appraisal."""
    if held is not None:
        where = Station.id.in_(sorted({station_id for _id, _cycle, station_id in held.rows}))
    else:
        where = select(Appraisal.id).where(Appraisal.cycle_id.in_(select(Cycle.id)),
                                           Appraisal.station_id == Station.id, in_scope(scope)).exists()
    return list(session.execute(select(Station.id, Station.code, Station.name).where(where)
                                .order_by(Station.code)))


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def number_or_none(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def category_history(session, scope: Scope, cycle_list: list[Cycle], station_ids: Iterable[int] | None = None
                     ) -> dict[int, dict[str, list[tuple[str, float | None]]]]:
    """station id → category → [(cycle name, mean category score)] over ``cycle_list`` in order
    (every cycle present in every series, None where the station had no score)."""
    chosen = cycle_list[-MAX_CYCLES:]
    if not chosen:
        return {}
    query = (select(Appraisal.station_id, Appraisal.cycle_id, Appraisal.snapshot["category_scores"])
             .where(in_scope(scope), Appraisal.cycle_id.in_([c.id for c in chosen])).order_by(Appraisal.id))
    if station_ids is not None:
        query = query.where(Appraisal.station_id.in_(list(station_ids)))
    sums: dict[int, dict[str, dict[int, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for station_id, cycle_id, scores in session.execute(query):
        for category, score in (scores or {}).items():
            if (number := number_or_none(score)) is not None:
                sums[station_id][category][cycle_id].append(number)
            else:
                sums[station_id][category].setdefault(cycle_id, [])
    return {
        station_id: {category: [(c.name, _mean(by_cycle.get(c.id, []))) for c in chosen]
                     for category, by_cycle in sorted(categories.items())}
        for station_id, categories in sums.items()
    }


def grade_counts(session, scope: Scope, cycle_id: int, station_id: int | None = None) -> dict[str, int]:
    """Grade → number of appraisals of the cycle, grades in order (A, B, …), no grade last."""
    query = select(Appraisal.grade, func.count()).where(in_scope(scope), Appraisal.cycle_id == cycle_id)
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    rows = session.execute(query.group_by(Appraisal.grade)).all()
    counts = {grade: n for grade, n in rows if grade}
    out = {grade: counts[grade] for grade in sorted(counts)}
    missing = sum(n for grade, n in rows if not grade)
    if missing:
        out["N/A"] = missing
    return out


@dataclass
class Ranked:
    id: int
    label: str
    total: float | None
    count: int = 1
    grade: str | None = None
    appraisal_id: int | None = None


def station_ranking(session, scope: Scope, cycle_id: int, held: Held | None = None) -> list[Ranked]:
    """Stations by their mean total in the cycle, best first."""
    mean = func.avg(Appraisal.total)
    rows = session.execute(
        select(Station.id, Station.code, Station.name, mean, func.count())
        .join(Appraisal, Appraisal.station_id == Station.id)
        .where(in_scope(scope) if held is None else held.criterion([cycle_id]),
               Appraisal.cycle_id == cycle_id, Appraisal.total.is_not(None))
        .group_by(Station.id, Station.code, Station.name)
        .order_by(mean.desc(), Station.code)
    ).all()
    return [Ranked(sid, f"{code} {name}", round(float(avg), 2), n) for sid, code, name, avg, n in rows]


def employee_ranking(session, scope: Scope, cycle_id: int, station_id: int | None = None,
                     limit: int = 20) -> list[Ranked]:
    """Employees by total in the cycle, best first."""
    query = (select(Employee.id, Employee.employee_no, Employee.name, Appraisal.total, Appraisal.grade,
                    Appraisal.id)
             .join(Appraisal, Appraisal.employee_id == Employee.id)
             .where(in_scope(scope), Appraisal.cycle_id == cycle_id, Appraisal.total.is_not(None))
             .order_by(Appraisal.total.desc(), Employee.employee_no).limit(limit))
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    return [Ranked(eid, f"{no} {name}", total, 1, grade, aid)
            for eid, no, name, total, grade, aid in session.execute(query)]


@dataclass
class VersionShare:
    """How many of the appraisals shown were computed with one rule-set version."""

    label: str
    count: int


def rule_versions(session, scope: Scope, cycle_id: int, station_id: int | None = None) -> list[VersionShare]:
    """The rule-set versions of the cycle's appraisals in scope, the newest first."""
    query = (select(RuleSetVersion.number, func.count())
             .join(Appraisal, Appraisal.rule_set_version_id == RuleSetVersion.id)
             .where(in_scope(scope), Appraisal.cycle_id == cycle_id)
             .group_by(RuleSetVersion.number).order_by(RuleSetVersion.number.desc()))
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    return [VersionShare(f"v{number}", count) for number, count in session.execute(query)]


@dataclass
class IndicatorSummary:
    code: str
    name: str
    category: str
    mean_score: float | None
    count: int  # appraisals that have the indicator
    na: int
    version: str | None = None  # the rule-set version it is averaged over, when the cycle has several
    people: int = 0  # appraisals shown (every version): the mean covers ``count`` of them


def indicator_summary(session, scope: Scope, cycle_id: int,
                      station_id: int | None = None) -> list[IndicatorSummary]:
    """Each indicator of the cycle's appraisals in scope: mean score, how many, how many N/A. When the
    appraisals are on several rule-set versions, one row per indicator and version."""
    query = (select(RuleSetVersion.number, Appraisal.snapshot["lines"])
             .join(RuleSetVersion, RuleSetVersion.id == Appraisal.rule_set_version_id)
             .where(in_scope(scope), Appraisal.cycle_id == cycle_id).order_by(Appraisal.id))
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    rows = session.execute(query).all()
    split = len({number for number, _lines in rows}) > 1
    seen: dict[tuple[str, int], IndicatorSummary] = {}
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    for number, lines in rows:
        for line in lines or []:
            code = str(line.get("code", ""))
            if not code:
                continue
            key = (code, number if split else 0)
            item = seen.setdefault(key, IndicatorSummary(
                code, str(line.get("name", code)), str(line.get("category", "")), None, 0, 0,
                f"v{number}" if split else None, len(rows)))
            item.count += 1
            if line.get("na") or number_or_none(line.get("score")) is None:
                item.na += 1
            else:
                scores[key].append(float(line["score"]))
    for key, item in seen.items():
        item.mean_score = _mean(scores[key])
    return [seen[key] for key in sorted(seen, key=lambda k: (seen[k].category, k[0], -k[1]))]


@dataclass
class IndicatorRow:
    appraisal_id: int
    employee_id: int
    employee_no: str
    employee_name: str
    station_code: str
    value: float | None
    unit: str
    score: float | None
    na: bool
    explain: str
    metrics: list[str] = field(default_factory=list)
    version: str = ""  # the rule-set version the appraisal was computed with


def indicator_rows(session, scope: Scope, cycle: Cycle, code: str,
                   station_id: int | None = None) -> tuple[str, list[IndicatorRow]]:
    """(indicator name, one row per appraisal in scope that has the indicator), with the built-in
    metrics its formulas read (the drill-down goes from there to the orders)."""
    query = (select(Appraisal.id, Appraisal.employee_id, Appraisal.rule_set_version_id, Employee.employee_no,
                    Employee.name, Station.code, Appraisal.snapshot["lines"], RuleSetVersion.number)
             .join(Employee, Employee.id == Appraisal.employee_id)
             .join(Station, Station.id == Appraisal.station_id)
             .join(RuleSetVersion, RuleSetVersion.id == Appraisal.rule_set_version_id)
             .where(in_scope(scope), Appraisal.cycle_id == cycle.id)
             .order_by(Station.code, Employee.employee_no))
    if station_id is not None:
        query = query.where(Appraisal.station_id == station_id)
    name, rows, metric_cache = "", [], {}
    for aid, eid, version_id, no, ename, station_code, lines, number in session.execute(query):
        line = next((ln for ln in lines or [] if ln.get("code") == code), None)
        if line is None:
            continue
        name = name or str(line.get("name", code))
        if version_id not in metric_cache:
            metric_cache[version_id] = indicator_metrics(session, version_id, code)
        rows.append(IndicatorRow(aid, eid, no, ename, station_code, number_or_none(line.get("value")),
                                 str(line.get("unit") or ""), number_or_none(line.get("score")),
                                 bool(line.get("na")), str(line.get("explain") or ""),
                                 metric_cache[version_id], f"v{number}"))
    return name, rows


def version_means(rows: list[IndicatorRow]) -> list[tuple[str, int, float | None]]:
    """(rule-set version, appraisals with the indicator, mean score) per version, the newest first."""
    counts: dict[str, int] = defaultdict(int)
    scores: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        counts[row.version] += 1
        if row.score is not None and not row.na:
            scores[row.version].append(row.score)
    order = sorted(counts, key=lambda label: -int(label.lstrip("v") or 0))
    return [(label, counts[label], _mean(scores[label])) for label in order]


def indicator_metrics(session, rule_set_version_id: int, code: str) -> list[str]:
    """The built-in metric codes an indicator's value and target formulas read, following
    references to other indicators; [] for a manual indicator or one not in the rule set."""
    try:
        ruleset = ruleset_for_version(session, rule_set_version_id)
    except Exception:  # noqa: BLE001 - a missing version simply offers no drill-down
        return []
    found: list[str] = []
    seen: set[str] = set()

    def visit(indicator_code: str) -> None:
        if indicator_code in seen:
            return
        seen.add(indicator_code)
        indicator = ruleset.indicator(indicator_code)
        if indicator is None or indicator.manual:
            return
        for expr in (indicator.value, indicator.target):
            text = expr_text(expr) if expr not in ("", None) else ""
            if not text:
                continue
            try:
                names = ruleset.formulas.compile(INDICATOR, text).names
            except Exception:  # noqa: BLE001 - a formula that does not compile reads nothing
                continue
            for name in sorted(names):
                if name in CODES and name != "period_days" and name not in found:
                    found.append(name)
                elif ruleset.indicator(name) is not None:
                    visit(name)

    visit(code)
    return found


@dataclass
class HistoryPoint:
    appraisal_id: int
    cycle: str
    start: dt.date
    end: dt.date
    state: State
    total: float | None
    grade: str | None
    category_scores: dict


def employee_history(session, employee_id: int) -> list[HistoryPoint]:
    """One employee's current appraisals over the cycles, oldest first: those they see themselves
    (published and approved, signed or disputed; app.scoping), whoever looks."""
    rows = session.execute(
        select(Appraisal.id, Cycle.name, Cycle.start, Cycle.end, Appraisal.state, Appraisal.total,
               Appraisal.grade, Appraisal.snapshot["category_scores"])
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.employee_id == employee_id, Appraisal.is_current.is_(True),
               scope_clause(Appraisal, Scope(employee_id=employee_id)))
        .order_by(Cycle.end, Cycle.start, Cycle.id)
    ).all()
    return [HistoryPoint(aid, name, start, end, state, total, grade, scores or {})
            for aid, name, start, end, state, total, grade, scores in rows]

