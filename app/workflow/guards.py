"""Guard formulas: the formula language over the few facts of an appraisal a guard may see.

Only the names below exist for a guard (Frappe merges the whole record into its namespace; we name
exactly what a guard may read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.engine import Catalogue, FormulaError, Variable, compile_formula

# code, Chinese alias, English name, kind
GUARD_VARIABLES = (
    ("total", "总分", "Total score", "number"),
    ("subtotal", "小计", "Score before adjustment", "number"),
    ("adjustment", "调整分", "Adjustment", "number"),
    ("grade", "等级", "Grade", "text"),
    ("version", "版本", "Appraisal version", "number"),
)
_CODES = frozenset(code for code, *_ in GUARD_VARIABLES)


def guard_catalogue():
    """The engine catalogue of guard variables."""
    return Catalogue([
        Variable(code=code, alias=alias, name_en=name_en, kind=kind)
        for code, alias, name_en, kind in GUARD_VARIABLES
    ])


@dataclass(frozen=True)
class Guard:
    text: str
    formula: object  # app.engine.Formula

    def holds(self, values: Mapping[str, float | str | None]) -> bool:
        """True when the guard is a true, non-N/A value; a runtime error counts as false."""
        # the figures as they are when they name exactly the guard variables (an appraisal's, as read)
        inputs = values if values.keys() == _CODES else {code: values.get(code) for code in _CODES}
        try:
            result = self.formula.evaluate(inputs)
        except FormulaError:
            return False
        return result is not None and bool(result)


def compile_guard(text: str) -> tuple[Guard | None, tuple[str, str] | None]:
    """The compiled guard, or None and the error message (zh, en)."""
    try:
        return Guard(text=text, formula=compile_formula(text, guard_catalogue())), None
    except FormulaError as exc:
        return None, (f"条件公式错误：{exc.message('zh_CN')}", f"guard formula error: {exc.message('en')}")
