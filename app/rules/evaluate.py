"""Evaluate one indicator (value → target → score) with errors as values, and run its test cases."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.engine import Formula, FormulaError

from .formulas import INDICATOR, SCORE, explain_text
from .items import Indicator, TestCase
from .model import NA, expr_text

SCORE_MIN, SCORE_MAX = 0.0, 100.0
# Expected values in test cases are compared to two decimal places.
TEST_TOLERANCE = 0.005


def clamp_score(score: float) -> float:
    return min(SCORE_MAX, max(SCORE_MIN, score))


@dataclass(slots=True)  # made once per person and indicator when inputs do not repeat
class IndicatorEval:
    value: float | None = None
    target: float | None = None
    score: float | None = None
    error: FormulaError | None = None  # the first error, as a value: the line is N/A
    error_field: str = ""  # "value", "target" or "score"
    value_text: str = ""
    score_text: str = ""
    # every name the formulas read (up to the one that failed); shared between results, not to be changed
    names: frozenset[str] = frozenset()

    @property
    def na(self) -> bool:
        return self.value is None or self.score is None

    def explain(self, locale: str = "zh_CN") -> str:
        """One line: how the value and the score were reached, or why there is none."""
        if self.error is not None:
            return f"{self.error.code}: {self.error.message(locale)}"
        if self.value is None:
            parts = [p for p in (self.value_text, self.score_text) if p]
            parts.append("N/A")
            return " → ".join(parts)
        if self.value_text and self.score_text:
            return f"{self.value_text} → {self.score_text}"
        return self.value_text or self.score_text


def evaluate_indicator(ruleset, indicator: Indicator, values: Mapping, tags: Mapping[str, int] | None,
                       locale: str = "zh_CN") -> IndicatorEval:
    """Value, target and score of ``indicator`` over ``values`` (variables, other indicators'
    values, manual values under their indicator codes). Never raises for a formula's fault."""
    result = IndicatorEval()
    plan = _indicator_plan(ruleset, indicator)
    value_formula, target_formula, score_formula, bare, score_reads, read = plan
    tags = tags or {}
    try:
        if indicator.manual:
            result.value = _number(values.get(indicator.code))
            result.names = read[0]
            shown = "N/A" if result.value is None else _fmt(result.value)
            result.value_text = (f"{indicator.label(locale)} (entered) {shown}" if locale.startswith("en")
                                 else f"{indicator.label(locale)}（手工录入）{shown}")
        else:
            result.error_field = "value"
            formula = formula_or_raise(value_formula)
            result.names = read[0]
            # a bare variable's line stops before " = ": "一次修复率 0.92" says it all
            result.value, result.value_text = explain_text(formula, values, tags, locale, result=not bare)
        if target_formula is not None:
            result.error_field = "target"
            formula = formula_or_raise(target_formula)
            result.names = read[1]
            result.target = formula.evaluate(values, tags)  # the score's line shows it
        result.error_field = "score"
        formula = formula_or_raise(score_formula)
        result.names = read[2]
        if result.value is not None:
            # the names the score formula reads (its closures and its line read nothing else), not a copy
            # of every variable
            scope = {name: values.get(name) for name in score_reads}
            scope["value"], scope["target"] = result.value, result.target
            score, result.score_text = explain_text(formula, scope, tags, locale)
            result.score = None if score is None else clamp_score(score)
            if result.score is not None and result.score != score:  # say that it was clamped
                result.score_text += f" → {result.score:g}"
        result.error_field = ""
    except FormulaError as exc:
        result.error = exc
        result.value = result.score = None
    return result


_SCORE_OWN = frozenset({"value", "target"})


def indicator_formulas(ruleset, indicator: Indicator) -> tuple:
    """The indicator's compiled (value, target, score) formulas, each the Formula or the FormulaError
    compiling it raised; value None for a manual indicator, target None without one. Looked up once per
    rule set and indicator, not three compiles and three texts per person."""
    return _indicator_plan(ruleset, indicator)[:3]


def _indicator_plan(ruleset, indicator: Indicator) -> tuple:
    """:func:`indicator_formulas`, then: whether the value formula is a bare name (its line shows no
    `` = value``), the names the score formula reads besides ``value`` and ``target`` (sorted), and the
    names read once the value, the target and the score formula have been read (a result's ``names``
    when a later formula fails or none does)."""
    key = ("indicator_formulas", indicator.code)
    found = ruleset.memo.get(key)
    if found is None or found[0] is not indicator:
        formulas = tuple(
            None if text is None else compiled_or_error(ruleset.formulas, role, text) for role, text in (
                (INDICATOR, None if indicator.manual else expr_text(indicator.value)),
                (INDICATOR, None if indicator.target == "" else expr_text(indicator.target)),
                (SCORE, expr_text(indicator.score))))
        value, score = formulas[0], formulas[2]
        bare = isinstance(value, Formula) and value.source.strip().isidentifier()
        reads = tuple(sorted(score.names - _SCORE_OWN)) if isinstance(score, Formula) else ()
        after_value = frozenset({indicator.code}) if indicator.manual else names_of(formulas[0])
        after_target = after_value | names_of(formulas[1])
        read = (after_value, after_target, after_target | (names_of(formulas[2]) - _SCORE_OWN))
        found = ruleset.memo[key] = (indicator, (*formulas, bare, reads, read))
    return found[1]


def names_of(formula) -> frozenset[str]:
    """The names a compiled formula reads; none for None or the FormulaError compiling it raised."""
    return formula.names if isinstance(formula, Formula) else frozenset()


