"""Score one employee with a rule set: template, SWOT lines, weights, N/A, total, grade, outcomes.

The semantics, in order:

1. The template is :meth:`RuleSet.template_for` (position, station, segment); the SWOT items of the
   employee's station in force in ``year`` (the latest analysis up to it) that apply to the employee's
   position add their lines, unless the template already holds that indicator.
2. Indicators are evaluated in dependency order (an indicator may use another's value by its code);
   manual indicators take the supervisor's value from ``manual``. A formula error (e.g.
   DIVIDE_BY_ZERO) is that line's value: the line is N/A and its explain shows the error code.
3. Weights are numbers or formulas over the variables (e.g. ``20 + 20 * station_enterprise_share``).
   A weight formula that is N/A, fails or is negative counts as 0, with a note.
4. **Weights are normalised**: a line's effective weight is its weight ÷ the sum of the weights of the
   lines that have a score × 100. So an N/A line is left out and its weight is spread over the others
   in proportion, and dynamic or SWOT weights need not add up to 100.
5. Scores are clamped to 0–100; subtotal = Σ score × effective weight / 100; total = subtotal +
   adjustment, clamped to 0–100. No line with a score: subtotal, total and grade are None (N/A).
6. Grade: the band with the highest ``min`` ≤ total.
7. Calibration (HR, after review): ``calibration = {"total": x | None, "grade": g | None}`` overrides
   the total and/or the grade after scoring; the grade follows a new total unless a grade is given.
   The result's ``calibration`` records {"from_total", "from_grade", "total", "grade"}: the scored
   total and grade, and what HR set (None: not set), so that a recompute can apply it again.
8. Outcome rules are evaluated over the variables, the indicators' values and ``total``,
   ``subtotal``, ``adjustment``, ``grade`` (the calibrated ones).
9. The incentive (policy.toml, ``incentive.py``): the amount formula over the same values plus
   ``bonus_base`` and ``coefficient`` (the applied bonus outcome's, 0 when none, N/A without a total).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.engine import Formula, FormulaError

from .check import indicator_dependencies
from .evaluate import (
    PLAIN_INPUTS,
    RESULTS_KEPT,
    clamp_score,
    compiled_or_error,
    evaluate_repeated,
    formula_or_raise,
    names_of,
)
from .formulas import INCENTIVE, OUTCOME, WEIGHT
from .incentive import incentive_part
from .items import Line
from .model import CATEGORY_EN, expr_text, norm_number


@dataclass(frozen=True)
class EmployeeFacts:
    no: str
    name: str
    position: str
    station_code: str
    station_name: str
    segment: str  # enterprise / consumer / mixed
    bonus_base: Decimal | None = None  # yuan; what the incentive formula reads as bonus_base


@dataclass
class AppraisalResult:
    template_code: str | None
    template_name: str | None
    lines: list[dict] = field(default_factory=list)
    na_notes: list[str] = field(default_factory=list)
    subtotal: float | None = None
    adjustment: float = 0.0
    total: float | None = None
    grade: str | None = None
    grade_label: str | None = None
    outcomes: list[str] = field(default_factory=list)
    # One dict per outcome that applied: code, action, label, coefficient (bonus) — for payroll.
    outcome_details: list[dict] = field(default_factory=list)
    category_scores: dict[str, float | None] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    # The snapshot's "incentive" (incentive.incentive_part) and "calibration"; None when there is none.
    incentive: dict | None = None
    calibration: dict | None = None

    @property
    def bonus_coefficient(self) -> float | None:
        for detail in self.outcome_details:
            if detail["action"] == "bonus" and detail.get("coefficient") is not None:
                return detail["coefficient"]
        return None

    def to_snapshot_part(self, copy: bool = True) -> dict:
        """The keys of the appraisal snapshot (contract 3) this result fills; ``copy=False`` hands over
        this result's own dicts and lists (a result scored only to be stored)."""
        part = {
            "template": {"code": self.template_code, "name": self.template_name},
            "lines": self.lines, "na_notes": self.na_notes, "subtotal": self.subtotal,
            "adjustment": self.adjustment, "total": self.total, "grade": self.grade,
            "grade_label": self.grade_label, "outcomes": self.outcomes,
            "outcome_details": self.outcome_details, "category_scores": self.category_scores,
            "variables": self.variables, "incentive": self.incentive, "calibration": self.calibration,
        }
        if copy:  # the same keys in the same order, every dict and list a copy
            part.update(
                lines=[dict(line) for line in self.lines], na_notes=list(self.na_notes),
                outcomes=list(self.outcomes), outcome_details=[dict(d) for d in self.outcome_details],
                category_scores=dict(self.category_scores), variables=dict(self.variables),
                incentive=None if self.incentive is None else {
                    k: dict(v) if isinstance(v, dict) else v for k, v in self.incentive.items()},
                calibration=None if self.calibration is None else dict(self.calibration))
        return part


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _en(locale: str) -> bool:
    return (locale or "").startswith("en")


