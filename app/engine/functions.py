"""The function library of the formula language: what each function takes and does, for the validator,
the evaluators and the editor's palette. Names are matched case-insensitively (``if``, ``If`` and ``IF``
are the same)."""

from __future__ import annotations

from dataclasses import dataclass

from . import ops


@dataclass(frozen=True)
class FunctionInfo:
    """One function: ``name`` (upper case), call ``signature``, descriptions, and how many arguments it
    takes (``max_args`` None: any number; ``odd``: an odd count, as PIECEWISE's x and pairs)."""

    name: str
    signature: str
    zh: str
    en: str
    min_args: int
    max_args: int | None
    odd: bool = False
    category: str = ""

    def to_dict(self, locale: str | None = "zh_CN") -> dict:
        english = (locale or "").lower().startswith("en")
        return {"name": self.name, "signature": self.signature, "zh": self.zh, "en": self.en,
                "description": self.en if english else self.zh, "category": self.category}

    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            return str(self.min_args)
        if self.max_args is None:
            return f"≥{self.min_args}" + (" (odd)" if self.odd else "")
        return f"{self.min_args}–{self.max_args}"


LOGIC, MATH, LOOKUP, DATA = "logic", "math", "lookup", "data"

_LIBRARY = (
    FunctionInfo("IF", "IF(condition, a, b)",
                 "条件成立取 a，否则取 b（只计算选中的一边；条件为 N/A 时结果为 N/A；省略 b 时为 N/A）",
                 "a when the condition holds, else b (only the chosen side is computed; N/A "
                 "condition gives N/A; "
                 "b omitted gives N/A)", 2, 3, category=LOGIC),
    FunctionInfo("AND", "AND(a, b, …)", "全部成立为真；有一个不成立即为假；否则（有 N/A）为 N/A",
                 "true when all hold; false as soon as one fails; otherwise (some N/A) N/A", 1, None,
                 category=LOGIC),
    FunctionInfo("OR", "OR(a, b, …)", "有一个成立即为真；全部不成立为假；否则（有 N/A）为 N/A",
                 "true as soon as one holds; false when all fail; otherwise (some N/A) N/A", 1, None,
                 category=LOGIC),
    FunctionInfo("NOT", "NOT(a)", "取反；N/A 仍为 N/A", "negation; N/A stays N/A", 1, 1, category=LOGIC),
    FunctionInfo("ISNA", "ISNA(x)", "x 为 N/A（无数据）时为真", "true when x is N/A (no data)", 1, 1,
                 category=LOGIC),
    FunctionInfo("COALESCE", "COALESCE(x, default, …)", "第一个不是 N/A 的值",
                 "the first value that is not N/A",
                 1, None, category=LOGIC),
    FunctionInfo("MIN", "MIN(a, b, …)", "最小值（跳过 N/A，全为 N/A 时为 N/A）",
                 "smallest value (skips N/A; N/A when all are)",
                 1, None, category=MATH),
    FunctionInfo("MAX", "MAX(a, b, …)", "最大值（跳过 N/A，全为 N/A 时为 N/A）",
                 "largest value (skips N/A; N/A when all are)",
                 1, None, category=MATH),
    FunctionInfo("SUM", "SUM(a, b, …)", "求和（跳过 N/A，全为 N/A 时为 N/A）",
                 "sum (skips N/A; N/A when all are)",
                 1, None, category=MATH),
    FunctionInfo("AVG", "AVG(a, b, …)", "平均值（跳过 N/A，全为 N/A 时为 N/A）",
                 "mean (skips N/A; N/A when all are)",
                 1, None, category=MATH),
    FunctionInfo("ROUND", "ROUND(x, n)", "四舍五入到 n 位小数（n 省略为 0，可为负数）",
                 "round half away from zero to n decimals "
                 "(n defaults to 0, may be negative)", 1, 2, category=MATH),
    FunctionInfo("ABS", "ABS(x)", "绝对值", "absolute value", 1, 1, category=MATH),
    FunctionInfo("CLAMP", "CLAMP(x, lo, hi)", "把 x 限制在 lo 与 hi 之间",
                 "x limited to the range lo…hi", 3, 3,
                 category=MATH),
    FunctionInfo("PIECEWISE", "PIECEWISE(x, x1, y1, x2, y2, …)",
                 "按分段点线性插值，两端取端点值（x1 < x2 < …）",
                 "linear interpolation through the points, clamped at both ends (x1 < x2 < …)", 3,
                 None, odd=True,
                 category=LOOKUP),
    FunctionInfo("BAND", "BAND(x, t1, s1, t2, s2, …, default)",
                 "阶梯取值：x 达到的最高门槛 t 对应的 s；一个门槛都没达到时取 default（省略为 0）",
                 "step: the s of the highest threshold t that x reaches; default (0 when "
                 "omitted) below every "
                 "threshold", 3, None, category=LOOKUP),
    FunctionInfo("TAGGED", "TAGGED(\"标签\")", "本人本期带该标签的工单数（无标签数据时为 N/A）",
                 "the employee's orders of the period carrying the tag (N/A without tag data)", 1, 1,
                 category=DATA),
    FunctionInfo("TAGGED_RATE", "TAGGED_RATE(\"标签\")",
                 "带该标签的工单占工单数的比例（工单数为 0 或 N/A 时为 N/A）",
                 "share of the orders carrying the tag (N/A when orders is 0 or N/A)", 1, 1, category=DATA),
)

FUNCTIONS: dict[str, FunctionInfo] = {f.name: f for f in _LIBRARY}

# Functions that see their arguments unevaluated: IF computes one branch, AND/OR stop early.
LAZY = frozenset({"IF", "AND", "OR"})
# Functions whose single argument is a quoted word, never evaluated.
TAG_FUNCTIONS = frozenset({"TAGGED", "TAGGED_RATE"})

# The rest evaluate every argument, left to right, then apply one of these.
EAGER = {
    "NOT": ops.not_, "ISNA": ops.fn_isna, "COALESCE": ops.fn_coalesce, "MIN": ops.fn_min, "MAX": ops.fn_max,
    "SUM": ops.fn_sum, "AVG": ops.fn_avg, "ROUND": ops.fn_round, "ABS": ops.fn_abs, "CLAMP": ops.fn_clamp,
    "PIECEWISE": ops.fn_piecewise, "BAND": ops.fn_band,
}


def lookup(name: str) -> FunctionInfo | None:
    """The function called ``name`` in any case, or None."""
    return FUNCTIONS.get(name.upper()) if name.isascii() else None


def palette(locale: str | None = "zh_CN") -> list[dict]:
    """Every function for the editor's palette."""
    return [f.to_dict(locale) for f in _LIBRARY]
