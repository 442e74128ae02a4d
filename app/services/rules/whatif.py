"""The what-if: rescore a past cycle with another rule set, changing nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...metrics import compute_metrics
from ...models import (
    Appraisal,
    Cycle,
)
from ...rules import (
    Incentive,
    RuleSet,
    breaches,
    has_errors,
)
from ...rules.pools import allocate, money_text
from ..scoring import Appraisee, Scorer
from ..snapshot import CycleFacts
from .errors import RuleSetInvalid, WhatIfError
from .files import check_dir
from .store import ruleset_for_version


def cycle_names(session: Session) -> list[str]:
    """Names of the cycles, newest first (for the what-if screen)."""
    return list(session.scalars(select(Cycle.name).order_by(Cycle.start.desc(), Cycle.id.desc())))


def natural_key(text: str) -> tuple:
    """Sorts numbers within a text by their value: EMP2 before EMP10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text or "") if part)


def _ruleset_of(session: Session, source: str | Path | int) -> RuleSet:
    if isinstance(source, int):
        return ruleset_for_version(session, source)
    ruleset, problems = check_dir(source, session)
    if has_errors(problems):
        raise RuleSetInvalid(problems)
    return ruleset


def _stored_amount(snapshot) -> Decimal | None:
    """The incentive amount a stored snapshot carries, or None (none, or a rule set without incentives)."""
    part = snapshot.get("incentive") if isinstance(snapshot, Mapping) else None
    text = part.get("amount") if isinstance(part, Mapping) else None
    if text is None or text == "":
        return None
    try:
        amount = Decimal(str(text))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _raw_amount(result) -> Decimal | None:
    text = (result.incentive or {}).get("raw")
    return None if text is None else Decimal(text)


def _kept_calibration(ruleset: RuleSet, snapshot) -> dict | None:
    """HR's calibration of a stored appraisal, to score with again: its total, and its grade when the
    rule set has that grade (otherwise the grade follows the total)."""
    calibration = snapshot.get("calibration") if isinstance(snapshot, Mapping) else None
    if not isinstance(calibration, Mapping):
        return None
    grade = calibration.get("grade")
    kept = {"total": calibration.get("total"), "grade": grade if ruleset.band(grade) is not None else None}
    return kept if kept["total"] is not None or kept["grade"] is not None else None