def _lines_for(ruleset, employee: EmployeeFacts, template, year: int | None) -> list[tuple[Line, str]]:
    """The template's lines, then those the station's SWOT adds for the position (worked out once)."""
    key = ("lines", id(template), employee.station_code, employee.position, year)
    lines = ruleset.memo.get(key)
    if lines is None:  # the template belongs to the rule set, so its id stays its own
        lines = ruleset.memo[key] = _swot_lines(ruleset, employee, template, year)
    return lines


def _swot_lines(ruleset, employee: EmployeeFacts, template, year: int | None) -> list[tuple[Line, str]]:
    lines = [(line, "template") for line in template.lines]
    seen = {line.indicator for line in template.lines}
    for item in ruleset.swot_for(employee.station_code, year):
        if not item.applies_to(employee.position):
            continue
        for line in item.lines:
            if line.indicator not in seen:
                seen.add(line.indicator)
                lines.append((line, f"swot:{item.kind}"))
    return lines


def indicators_needed(ruleset, codes: list[str]) -> list[str]:
    """The indicators to evaluate, dependencies first (worked out once per rule set and list)."""
    key = ("needed", *codes)
    order = ruleset.memo.get(key)
    if order is None:
        order = ruleset.memo[key] = _evaluation_order(ruleset, codes)
    return order


def _evaluation_order(ruleset, codes: list[str]) -> list[str]:
    deps = indicator_dependencies(ruleset)
    order: list[str] = []
    visiting: set[str] = set()

    def visit(code: str) -> None:
        if code in order or code in visiting or ruleset.indicator(code) is None:
            return  # a cycle is reported by check(); here its members simply evaluate in some order
        visiting.add(code)
        for dep in sorted(deps.get(code, ())):
            visit(dep)
        visiting.discard(code)
        order.append(code)

    for code in codes:
        visit(code)
    return order


def appraise(ruleset, employee: EmployeeFacts, variables: Mapping[str, Any], tags: Mapping[str, int],
             manual: Mapping[str, float | None], adjustment: float = 0.0, *, year: int | None = None,
             locale: str = "zh_CN", calibration: Mapping[str, Any] | None = None) -> AppraisalResult:
    """Score one employee (the steps in the module's docstring). ``calibration`` is HR's override
    {"total": x | None, "grade": g | None}; ValueError when it names no grade of the rule set or a
    total outside 0–100."""
    en = _en(locale)
    adjustment = float(adjustment or 0.0)
    template = ruleset.template_for(employee.position, employee.station_code, employee.segment)
    if template is None:
        if en:
            note = (f"No template applies to position “{employee.position}” "
                    f"at station {employee.station_code}.")
        else:
            note = f"没有适用于岗位“{employee.position}”（服务站 {employee.station_code}）的考核方案。"
        result = AppraisalResult(None, None, na_notes=[note], adjustment=adjustment)
        values = dict(variables)
        _calibrate(ruleset, result, calibration, locale)
        if result.total is not None:
            _outcomes(ruleset, result, values, tags, locale)
        _incentive(ruleset, result, employee, values, tags, locale)
        return result

    lines = _lines_for(ruleset, employee, template, year)
    values: dict[str, Any] = dict(variables)
    for code, value in manual.items():
        indicator = ruleset.indicator(code)
        if indicator is not None and indicator.manual:
            values[code] = value
    used: set[str] = set()
    evals = {}
    needed, plan = _line_plan(ruleset, lines, locale)
    for code, indicator in needed:
        ev = evaluate_repeated(ruleset, indicator, values, tags, locale)
        evals[code] = ev
        values[code] = ev.value
        used |= ev.names

    result = AppraisalResult(template.code, template.label(locale), adjustment=adjustment)
    rows = []
    for line, source, indicator, name, fixed in plan:
        if fixed is None:
            weight, weight_note, weight_names = line_weight(ruleset, line, values, tags, name, en, locale)
            used |= weight_names
            if weight_note:
                result.na_notes.append(weight_note)
        else:
            weight = fixed
        ev = evals.get(line.indicator)
        if indicator is None or ev is None:
            rows.append(dict(code=line.indicator, name=name, category="", unit="", value=None, target=None,
                             score=None, weight=weight, effective_weight=0.0, weighted=None,
                             explain="UNKNOWN_INDICATOR", na=True, manual=False, error="UNKNOWN_INDICATOR",
                             source=source))
            continue
        score, value, error = ev.score, ev.value, ev.error
        rows.append({  # a literal: quicker to build than dict(**keywords), in the same key order
            "code": indicator.code, "name": name, "category": indicator.category, "unit": indicator.unit,
            "value": value, "target": ev.target, "score": None if score is None else round(score, 2),
            "weight": weight, "effective_weight": 0.0, "weighted": None, "explain": ev.explain(locale),
            "na": value is None or score is None, "manual": indicator.manual,
            "error": error.code if error else None, "source": source,
        })

    counted = [row for row in rows if not row["na"] and row["weight"] > 0]
    weight_sum = sum(row["weight"] for row in counted)
    for row in rows:
        if row["na"]:
            if row["weight"] > 0:
                result.na_notes.append(_na_note(row, en))
            continue
        if weight_sum > 0 and row["weight"] > 0:
            effective = row["weight"] / weight_sum * 100
            row["effective_weight"] = round(effective, 2)
            row["weighted"] = round(row["score"] * effective / 100, 2)
        else:
            row["effective_weight"], row["weighted"] = 0.0, 0.0
    result.lines = rows

    if counted and weight_sum > 0:
        subtotal = sum(row["score"] * row["weight"] / weight_sum for row in counted)
        result.subtotal = _r(subtotal)
        result.total = _r(clamp_score(subtotal + adjustment))
    else:
        result.na_notes.append("No indicator has a value: no total this period." if en
                               else "本期没有任何指标有值，无法计算总分。")
    result.category_scores = _category_scores(rows, en)

    band = ruleset.grade_for(result.total)
    if band is not None:
        result.grade, result.grade_label = band.grade, band.text(locale)
    _calibrate(ruleset, result, calibration, locale)
    if result.total is not None:
        used |= _outcomes(ruleset, result, values, tags, locale)
    used |= _incentive(ruleset, result, employee, values, tags, locale)

    result.variables = {name: values.get(name) for name in sorted(used)}
    for word in sorted(tags):
        if word in ruleset.tag_words:
            result.variables[f"tag:{word}"] = tags[word]
    return result


