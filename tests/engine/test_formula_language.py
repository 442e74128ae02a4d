"""One line per rule of the language: t(formula, expected value). None is N/A.

Each line runs three ways (compiled closures, traced closures, simpleeval reference) and they must agree.
Test names: x=2, y=3, w=0, z=N/A, n=-4, grade="A" (text); 一次修复率=0.92, 工单数=10, 客户满意度=4;
tags: 新技术=3.
"""

from __future__ import annotations

import math

import pytest

from tests.engine.support import run


def t(text, expected):
    return pytest.param(text, expected, id=text[:60])


ARITHMETIC = [
    t("1 + 1", 2), t("5 - 7", -2), t("2 * 3", 6), t("7 / 2", 3.5), t("7 // 2", 3), t("-7 // 2", -4),
    t("7 % 3", 1), t("-7 % 3", 2), t("2 ** 10", 1024), t("2 ** -1", 0.5), t("n ** 2", 16), t("n ** 3", -64),
    t("-x", -2), t("+x", 2), t("--x", 2), t("x + y * 2", 8), t("(x + y) * 2", 10), t("x ** 2 ** 2", 16),
    t("-x ** 2", -4), t("x / y", 2 / 3), t("y // x", 1), t("y % x", 1), t("100 - x", 98), t("x - 100", -98),
    t("x * 100", 200), t("100 * x", 200), t("x / 4", 0.5), t("4 / x", 2), t("0.1 + 0.2", 0.1 + 0.2),
    t("1_000 + 0x10", 1016), t("1e3", 1000), t("1e15", 1e15), t("-1e15", -1e15), t("big + 0", 1e15),
    t("0 ** 0", 1), t("0 ** 2", 0), t("x ** 0.5", math.sqrt(2)), t("2 ** 49.5", 2 ** 49.5),
]

COMPARISONS_AND_BOOLEANS = [
    t("1 < 2", 1), t("2 <= 2", 1), t("3 > 4", 0), t("3 >= 4", 0), t("1 == 1", 1), t("1 != 1", 0),
    t("1 < x < 3", 1), t("1 < x < 2", 0), t("4 > y >= x > 1", 1), t("x == 2.0", 1),
    t("True + True", 2), t("(x > 1) * 100", 100), t("(x > 5) * 100", 0), t("TRUE", 1), t("false", 0),
    t("True", 1), t("not 0", 1), t("not x", 0), t("not not x", 1),
]

LOGIC = [
    t("x and y", 1), t("x and 0", 0), t("0 or 0", 0), t("0 or y", 1), t("x > 1 and y > 1", 1),
    t("AND(1, 1, 0)", 0), t("AND(1, 1)", 1), t("OR(0, 0, 1)", 1), t("OR(0, 0)", 0), t("NOT(1)", 0),
    t("NOT(0)", 1), t("and(1, 1)", 1), t("or(0, 1)", 1), t("not(0)", 1), t("x > 1 and(y > 1)", 1),
    t("x or(0)", 1), t("1 + and(1, 1)", 2), t("Not(x)", 0), t("not (x) + 1", 1),
]

# Three-valued logic: a definite answer wins over N/A, otherwise N/A.
NA_LOGIC = [
    t("z and 0", 0), t("z and 1", None), t("0 and z", 0), t("1 and z", None), t("z or 1", 1),
    t("z or 0", None), t("1 or z", 1), t("not z", None), t("AND(z, 0)", 0), t("AND(z, 1)", None),
    t("OR(z, 1)", 1), t("OR(z, 0)", None), t("NOT(z)", None), t("z > 1 or x > 1", 1),
]

# Only what is needed is computed: no division by w = 0 happens here.
SHORT_CIRCUIT = [
    t("0 and 1 / w", 0), t("1 or 1 / w", 1), t("AND(0, 1 / w)", 0), t("OR(1, 1 / w)", 1),
    t("IF(1, 5, 1 / w)", 5), t("IF(0, 1 / w, 6)", 6), t("5 if 1 else 1 / w", 5), t("1 / w if 0 else 6", 6),
    t("1 > 2 > 1 / w", 0), t("IF(z, 1 / w, 1 / w)", None),
]

