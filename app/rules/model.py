"""The rule set's vocabulary: the allowed words, which file holds what, a Problem, and the scalars.

The items themselves are in ``items.py``, the field-by-field reading of a TOML table in ``reader.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

CATEGORIES = ("服务质量", "工作效率", "成本控制", "SWOT自定义", "其他")
CATEGORY_EN = {
    "服务质量": "Service quality", "工作效率": "Efficiency", "成本控制": "Cost control",
    "SWOT自定义": "SWOT custom", "其他": "Other",
}
KINDS = ("formula", "manual")
DIRECTIONS = ("higher", "lower")
SEGMENTS = ("enterprise", "consumer", "mixed")
SWOT_KINDS = ("S", "W", "O", "T")
ACTIONS = ("bonus", "training", "promotion", "improvement_plan")
NA = "N/A"

# Which file holds which kind of item.
FILES = {
    "indicator": "indicators.toml",
    "template": "templates.toml",
    "grade": "grades.toml",
    "outcome": "grades.toml",
    "swot": "swot.toml",
}
RULE_FILES = ("indicators.toml", "templates.toml", "grades.toml", "swot.toml")
# The rule set may carry its own approval workflow (kept verbatim among its extras).
WORKFLOW_FILE = "workflow.toml"
# The distribution policy and the incentives (kept verbatim among the extras, read by policy.py).
POLICY_FILE = "policy.toml"

Expr = int | float | str  # a number, or the text of a formula ("" = none)

_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule set: where (file, item, field), what (code) and why (zh/en)."""

    file: str
    item: str
    field: str
    code: str
    message_zh: str
    message_en: str
    position: int | None = None
    severity: str = "error"  # or "warning": reported, but loading and publishing go on
    suggestions: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def message(self, locale: str | None = "zh_CN") -> str:
        return self.message_en if (locale or "").startswith("en") else self.message_zh

    def to_dict(self, locale: str | None = "zh_CN") -> dict:
        return {
            "file": self.file, "item": self.item, "field": self.field, "code": self.code,
            "message": self.message(locale), "position": self.position,
            "severity": self.severity, "suggestions": list(self.suggestions),
        }

    def render(self, locale: str | None = "zh_CN") -> str:
        where = f"{self.file}: {self.item}" + (f" [{self.field}]" if self.field else "")
        at = f" @{self.position}" if self.position is not None else ""
        return f"{where}: {self.code}{at} {self.message(locale)}"


def has_errors(problems) -> bool:
    return any(p.is_error for p in problems)


# ---------------------------------------------------------------------------------------------
# normalising scalars


def norm_number(value: Any) -> int | float | None:
    """A finite number with integral floats as ints (so 90.0 and 90 dump alike); None if not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def norm_expr(value: Any) -> Expr | None:
    """A number or formula text; formula text that is just a number becomes that number."""
    number = norm_number(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER_TEXT.fullmatch(text):
        return norm_number(float(text)) if any(c in text for c in ".") else int(text)
    return text


def expr_text(value: Expr) -> str:
    """Formula text of an expression field ("" when empty)."""
    if isinstance(value, str):
        return value
    return repr(value)