def _line_plan(ruleset, lines: list[tuple[Line, str]], locale: str) -> tuple[list, list]:
    """The indicators to evaluate, dependencies first, as (code, indicator); and per line: (line, source,
    its indicator or None, its name, its weight when a plain number else None). Worked out once per list
    of lines and locale."""
    key = ("line_plan", id(lines), locale)
    plan = ruleset.memo.get(key)
    if plan is None or plan[0] is not lines:  # the lines are kept in the memo, so their id stays theirs
        rows = []
        for line, source in lines:
            indicator = ruleset.indicator(line.indicator)
            name = indicator.label(locale) if indicator else line.indicator
            fixed = None if isinstance(line.weight, str) else max(float(line.weight), 0.0)
            rows.append((line, source, indicator, name, fixed))
        needed = [(code, ruleset.indicator(code))
                  for code in indicators_needed(ruleset, [line.indicator for line, _ in lines])]
        plan = ruleset.memo[key] = (lines, (needed, rows))
    return plan[1]


def line_weight(ruleset, line: Line, values, tags, name: str, en: bool, locale: str):
    """(weight ≥ 0, note or "", names read)."""
    if not isinstance(line.weight, str):
        weight = float(line.weight)
        return max(weight, 0.0), "", set()
    try:
        formula = ruleset.formulas.compile(WEIGHT, line.weight)
        weight = formula.evaluate(values, tags)  # the explanation's value; its line is not shown
        names = set(formula.names)
    except FormulaError as exc:
        return 0.0, (f"The weight of “{name}” could not be computed ({exc.code}); it counts as 0." if en
                     else f"“{name}”的权重公式出错（{exc.code}），按 0 计。"), set()
    if weight is None or not math.isfinite(weight) or weight < 0:
        return 0.0, (f"The weight of “{name}” has no valid value; it counts as 0." if en
                     else f"“{name}”的权重公式没有有效值，按 0 计。"), names
    return float(weight), "", names


def _na_note(row: dict, en: bool) -> str:
    name = row["name"]
    if row["error"]:
        return (f"“{name}” could not be computed ({row['error']}); it is left out and its weight is "
                "spread over the other indicators in proportion." if en
                else f"“{name}”计算出错（{row['error']}），未计入总分，其权重已按比例分配给其他指标。")
    return (f"“{name}” has no data this period (N/A); it is left out and its weight is spread over the "
            "other indicators in proportion." if en
            else f"“{name}”本期无数据（N/A），未计入总分，其权重已按比例分配给其他指标。")