CONDITIONALS = [
    t("IF(x > 1, 10, 20)", 10), t("if(x > 5, 10, 20)", 20), t("If(x > 5, 10)", None), t("IF(x > 1, 10)", 10),
    t("IF(z, 1, 2)", None), t("IF(z > 1, 1, 2)", None), t("10 if x > 1 else 20", 10),
    t("10 if z else 20", None), t("IF(ISNA(z), 0, z)", 0), t("IF(ISNA(x), 0, x)", 2),
    t("if(x > 1, if(y > 5, 1, 2), 3)", 2), t("IF(x, 1, 2) + if(0, 1, 2)", 3), t("x if(1) else(2)", 2),
]

NA_ARITHMETIC = [
    t("z + 1", None), t("1 + z", None), t("z * 0", None), t("z - z", None), t("z / w", None),
    t("w / z", None), t("z ** 0", None), t("z // 2", None), t("z % 2", None), t("-z", None), t("+z", None),
    t("z > 1", None), t("1 < z", None), t("z == z", None), t("z != 1", None), t("z == 'A'", None),
    t("1 < z < 3", None), t("0 > 1 > z", 0), t("ABS(z)", None), t("ROUND(z, 1)", None),
    t("ROUND(1.5, z)", None), t("CLAMP(z, 0, 1)", None), t("CLAMP(1, z, 2)", None), t("ISNA(z + 1)", 1),
]

FUNCTIONS = [
    t("MIN(3, 1, 2)", 1), t("MAX(3, 1, 2)", 3), t("MIN(5)", 5), t("MAX(3, z, 5)", 5), t("MIN(z, 4)", 4),
    t("MAX(z, z)", None), t("SUM(1, 2, 3)", 6), t("SUM(1, 2, z)", 3), t("SUM(z)", None), t("AVG(1, 2, 6)", 3),
    t("AVG(1, z, 3)", 2), t("AVG(z, z)", None), t("MAX(x > 1, 0)", 1), t("max(1, 2)", 2), t("Max(1, 2)", 2),
    t("ROUND(2.5)", 3), t("ROUND(-2.5)", -3), t("ROUND(0.5)", 1), t("ROUND(2.675, 2)", 2.68),
    t("ROUND(1.005, 2)", 1.01), t("ROUND(1234.5, -2)", 1200), t("ROUND(-1250, -2)", -1300),
    t("ROUND(0.125, 2)", 0.13), t("ROUND(1.26, 1.9)", 1.3), t("ROUND(x / 3, 4)", 0.6667),
    t("ROUND(x, 99)", 2),
    t("ABS(-3)", 3), t("ABS(x - y)", 1), t("CLAMP(5, 0, 3)", 3), t("CLAMP(-1, 0, 3)", 0),
    t("CLAMP(2, 0, 3)", 2),
    t("CLAMP(5, 3, 0)", 0), t("COALESCE(z, 7)", 7), t("COALESCE(x, 7)", 2), t("COALESCE(z, z)", None),
    t("COALESCE(z, z, 3)", 3), t("COALESCE(z)", None), t("coalesce(z, x)", 2), t("ISNA(z)", 1),
    t("ISNA(x)", 0),
    t("isna(w)", 0),
]

