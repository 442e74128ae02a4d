"""The what-if: rescore a past cycle with another rule set, changing nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...metrics import compute_metrics
from ...models import (
    Appraisal,
    Cycle,
)
from ...rules import (
    RuleSet,
    has_errors,
)
from ..scoring import Appraisee, Scorer
from ..snapshot import CycleFacts
from .errors import RuleSetInvalid, WhatIfError
from .files import check_dir
from .store import ruleset_for_version


def cycle_names(session: Session) -> list[str]:
    """Names of the cycles, newest first (for the what-if screen)."""
    return list(session.scalars(select(Cycle.name).order_by(Cycle.start.desc(), Cycle.id.desc())))


def _ruleset_of(session: Session, source: str | Path | int) -> RuleSet:
    if isinstance(source, int):
        return ruleset_for_version(session, source)
    ruleset, problems = check_dir(source, session)
    if has_errors(problems):
        raise RuleSetInvalid(problems)
    return ruleset


def whatif(session: Session, source: str | Path | int, cycle_name: str, *, locale: str = "zh_CN") -> dict:
    """Rescore a past cycle's employees with a rule set (a directory or a version id), changing nothing.

    Old figures are the cycle's current appraisals (total, grade); new ones come from the same period's
    metrics, the supervisor's manual values and adjustment of each appraisal, and ``source``. Returns
    {"cycle", "employees": [{"employee_no", "name", "station", "old_total", "old_grade", "new_total",
    "new_grade", "delta"}], "distribution": {"before": {grade: n}, "after": {grade: n}}, "changed"}.
    """
    cycle = session.scalar(select(Cycle).where(Cycle.name == cycle_name))
    if cycle is None:
        raise WhatIfError(f"no cycle named {cycle_name!r}")
    ruleset = _ruleset_of(session, source)
    appraisals = list(session.scalars(
        select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
    ))
    metrics = compute_metrics(
        session, cycle.start, cycle.end, employee_ids=sorted({a.employee_id for a in appraisals}),
        station_ids=sorted({a.station_id for a in appraisals}), tag_words=tuple(sorted(ruleset.tag_words)),
    )
    # Only the result is wanted, never a snapshot: no rule-version label or company to print.
    scorer = Scorer(CycleFacts(cycle.name, cycle.start, cycle.end), "", ruleset, locale=locale, company="")
    rows = []
    for appraisal in appraisals:
        employee, station = appraisal.employee, appraisal.station
        result = scorer.appraise(
            Appraisee.from_rows(employee, station), metrics.variables_for(employee.id, station.id),
            metrics.tags.get(employee.id, {}), dict(appraisal.manual or {}), appraisal.adjustment or 0.0,
        )
        old, new = appraisal.total, result.total
        rows.append({
            "employee_no": employee.employee_no, "name": employee.name, "station": station.code,
            "old_total": old, "old_grade": appraisal.grade, "new_total": new, "new_grade": result.grade,
            "delta": round(new - old, 2) if old is not None and new is not None else None,
        })
    rows.sort(key=lambda r: r["employee_no"])
    order = [g.grade for g in sorted(ruleset.grades, key=lambda g: g.min, reverse=True)]
    for row in rows:
        if row["old_grade"] and row["old_grade"] not in order:
            order.append(row["old_grade"])

    def distribution(key: str) -> dict[str, int]:
        counts = dict.fromkeys(order, 0)
        for row in rows:
            grade = row[key] or "N/A"
            counts[grade] = counts.get(grade, 0) + 1
        return counts

    return {
        "cycle": {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
        "employees": rows,
        "distribution": {"before": distribution("old_grade"), "after": distribution("new_grade")},
        "changed": sum(1 for r in rows
                       if r["old_total"] != r["new_total"] or r["old_grade"] != r["new_grade"]),
    }