def _category_scores(rows: list[dict], en: bool) -> dict[str, float | None]:
    """Per category: the mean of its lines' scores weighted by their effective weights."""
    sums: dict[str, list[float]] = {}
    for row in rows:
        category = row["category"] or "其他"
        key = CATEGORY_EN.get(category, category) if en else category
        acc = sums.setdefault(key, [0.0, 0.0])
        if not row["na"] and row["effective_weight"]:
            acc[0] += row["score"] * row["effective_weight"]
            acc[1] += row["effective_weight"]
    return {k: (_r(s / w) if w else None) for k, (s, w) in sums.items()}


def _outcomes(ruleset, result: AppraisalResult, values: Mapping, tags, locale: str) -> set[str]:
    """Apply the outcome rules in order over the variables, the indicators' values and the result's
    ``total``, ``subtotal``, ``adjustment`` and ``grade``: a rule whose condition holds adds its text (a
    bonus rule's with its coefficient) and its detail; a rule whose formula fails adds a note instead.
    Returns the names the rules read (for the snapshot's variables), the result's own left out."""
    rules, reads, conditions_read = _outcome_plan(ruleset)
    # the names the rules read, not a copy of every variable: their closures read nothing else
    scope = {name: values.get(name) for name in reads}
    scope["total"], scope["subtotal"] = result.total, result.subtotal
    scope["adjustment"], scope["grade"] = result.adjustment, result.grade
    used = set(conditions_read)  # every condition that compiles is read, whatever it says
    for index, (rule, condition, coefficient, inputs) in enumerate(rules):
        try:
            condition = formula_or_raise(condition)
            if not condition.truth(scope, tags):
                continue
            if coefficient is None:
                text, detail = rule.text(locale), None
            else:
                coefficient = formula_or_raise(coefficient)
                used |= coefficient.names
                text, detail = _bonus(ruleset, index, rule, coefficient, inputs, scope, tags, locale)
        except FormulaError as exc:
            result.na_notes.append(f"{rule.text(locale)}: {exc.code}")
            continue
        result.outcomes.append(text)
        result.outcome_details.append(
            {"code": rule.code, "action": rule.action, "label": text, "coefficient": None} if detail is None
            else dict(detail))
    return used - {"total", "subtotal", "adjustment", "grade"}


def _outcome_plan(ruleset) -> tuple[tuple, tuple[str, ...], frozenset[str]]:
    """Per outcome rule (rule, its compiled condition, its compiled coefficient: a bonus rule's, else None,
    the (names, tag words) its coefficient reads, sorted), each formula the Formula or the FormulaError
    compiling it raised; every name the compiled ones read, sorted; and the names the compiled conditions
    read. Once per rule set."""
    plan = ruleset.memo.get("outcome_plan")
    if plan is None:
        rules, reads, conditions_read = [], set(), set()
        for rule in ruleset.outcomes:
            condition = compiled_or_error(ruleset.formulas, OUTCOME, expr_text(rule.when))
            coefficient, inputs = None, ((), ())
            if rule.action == "bonus" and rule.coefficient != "":
                coefficient = compiled_or_error(ruleset.formulas, OUTCOME, expr_text(rule.coefficient))
            reads |= names_of(condition) | names_of(coefficient)
            conditions_read |= names_of(condition)
            if isinstance(coefficient, Formula):
                inputs = (tuple(sorted(coefficient.names)), tuple(sorted(coefficient.tag_words)))
            rules.append((rule, condition, coefficient, inputs))
        plan = ruleset.memo["outcome_plan"] = (tuple(rules), tuple(sorted(reads)), frozenset(conditions_read))
    return plan


def _plain_key(locale: str, got: list, tags, words: tuple[str, ...], *extra) -> tuple | None:
    """A key of formula inputs: their values and classes (equal plain values of one class behave alike;
    a zero is kept by its text, 0.0 and -0.0 print differently); None for any other class."""
    got.extend(None if tags is None else tags.get(word, 0) for word in words)
    classes = tuple(map(type, got))
    if not PLAIN_INPUTS.issuperset(classes):
        return None
    if 0 in got:
        got = [repr(x) if x == 0 else x for x in got]
    return (locale, tags is None, tuple(got), classes, *extra)


