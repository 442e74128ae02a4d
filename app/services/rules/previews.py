"""The editor's previews on real data: an indicator for one employee, a template's weights per station."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...locales import is_english
from ...metrics import compute_metrics
from ...models import (
    Station,
)
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


def preview_indicator(session: Session, ruleset: RuleSet, indicator, employee, start: dt.date, end: dt.date,
                      *, locale: str = "zh_CN") -> dict:
    """Value, target, score and explanation of ``indicator`` (which may be unsaved) for a real
    employee and period. Other indicators it reads are evaluated first from ``ruleset``."""
    others = tuple(i for i in ruleset.indicators if i.code != indicator.code)
    trial = RuleSet(indicators=(*others, indicator), templates=ruleset.templates, grades=ruleset.grades,
                    outcomes=ruleset.outcomes, swot=ruleset.swot)
    variables, tags = employee_variables(session, employee, start, end, trial.tag_words)
    values: dict[str, Any] = dict(variables)
    result = None
    for code in indicators_needed(trial, [indicator.code]):
        result = evaluate_indicator(trial, trial.indicator(code), values, tags, locale)
        values[code] = result.value
    used = {name: values.get(name) for name in sorted(result.names)} if result else {}
    return {
        "value": result.value, "target": result.target, "score": result.score, "na": result.na,
        "explain": result.explain(locale),
        "error": result.error.to_dict(locale) | {"field": result.error_field} if result.error else None,
        "variables": used,
    }


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
