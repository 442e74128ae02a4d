"""The rule set's formulas, compiled once per role against the names that role may use.

A formula's *role* decides its catalogue (the names it may use):

=========  ============================================================================
indicator  value and target formulas: the built-in variables, other indicators' codes
score      score formulas: as ``indicator``, plus ``value`` (实际值) and ``target`` (目标值)
weight     template and SWOT weights: the built-in variables (the station's included)
outcome    outcome conditions and bonus coefficients: as ``indicator``, plus ``total`` (总分),
           ``subtotal`` (小计), ``adjustment`` (调整分) and ``grade`` (等级, compare with ==)
incentive  the incentive's amount formula (policy.toml): as ``indicator``, plus ``bonus_base``
           (奖金基数), ``coefficient`` (奖金系数), ``total`` (总分) and ``grade`` (等级)
=========  ============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.engine import Catalogue, FormulaError, Variable, builtin_catalogue, compile_formula, dependency_order
from app.engine.catalogue import BUILTIN_VARIABLES, TEXT

INDICATOR, SCORE, WEIGHT, OUTCOME = "indicator", "score", "weight", "outcome"
INCENTIVE = "incentive"
ROLES = (INDICATOR, SCORE, WEIGHT, OUTCOME, INCENTIVE)

SCORE_VARIABLES = (
    Variable("value", "实际值", "Value", "本指标的实际值", "This indicator's value", "rule"),
    Variable("target", "目标值", "Target", "本指标的目标值", "This indicator's target", "rule"),
)
OUTCOME_VARIABLES = (
    Variable("total", "总分", "Total", "调整后的总分（0–100）", "The total after adjustment (0–100)", "rule"),
    Variable("subtotal", "小计", "Subtotal", "调整前的加权得分", "The weighted score before adjustment",
             "rule"),
    Variable("adjustment", "调整分", "Adjustment", "主管调整的分数", "The supervisor's adjustment", "rule"),
    Variable("grade", "等级", "Grade", "等级代码，用 == 比较，如 grade == \"A\"",
             "The grade code; compare with ==, e.g. grade == \"A\"", "rule", TEXT),
)
INCENTIVE_VARIABLES = (
    Variable("bonus_base", "奖金基数", "Bonus base", "员工的奖金基数（元）；没有填写时为 N/A",
             "The employee's bonus base (yuan); N/A when none is recorded", "rule"),
    Variable("coefficient", "奖金系数", "Bonus coefficient",
             "适用的奖金结果规则（bonus）的系数；没有适用的奖金规则时为 0",
             "The coefficient of the bonus outcome rule that applied; 0 when none applied", "rule"),
    OUTCOME_VARIABLES[0],  # total
    OUTCOME_VARIABLES[3],  # grade
)
_RULE_VARIABLES = (*SCORE_VARIABLES, *OUTCOME_VARIABLES, *INCENTIVE_VARIABLES)
RESERVED = frozenset(v.code for v in _RULE_VARIABLES) | frozenset(v.zh for v in _RULE_VARIABLES)


# The built-in metrics that differ from one person to the next (the period's length is everyone's).
PERSONAL_VARIABLES = frozenset(v.code for v in BUILTIN_VARIABLES) - {"period_days"}


def personal_names(names: Iterable[str]) -> list[str]:
    """The personal metrics among a formula's names (a weight should read station variables:
    ``station_first_fix_rate``, not ``first_fix_rate``)."""
    return sorted(set(names) & PERSONAL_VARIABLES)


def role_catalogue(role: str, indicator_codes: Iterable[str] = ()) -> Catalogue:
    """The catalogue of a role for a rule set with these indicator codes."""
    base = builtin_catalogue()
    if role == WEIGHT:
        return base
    with_indicators = base.with_indicators(indicator_codes)
    if role == SCORE:
        return with_indicators.extend(SCORE_VARIABLES)
    if role == OUTCOME:
        return with_indicators.extend(OUTCOME_VARIABLES)
    if role == INCENTIVE:
        return with_indicators.extend(INCENTIVE_VARIABLES)
    return with_indicators


class Formulas:
    """Compiles each (role, text) once; a compile error is kept and raised again, not recomputed."""

    def __init__(self, indicator_codes: Iterable[str]) -> None:
        codes = tuple(indicator_codes)
        self.catalogues = {role: role_catalogue(role, codes) for role in ROLES}
        self._cache: dict[tuple[str, str], object] = {}

    def compile(self, role: str, text: str):
        """The compiled formula, or raises FormulaError."""
        key = (role, text)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = compile_formula(text, self.catalogues[role])
            except FormulaError as exc:
                hit = exc
            self._cache[key] = hit
        if isinstance(hit, FormulaError):
            raise hit
        return hit

    def is_builtin(self, name: str) -> bool:
        """A built-in variable's code or alias (an indicator may not take it as its code)."""
        return name in builtin_catalogue()

    def resolve(self, name: str) -> str | None:
        """The canonical code of a variable or indicator name (code or alias)."""
        return self.catalogues[INDICATOR].resolve(name)

    def names(self) -> list[str]:
        return list(self.catalogues[INDICATOR].codes)


# What an English line calls the variables a formula may have typed in Chinese (or by code).
ENGLISH_NAMES = {v.code: v.en for v in (*builtin_catalogue(), *_RULE_VARIABLES) if v.en}


def explain_text(formula, values: Mapping, tags: Mapping[str, int] | None, locale: str = "zh_CN", *,
                 result: bool = True):
    """(value, one line such as ``一次修复率 0.92 × 100 = 92``; in English the variables by their English
    names, ``First-time fix rate 0.92 × 100 = 92``; ``result=False``: without `` = 92``); raises
    FormulaError."""
    labels = ENGLISH_NAMES if (locale or "").startswith("en") else None
    return formula.explain_text(values, tags, locale, labels, result=result)


def order_indicators(dependencies: Mapping[str, set[str]]) -> list[str]:
    """Indicator codes in evaluation order; FormulaError CYCLE naming the members of a cycle."""
    return dependency_order({code: sorted(deps) for code, deps in dependencies.items()})
