"""The editor's previews on real data: an indicator for one employee or over a station (its lowest, median
and highest), a template's weights per station. Numbers read as the appraisal shows them (app.pdf.numbers)."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...locales import is_english
from ...metrics import compute_metrics
from ...models import (
    Station,
)
from ...pdf.numbers import format_number, measure
from ...rules import (
    RuleSet,
    evaluate_indicator,
    indicators_needed,
    line_weight,
)


def employee_variables(session: Session, employee, start: dt.date, end: dt.date, tag_words=()):
    """(variables, tags) of one employee and period, through app.metrics."""
    metrics = compute_metrics(session, start, end, employee_ids=[employee.id],
                              station_ids=[employee.station_id], tag_words=tuple(sorted(tag_words)))
    return metrics.variables_for(employee.id, employee.station_id), dict(metrics.tags.get(employee.id, {}))


FIELDS = ("value", "target", "score")


def _trial(ruleset: RuleSet, indicator) -> RuleSet:
    """The rule set with ``indicator`` (which may be unsaved) in place of its saved self."""
    others = tuple(i for i in ruleset.indicators if i.code != indicator.code)
    return RuleSet(indicators=(*others, indicator), templates=ruleset.templates, grades=ruleset.grades,
                   outcomes=ruleset.outcomes, swot=ruleset.swot)


def _evaluate(trial: RuleSet, code: str, variables: dict, tags: dict, locale: str):
    """The indicator's result, the indicators it reads evaluated first, and the values it saw."""
    values: dict[str, Any] = dict(variables)
    result = None
    for needed in indicators_needed(trial, [code]):
        result = evaluate_indicator(trial, trial.indicator(needed), values, tags, locale)
        values[needed] = result.value
    return result, values


def shown(field: str, number: float | None, unit: str = "") -> str | None:
    """A value, target or score as an appraisal line shows it (a "%" value times 100, two decimals);
    None for N/A."""
    if field == "score":
        return None if number is None else format_number(number)
    return measure(number, unit)


def preview_indicator(session: Session, ruleset: RuleSet, indicator, employee, start: dt.date, end: dt.date,
                      *, locale: str = "zh_CN") -> dict:
    """Value, target, score (raw and ``shown``) and explanation of ``indicator`` (which may be unsaved) for a
    real employee and period. Other indicators it reads are evaluated first from ``ruleset``."""
    trial = _trial(ruleset, indicator)
    variables, tags = employee_variables(session, employee, start, end, trial.tag_words)
    result, values = _evaluate(trial, indicator.code, variables, tags, locale)
    used = {name: values.get(name) for name in sorted(result.names)}
    return {
        "value": result.value, "target": result.target, "score": result.score, "na": result.na,
        "shown": {field: shown(field, getattr(result, field), indicator.unit) for field in FIELDS},
        "explain": result.explain(locale),
        "error": result.error.to_dict(locale) | {"field": result.error_field} if result.error else None,
        "variables": used,
    }


def preview_station(session: Session, ruleset: RuleSet, indicator, station, start: dt.date, end: dt.date,
                    *, locale: str = "zh_CN") -> dict:
    """``indicator`` for every employee of ``station`` over the period: per field the lowest, median and
    highest of those who have a number (``shown`` as the appraisal shows them), how many had one
    (``counts``), the headcount, and the first error a formula met (with how many met one)."""
    trial = _trial(ruleset, indicator)
    metrics = compute_metrics(session, start, end, station_ids=[station.id],
                              tag_words=tuple(sorted(trial.tag_words)))
    numbers: dict[str, list[float]] = {field: [] for field in FIELDS}
    error, errors = None, 0
    for employee_id in sorted(metrics.employees):
        variables = metrics.variables_for(employee_id, station.id)
        tags = dict(metrics.tags.get(employee_id, {}))
        result, _ = _evaluate(trial, indicator.code, variables, tags, locale)
        if result.error:
            errors += 1
            error = error or result.error.to_dict(locale) | {"field": result.error_field}
        for field in numbers:
            number = getattr(result, field)
            if number is not None:
                numbers[field].append(number)
    spread = {field: {"min": shown(field, min(found), indicator.unit),
                      "median": shown(field, statistics.median(found), indicator.unit),
                      "max": shown(field, max(found), indicator.unit)} if found else None
              for field, found in numbers.items()}
    return {"headcount": len(metrics.employees), "counts": {f: len(v) for f, v in numbers.items()},
            "shown": spread, "error": error, "errors": errors}


def weight_table(session: Session, ruleset: RuleSet, template, start: dt.date, end: dt.date,
                 *, locale: str = "zh_CN") -> dict:
    """The template's weights at every station (formulas evaluated over each station's metrics of the
    period): nominal, normalised to 100, and sums."""
    stations = list(session.scalars(select(Station).order_by(Station.code)))
    metrics = compute_metrics(session, start, end, employee_ids=[], station_ids=[s.id for s in stations])
    station_values = {s.id: {f"station_{k}": v for k, v in metrics.stations.get(s.id, {}).items()}
                      for s in stations}
    columns = []
    for s in stations:
        segment = s.segment.value if hasattr(s.segment, "value") else str(s.segment)
        weights = []
        for line in template.lines:
            indicator = ruleset.indicator(line.indicator)
            name = indicator.label(locale) if indicator else line.indicator
            weight, note, _ = line_weight(ruleset, line, station_values[s.id], {}, name, is_english(locale),
                                          locale)
            weights.append({"weight": round(weight, 2), "note": note})
        total = sum(w["weight"] for w in weights)
        for w in weights:
            w["effective"] = round(w["weight"] / total * 100, 2) if total else 0.0
        columns.append({
            "code": s.code, "name": s.name, "segment": segment,
            "applies": (not template.stations or s.code in template.stations)
            and (not template.segments or segment in template.segments),
            "weights": weights, "sum": round(total, 2),
        })
    return {"columns": columns}