PIECEWISE_AND_BAND = [
    t("PIECEWISE(5, 0, 0, 10, 100)", 50), t("PIECEWISE(-1, 0, 0, 10, 100)", 0),
    t("PIECEWISE(11, 0, 0, 10, 100)", 100),
    t("PIECEWISE(x, 0, 100, 4, 0)", 50), t("PIECEWISE(x, 1, 10)", 10), t("PIECEWISE(z, 0, 0, 1, 1)", None),
    t("PIECEWISE(x, 0, 0, y, 30)", 20), t("PIECEWISE(x, 0, z, 1, 1)", None),
    t("PIECEWISE(客户满意度, 3, 0, 4, 60, 4.5, 90, 5, 100)", 60),
    t("PIECEWISE(4.25, 3, 0, 4, 60, 4.5, 90)", 75),
    t("PIECEWISE(x, 0, 0, 1, 10, 3, 30, 5, 0)", 20), t("PIECEWISE(y, 0, 0, 1, 10, 3, 30, 5, 0)", 30),
    t("BAND(95, 90, 100, 80, 80, 60, 60)", 100), t("BAND(85, 90, 100, 80, 80, 60, 60)", 80),
    t("BAND(80, 90, 100, 80, 80, 60, 60)", 80), t("BAND(50, 90, 100, 80, 80, 60, 60)", 0),
    t("BAND(50, 90, 100, 60, 60, 10)", 10), t("BAND(95, 60, 60, 90, 100)", 100), t("BAND(z, 1, 1)", None),
    t("BAND(x, 1, 10, z, 20)", None), t("BAND(x, 1, 10, y, 20)", 10), t("band(y, 1, 10, y, 20)", 20),
]

TAGS_AND_TEXT = [
    t("TAGGED('新技术')", 3), t('TAGGED("无此标签")', 0), t("TAGGED_RATE('新技术')", 0.3),
    t("tagged('增值服务')", 0), t("TAGGED_RATE(“新技术”) * 100", 30),
    t("grade == 'A'", 1), t("grade != 'A'", 0), t("'A' == grade", 1), t("grade == “A”", 1),
    t("grade == ‘A’", 1), t("IF(grade == 'B', 1, 2)", 2), t("x == 'A'", 0), t("'A' == 'A'", 1),
    t("grade == 'A' == grade", 1), t("grade == '（A）'", 0),
]

FULL_WIDTH_AND_NAMES = [
    t("（1＋2）×3", 9), t("６÷２", 3), t("MAX（1，2）", 2), t("1 － 2", -1), t("x ＞ 1", 1), t("x ＜＝ 2", 1),
    t("ｘ＋1", 3), t("2 − 1", 1), t("x\u3000+\u30001", 3), t("一次修复率 * 100", 92),
    t("first_fix_rate * 100", 92),
    t("FIRST_FIX_RATE*100", 92), t("工单数 / 2", 5), t("客户满意度", 4), t("站点一次修复率", None),
    t("station_first_fix_rate", None), t("1 +\n 2", 3), t("  1", 1), t("\t x \n", 2), t("1 +\r\n 2", 3),
]

ALL = (ARITHMETIC + COMPARISONS_AND_BOOLEANS + LOGIC + NA_LOGIC + SHORT_CIRCUIT + CONDITIONALS + NA_ARITHMETIC
       + FUNCTIONS + PIECEWISE_AND_BAND + TAGS_AND_TEXT + FULL_WIDTH_AND_NAMES)


@pytest.mark.parametrize("text, expected", ALL)
def test_value(text, expected):
    got = run(text)
    if expected is None:
        assert got is None
    else:
        assert isinstance(got, float)
        assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12), (text, got)


def test_results_are_finite_floats_or_none():
    for param in ALL:
        got = run(param.values[0])
        assert got is None or (type(got) is float and math.isfinite(got))


def test_tags_absent_means_na():
    assert run("TAGGED('新技术')", tags=None) is None
    assert run("TAGGED_RATE('新技术')", tags=None) is None
    assert run("COALESCE(TAGGED('新技术'), 0)", tags=None) == 0


def test_tagged_rate_is_na_without_orders():
    assert run("TAGGED_RATE('新技术')", values={"orders": 0}) is None
    assert run("TAGGED_RATE('新技术')", values={"orders": None}) is None
    assert run("TAGGED_RATE('新技术')", values={}) is None


def test_missing_variable_is_na():
    assert run("x + 1", values={}) is None


def test_input_types():
    from decimal import Decimal
    from fractions import Fraction

    assert run("x * 2", values={"x": 3}) == 6
    assert run("x * 2", values={"x": True}) == 2
    assert run("x * 2", values={"x": Decimal("1.5")}) == 3
    assert run("x * 2", values={"x": Fraction(1, 4)}) == 0.5


def test_negative_zero_is_zero():
    value = run("-0.0 * 1")
    assert value == 0 and math.copysign(1, value) == 1