def compiled_or_error(formulas, role: str, text: str):
    """The compiled formula, or the FormulaError compiling it raised (kept, raised when it is used)."""
    try:
        return formulas.compile(role, text)
    except FormulaError as exc:
        return exc


def formula_or_raise(formula):
    """The formula, or raises the FormulaError that compiling it raised (as Formulas.compile does)."""
    if isinstance(formula, FormulaError):
        raise formula
    return formula


# Results kept per rule set by :func:`evaluate_repeated`: a cycle's 10,000 people give the same inputs
# to an indicator again and again (a station's figures, N/A), and each result is a few hundred bytes.
RESULTS_KEPT = 20_000
# An indicator whose inputs repeated in fewer than 1 in 10 of its first SEEN_ENOUGH evaluations (a
# person's own figures) is evaluated without looking up or keeping anything.
SEEN_ENOUGH = 500
# Inputs of these classes behave alike when equal (0.0 and -0.0 aside, told apart below); others
# (Decimal("1.0") == Decimal("1.00") prints differently) are never looked up.
PLAIN_INPUTS = frozenset({float, int, bool, str, type(None)})


def indicator_inputs(ruleset, indicator: Indicator) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(names, tag words) that :func:`evaluate_indicator` reads for ``indicator``: its result is a
    function of their values (and of the locale). None when one of its formulas does not compile."""
    key = ("indicator_inputs", indicator.code)
    memo = ruleset.memo
    if key in memo:
        return memo[key]
    formulas, names, words = ruleset.formulas, set(), set()
    try:
        if indicator.manual:
            names.add(indicator.code)
        else:
            formula = formulas.compile(INDICATOR, expr_text(indicator.value))
            names |= formula.names
            words |= formula.tag_words
        if indicator.target != "":
            formula = formulas.compile(INDICATOR, expr_text(indicator.target))
            names |= formula.names
            words |= formula.tag_words
        formula = formulas.compile(SCORE, expr_text(indicator.score))
        names |= formula.names - {"value", "target"}
        words |= formula.tag_words
        found = (tuple(sorted(names)), tuple(sorted(words)))
    except FormulaError:
        found = None
    memo[key] = found
    return found


def evaluate_repeated(ruleset, indicator: Indicator, values: Mapping, tags: Mapping[str, int] | None,
                      locale: str = "zh_CN") -> IndicatorEval:
    """:func:`evaluate_indicator`, the result shared with earlier calls that gave the indicator the
    same inputs (the caller must not change it). Equal inputs of one class behave alike, so the key is
    their values and classes; a zero is kept by its text (0.0 and -0.0 print differently)."""
    state = ruleset.memo.get(("indicator_state", indicator.code))
    if state is None:
        state = _repeat_state(ruleset, indicator)
    inputs, counts = state
    if inputs is None or (counts[0] >= SEEN_ENOUGH and counts[1] * 10 < counts[0]):
        return evaluate_indicator(ruleset, indicator, values, tags, locale)  # inputs that hardly repeat
    counts[0] += 1
    tags = tags or {}
    names, words = inputs
    got = tuple(map(values.get, names))
    if words:
        got += tuple(tags.get(word, 0) for word in words)
    classes = tuple(map(type, got))
    if not PLAIN_INPUTS.issuperset(classes):
        return evaluate_indicator(ruleset, indicator, values, tags, locale)
    if 0 in got:
        got = tuple(repr(x) if x == 0 else x for x in got)
    key = (indicator.code, locale, got, classes)
    kept = ruleset.memo.get("indicator_results")
    if kept is None:
        kept = ruleset.memo["indicator_results"] = {}
    result = kept.get(key)
    if result is not None:
        counts[1] += 1
    else:
        result = evaluate_indicator(ruleset, indicator, values, tags, locale)
        if len(kept) < RESULTS_KEPT:
            kept[key] = result
    return result


def _repeat_state(ruleset, indicator: Indicator) -> tuple:
    """(:func:`indicator_inputs`, [times looked up, times found]) of an indicator, one lookup per call of
    :func:`evaluate_repeated`; the counts are also kept under ("indicator_repeats", code)."""
    counts = ruleset.memo.setdefault(("indicator_repeats", indicator.code), [0, 0])
    state = ruleset.memo[("indicator_state", indicator.code)] = (indicator_inputs(ruleset, indicator), counts)
    return state


def _number(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    passed: bool
    got_value: float | None
    got_score: float | None
    error: FormulaError | None
    field: str  # what failed: "value", "score" or the formula field of the error
    case: TestCase


def _matches(expected, got: float | None) -> bool:
    if expected is None:  # not checked
        return True
    if expected == NA:
        return got is None
    return got is not None and math.isclose(got, float(expected), rel_tol=0, abs_tol=TEST_TOLERANCE)


def run_test(ruleset, indicator: Indicator, case: TestCase) -> TestOutcome:
    """Run one test case: the inputs stand for every variable and other indicator the formulas read
    (a name not given is N/A); a manual indicator's own value is given under its code."""
    values = {ruleset.formulas.resolve(name) or name: value for name, value in case.inputs.items()}
    got = evaluate_indicator(ruleset, indicator, values, dict(case.tags))
    if got.error is not None and case.value != NA:
        return TestOutcome(False, None, None, got.error, got.error_field, case)
    if not _matches(case.value, got.value):
        return TestOutcome(False, got.value, got.score, None, "value", case)
    if not _matches(case.score, got.score):
        return TestOutcome(False, got.value, got.score, None, "score", case)
    return TestOutcome(True, got.value, got.score, None, "", case)