def whatif(session: Session, source: str | Path | int, cycle_name: str, *, locale: str = "zh_CN",
           progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Rescore a past cycle's employees with a rule set (a directory or a version id), changing nothing.

    Old figures are the cycle's current appraisals (total, grade, the snapshot's incentive amount); new
    ones come from the same period's metrics, the supervisor's manual values and adjustment and HR's
    calibration of each appraisal, and ``source``. Returns {"cycle", "employees": [{"employee_no", "name",
    "station", "old_total", "old_grade", "new_total", "new_grade", "delta", "old_amount", "new_amount"}],
    "distribution": {"before": {grade: n}, "after": {grade: n}, "stations": [...], "policy",
    "breaches_before", "breaches_after"}, "incentives": {...} (see ``incentive_summary``), "changed"}.
    The breaches are those of ``source``'s distribution policy; amounts are strings ("2500", "1234.56").
    ``progress(stage, done, total)`` hears how far it is (stages ``inputs``, ``score``).
    """
    report = progress or (lambda stage, done, total: None)
    cycle = session.scalar(select(Cycle).where(Cycle.name == cycle_name))
    if cycle is None:
        raise WhatIfError(f"no cycle named {cycle_name!r}")
    report("inputs", 0, 1)
    ruleset = _ruleset_of(session, source)
    current = select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))
    appraisals = sorted(session.scalars(current), key=lambda a: (natural_key(a.employee.employee_no), a.id))
    metrics = compute_metrics(
        session, cycle.start, cycle.end, employee_ids=sorted({a.employee_id for a in appraisals}),
        station_ids=sorted({a.station_id for a in appraisals}), tag_words=tuple(sorted(ruleset.tag_words)),
    )
    # Only the result is wanted, never a snapshot: no rule-version label or company to print.
    scorer = Scorer(CycleFacts(cycle.name, cycle.start, cycle.end), "", ruleset, locale=locale, company="")
    rows, raws, stations = [], [], {}
    report("score", 0, len(appraisals))
    for done, appraisal in enumerate(appraisals, 1):
        employee, station = appraisal.employee, appraisal.station
        stations[station.code] = station.name
        appraisee = Appraisee.from_rows(employee, station)
        args = (appraisee, metrics.variables_for(employee.id, station.id), metrics.tags.get(employee.id, {}),
                dict(appraisal.manual or {}), appraisal.adjustment or 0.0)
        try:
            result = scorer.appraise(*args, _kept_calibration(ruleset, appraisal.snapshot))
        except ValueError:  # a calibration this rule set cannot take: score without it
            result = scorer.appraise(*args)
        old, new = appraisal.total, result.total
        before = _stored_amount(appraisal.snapshot)
        rows.append({
            "employee_no": employee.employee_no, "name": employee.name, "station": station.code,
            "old_total": old, "old_grade": appraisal.grade, "new_total": new, "new_grade": result.grade,
            "delta": round(new - old, 2) if old is not None and new is not None else None,
            "old_amount": money_text(before), "new_amount": None,
        })
        raws.append(_raw_amount(result))
        if done % 50 == 0 or done == len(appraisals):
            report("score", done, len(appraisals))
    incentives = incentive_summary(ruleset.incentive, rows, raws, stations)
    return {
        "cycle": {"name": cycle.name, "start": cycle.start.isoformat(), "end": cycle.end.isoformat()},
        "employees": rows,
        "distribution": distribution_summary(ruleset, rows, locale),
        "incentives": incentives,
        "changed": sum(1 for r in rows
                       if r["old_total"] != r["new_total"] or r["old_grade"] != r["new_grade"]),
    }


def distribution_summary(ruleset: RuleSet, rows: list[dict], locale: str) -> dict:
    """The grade counts before and after, in the network and per station, and the breaches of the rule
    set's distribution policy before and after (the same policy for both)."""
    order = [g.grade for g in sorted(ruleset.grades, key=lambda g: g.min, reverse=True)]
    for row in rows:
        if row["old_grade"] and row["old_grade"] not in order:
            order.append(row["old_grade"])

    def counts(key: str, station: str | None = None) -> dict[str, int]:
        out = dict.fromkeys(order, 0)
        for row in rows:
            if station is None or row["station"] == station:
                grade = row[key] or "N/A"
                out[grade] = out.get(grade, 0) + 1
        return out

    def grades_by_station(key: str) -> dict[str, list[str | None]]:
        out: dict[str, list[str | None]] = {}
        for row in rows:
            out.setdefault(row["station"], []).append(row[key])
        return out

    policy = ruleset.policy
    codes = sorted({row["station"] for row in rows})
    return {
        "before": counts("old_grade"), "after": counts("new_grade"),
        "stations": [{"station": code, "before": counts("old_grade", code),
                      "after": counts("new_grade", code)} for code in codes],
        "policy": None if policy is None else policy.to_dict(),
        "breaches_before": [b.to_dict(locale) for b in breaches(policy, grades_by_station("old_grade"))],
        "breaches_after": [b.to_dict(locale) for b in breaches(policy, grades_by_station("new_grade"))],
    }


def incentive_summary(incentive: Incentive | None, rows: list[dict], raws: list[Decimal | None],
                      stations: Mapping[str, str]) -> dict:
    """Fill each row's ``new_amount`` and sum the amounts per station and in total.

    Before: the amounts the stored snapshots carry. After: the rule set's formula amounts, each
    capped, or a pooled station's shared out over its pool (``pools.allocate``, as at publication).
    Whole yuan, Decimal throughout; {"formula", "cap", "before_total", "after_total", "change",
    "stations": [{"station", "name", "headcount", "pool", "before", "after", "change"}]}."""
    by_station: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_station.setdefault(row["station"], []).append(i)
    summaries = []
    total_before = total_after = Decimal(0)
    for code in sorted(by_station):
        indices = by_station[code]
        pool = incentive.pool_for(code) if incentive is not None else None
        after = Decimal(0)
        if incentive is not None:
            amounts = allocate([(i, raws[i], None) for i in indices], pool, incentive.cap)
            for i in indices:
                if raws[i] is not None:
                    rows[i]["new_amount"] = money_text(amounts[i])
            after = sum((amounts[i] for i in indices), Decimal(0))
        before = sum((Decimal(rows[i]["old_amount"]) for i in indices if rows[i]["old_amount"] is not None),
                     Decimal(0))
        total_before, total_after = total_before + before, total_after + after
        summaries.append({"station": code, "name": stations.get(code, ""), "headcount": len(indices),
                          "pool": money_text(pool), "before": money_text(before), "after": money_text(after),
                          "change": money_text(after - before)})
    return {
        "formula": incentive.formula_text if incentive is not None else None,
        "cap": money_text(incentive.cap) if incentive is not None else None,
        "before_total": money_text(total_before), "after_total": money_text(total_after),
        "change": money_text(total_after - total_before), "stations": summaries,
    }