def _bonus(ruleset, index: int, rule, coefficient, inputs, scope: Mapping, tags,
           locale: str) -> tuple[str, dict]:
    """(text, detail) of bonus rule ``index`` whose condition holds (``inputs``: the names and tag words
    its coefficient reads); raises the FormulaError of its coefficient. The answer is kept by the values
    of those inputs (a grade): a few serve a cycle."""
    key = _plain_key(locale, [scope.get(name) for name in inputs[0]], tags, inputs[1], index)
    kept = ruleset.memo.setdefault("outcome_results", {}) if key is not None else None
    found = None if kept is None else kept.get(key)
    if found is None:
        text = rule.text(locale)
        detail = {"code": rule.code, "action": rule.action, "label": text, "coefficient": None}
        value = coefficient.evaluate(scope, tags)
        if value is not None:
            detail["coefficient"] = round(value, 4)
            text = f"{text} ×{value:.2f}"  # the detail's label stays the rule's
        found = (text, detail)
        if kept is not None and len(kept) < RESULTS_KEPT:
            kept[key] = found
    return found


def _calibrate(ruleset, result: AppraisalResult, calibration: Mapping[str, Any] | None, locale: str) -> None:
    """Apply HR's calibration: a new total (its grade follows unless a grade is given) and/or grade."""
    if not calibration:
        return
    total, grade = calibration.get("total"), calibration.get("grade") or None
    if total is None and grade is None:
        return
    record = {"from_total": result.total, "from_grade": result.grade, "total": None, "grade": grade}
    if total is not None:
        number = norm_number(float(total) if isinstance(total, Decimal) else total)
        if number is None or not 0 <= number <= 100:
            raise ValueError(f"a calibrated total must be a number from 0 to 100, not {total!r}")
        result.total = record["total"] = _r(float(number))
        band = ruleset.grade_for(result.total)
        result.grade, result.grade_label = (band.grade, band.text(locale)) if band else (None, None)
    if grade is not None:
        band = ruleset.band(grade)
        if band is None:
            raise ValueError(f"the rule set has no grade {grade!r}")
        result.grade, result.grade_label = band.grade, band.text(locale)
    result.calibration = record


def _incentive(ruleset, result: AppraisalResult, employee: EmployeeFacts, values: Mapping[str, Any], tags,
               locale: str) -> set[str]:
    """Fill ``result.incentive``; the variables the amount formula reads (for the snapshot). People whose
    inputs to the formula are the same (a bonus base and a coefficient) share the part."""
    incentive, formula, names, words, reads = _incentive_formula(ruleset)
    if incentive is None:
        return set()
    coefficient = None
    if result.total is not None:
        bonus = [d for d in result.outcome_details if d["action"] == "bonus"]
        coefficient = bonus[0]["coefficient"] if bonus else 0.0
    key = None
    if formula is not None:
        base = None if employee.bonus_base is None else float(employee.bonus_base)  # what the scope holds
        own = {"bonus_base": base, "coefficient": coefficient, "total": result.total, "grade": result.grade}
        pooled = incentive.pool_for(employee.station_code) is not None  # the part names a pool
        key = _plain_key(locale, [own[name] if name in own else values.get(name) for name in names], tags,
                         words, employee.station_code if pooled else None, result.total is None, base is None)
    kept = ruleset.memo.setdefault("incentive_results", {}) if key is not None else None
    part = None if kept is None else kept.get(key)
    if part is None:
        part = incentive_part(
            incentive, ruleset.formulas, values=values, tags=tags, bonus_base=employee.bonus_base,
            coefficient=coefficient, total=result.total, grade=result.grade,
            station_code=employee.station_code, locale=locale)
        if kept is not None and len(kept) < RESULTS_KEPT:
            kept[key] = part
    result.incentive = {k: dict(v) if isinstance(v, dict) else v for k, v in part.items()}
    return set(reads)


def _incentive_formula(ruleset) -> tuple:
    """(the incentive or None, its compiled amount formula or None when it does not compile, the names
    it reads sorted, its tag words sorted, the variables it reads besides its own four), once per rule
    set."""
    found = ruleset.memo.get("incentive_formula")
    if found is None:
        incentive, formula = ruleset.incentive, None
        if incentive is not None:
            try:
                formula = ruleset.formulas.compile(INCENTIVE, incentive.formula_text)
            except FormulaError:
                formula = None
        if formula is None:
            found = (incentive, None, (), (), frozenset())
        else:
            found = (incentive, formula, tuple(sorted(formula.names)), tuple(sorted(formula.tag_words)),
                     formula.names - {"bonus_base", "coefficient", "total", "grade"})
        ruleset.memo["incentive_formula"] = found
    return found
