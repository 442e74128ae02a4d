"""Shortcuts of the engine give what the plain way gives: the line of a formula that is one bare name
(printed without running its closure) and PIECEWISE with a variable point (``target``) evaluated without
the generic call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine import builtin_catalogue, compile_formula
from app.engine.limits import MAX_MAGNITUDE
from tests.engine.support import CATALOGUE, outcome, run

BUILTIN = builtin_catalogue()
ENGLISH = {"first_fix_rate": "First-time fix rate"}
ODD_VALUES = [0.92, 0.0, -0.0, 7.0, 1e15, 1e15 + 0.5, -1e16, MAX_MAGNITUDE, -MAX_MAGNITUDE, MAX_MAGNITUDE * 2,
              1e-9, 0.005, 2.675, 123456789.125, None, 3, 0, True, False, "0.5", " a  b ", "",
              Decimal("0.50"), float("nan"), float("inf"), 10 ** 20]


def plain_twin(source: str):
    """The same formula with its bare-name shortcut turned off: every line goes through evaluate and
    render_template."""
    twin = compile_formula(source, BUILTIN)
    twin._bare = None
    return twin


@pytest.mark.parametrize("source", ["一次修复率", "  一次修复率 ", "first_fix_rate"])
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
@pytest.mark.parametrize(("locale", "labels"), [("zh_CN", None), ("en", ENGLISH), ("en", None)])
def test_a_bare_names_line_is_the_rendered_line(source, value, locale, labels):
    formula, twin = compile_formula(source, BUILTIN), plain_twin(source)
    assert formula._bare == "first_fix_rate"  # the shortcut is there to be tested
    values = {"first_fix_rate": value, "orders": 3.0}
    for result in (True, False):
        fast = outcome(lambda r=result: formula.explain_text(values, None, locale, labels, result=r))
        plain = outcome(lambda r=result: twin.explain_text(values, None, locale, labels, result=r))
        assert repr(fast) == repr(plain), (value, result)  # repr: 0.0 and -0.0 differ
    line = outcome(lambda: twin.explain_text(values, None, locale, labels))
    if line[0] == "ok":
        without = formula.explain_text(values, None, locale, labels, result=False)[1]
        assert without == line[1][1].rsplit(" = ", 1)[0]
        assert " = " not in without


def test_a_bare_names_line_in_english_uses_the_label():
    formula = compile_formula("一次修复率", BUILTIN)
    assert formula.explain_text({"first_fix_rate": 0.74358974359}, None, "en", ENGLISH) == (
        0.74358974359, "First-time fix rate 0.7436 = 0.7436")
    without = formula.explain_text({"first_fix_rate": -0.0}, None, "zh_CN", result=False)
    assert without == (0.0, "一次修复率 0")
    assert repr(formula.explain_text({"first_fix_rate": -0.0})[0]) == "0.0"  # as evaluate gives it


def test_only_a_bare_numeric_name_takes_the_shortcut():
    assert compile_formula("一次修复率 * 1", BUILTIN)._bare is None
    assert compile_formula("x", CATALOGUE)._bare == "x"
    assert compile_formula("grade == 'A'", CATALOGUE)._bare is None
    assert compile_formula("3", BUILTIN)._bare is None


PIECEWISE_WITH_VARIABLE_POINTS = [
    "PIECEWISE(x, 0.6, 0, y, 90, 10, 100)",  # x=2 between 0.6 and y=3
    "PIECEWISE(n, 0.6, 0, y, 90, 10, 100)",  # below the first point
    "PIECEWISE(big, 0.6, 0, y, 90, 10, 100)",  # beyond the last
    "PIECEWISE(x, 0.6, 0, z, 90, 10, 100)",  # a point N/A
    "PIECEWISE(x, 0.6, z, y, 90)",  # a score N/A
    "PIECEWISE(z, 0.6, 0, w, 90, 10, 100)",  # x N/A with points out of order: N/A, no error
    "PIECEWISE(x, 0.6, 0, w, 90, 10, 100)",  # out of order: an error
    "PIECEWISE(x, 0.6, 0, x, 90, 2, 100)",  # equal points: an error
    "PIECEWISE(x, 0.6, 0, 1 / w, 90)",  # a point that fails: its error
    "PIECEWISE(1 / w, 0.6, 0, y, 90)",  # x fails first
    "PIECEWISE(x, 0.6, 0, y, 1 / w)",  # a score that fails
    "PIECEWISE(x, y, 0, x + y, 50, 100, x)",  # several variable points
    "PIECEWISE(x, y > 2, 0, 5, 100)",  # a comparison as a point (True)
    "PIECEWISE(x, y, 0)",  # one point
    "PIECEWISE(x, 0.6, 0, s, 90)",  # a text where a number must stand
    "PIECEWISE(x, 0.6, 0, y, 90, 10, 100) * 2 - PIECEWISE(x, 0, y, 5, 0)",
]


@pytest.mark.parametrize("text", PIECEWISE_WITH_VARIABLE_POINTS)
def test_piecewise_with_a_variable_point_agrees_with_the_reference(text):
    # run() compares the compiled closures, the traced ones (the generic call) and the simpleeval reference
    try:
        run(text)
    except Exception as exc:  # noqa: BLE001 - the three agreed on the error; only FormulaError may leave
        assert type(exc).__name__ == "FormulaError", text


@pytest.mark.parametrize("text", [t for t in PIECEWISE_WITH_VARIABLE_POINTS if "s," not in t])
@pytest.mark.parametrize("y", [3.0, -0.0, 0.6, 10.0, 1e15, None, True])
def test_piecewise_with_a_variable_point_fails_where_the_generic_call_fails(text, y):
    """Same value or same error code and position as the traced closures (which take the generic call)."""
    formula = compile_formula(text, CATALOGUE)
    values = {"x": 2.0, "y": y, "w": 0.0, "z": None, "n": -4.0, "big": 1e15}

    def fast():
        return formula.evaluate(values)

    def generic():
        return formula.explain(values)[0]

    def where(call):
        try:
            return repr(call())
        except Exception as exc:  # noqa: BLE001 - compared, not swallowed
            return (type(exc).__name__, getattr(exc, "code", None), getattr(exc, "position", None))

    assert where(fast) == where(generic), (text, y)
