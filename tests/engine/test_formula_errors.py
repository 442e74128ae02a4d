"""One line per error: e(formula, code). Static errors come from compile_formula, runtime ones from evaluate;
the closures, the traced closures and the simpleeval reference must raise the same code."""

from __future__ import annotations

import pickle

import pytest

from app.engine import CODES, RUNTIME_CODES, FormulaError, compile_formula
from tests.engine.support import CATALOGUE, VALUES, code_of


def e(text, code, values=VALUES):
    return pytest.param(text, code, values, id=f"{code}:{text[:50]}")


ERRORS = [
    # SYNTAX: every one with a message saying what is wrong
    e("", "SYNTAX"), e("   ", "SYNTAX"), e("1 +", "SYNTAX"), e("(1", "SYNTAX"), e("1)", "SYNTAX"),
    e("'abc", "SYNTAX"), e("1 2", "SYNTAX"), e("x = 1", "SYNTAX"), e("IF(x = 1, 1, 2)", "SYNTAX"),
    e("x ≥ 1", "SYNTAX"), e("x ≤ 1", "SYNTAX"), e("x ≠ 1", "SYNTAX"), e("MAX(1、2)", "SYNTAX"),
    e("0x1g", "SYNTAX"),
    e("1 $ 2", "SYNTAX"), e("1 # comment", "SYNTAX"), e("1 \\\n + 1", "SYNTAX"), e("x ? 1 : 2", "SYNTAX"),
    e("MAX(1,,2)", "SYNTAX"), e("1 +* 2", "SYNTAX"), e("【1】", "SYNTAX"), e("1。5", "SYNTAX"),
    e("x\x00", "SYNTAX"),
    e("x\u200b+1", "SYNTAX"), e("01", "SYNTAX"), e("(]", "SYNTAX"), e("x if", "SYNTAX"),
    # UNKNOWN_NAME, UNKNOWN_FUNCTION
    e("nope", "UNKNOWN_NAME"), e("一次修复", "UNKNOWN_NAME"), e("x + y2", "UNKNOWN_NAME"),
    e("MAX", "UNKNOWN_NAME"),
    e("None + 1", "FORBIDDEN"), e("FOO(1)", "UNKNOWN_FUNCTION"), e("eval(1)", "UNKNOWN_FUNCTION"),
    e("x(1)", "UNKNOWN_FUNCTION"), e("ifs(1, 2, 3)", "UNKNOWN_FUNCTION"),
    e("一次修复率(1)", "UNKNOWN_FUNCTION"),
    # FORBIDDEN
    e("x.real", "FORBIDDEN"), e("x[0]", "FORBIDDEN"), e("lambda: 1", "FORBIDDEN"), e("[1]", "FORBIDDEN"),
    e("(1, 2)", "FORBIDDEN"), e("{1: 2}", "FORBIDDEN"), e("{1}", "FORBIDDEN"), e("f'{x}'", "FORBIDDEN"),
    e("(y := 1)", "FORBIDDEN"), e("MAX(*x)", "FORBIDDEN"), e("ROUND(x, n=1)", "FORBIDDEN"),
    e("_x", "FORBIDDEN"),
    e("__import__('os')", "FORBIDDEN"), e("'a' + 'b'", "FORBIDDEN"), e("'a' < 'b'", "FORBIDDEN"),
    e("x << 1", "FORBIDDEN"), e("x & 1", "FORBIDDEN"), e("x | 1", "FORBIDDEN"), e("x ^ 1", "FORBIDDEN"),
    e("~x", "FORBIDDEN"), e("x in 1", "FORBIDDEN"), e("x is 1", "FORBIDDEN"), e("x @ y", "FORBIDDEN"),
    e("...", "FORBIDDEN"), e("1j", "FORBIDDEN"), e("b'a'", "FORBIDDEN"), e("MAX(1)(2)", "FORBIDDEN"),
    e("IF('A', 1, 2)", "FORBIDDEN"), e("MAX('A')", "FORBIDDEN"), e("(grade) == 'A' + 1", "FORBIDDEN"),
    e("[x for x in (1,)]", "FORBIDDEN"), e("(yield)", "FORBIDDEN"), e("await x", "FORBIDDEN"),
    # TOO_LONG, TOO_COMPLEX
    e("1+" * 500 + "1", "TOO_LONG"), e("grade == '" + "a" * 101 + "'", "TOO_LONG"),
    e("TAGGED('" + "a" * 101 + "')", "TOO_LONG"), e("-" * 100 + "1", "TOO_COMPLEX"),
    e("+".join(["x"] * 70), "TOO_COMPLEX"), e("MAX(" + ",".join(["1"] * 450) + ")", "TOO_COMPLEX"),
    e("(" * 250 + "1" + ")" * 250, "TOO_COMPLEX"),
    # NUMBER_TOO_BIG: literals and constants when saved, results when evaluated
    e("1e16", "NUMBER_TOO_BIG"), e("10 ** 16", "NUMBER_TOO_BIG"), e("9 ** 9 ** 9", "NUMBER_TOO_BIG"),
    e("1e400", "NUMBER_TOO_BIG"), e("99999999999999999999", "NUMBER_TOO_BIG"),
    e("x * 1e15", "NUMBER_TOO_BIG"),
    e("big + 1", "NUMBER_TOO_BIG"), e("big * big", "NUMBER_TOO_BIG"), e("x ** 100", "NUMBER_TOO_BIG"),
    e("1 / (x * 1e-16)", "NUMBER_TOO_BIG"), e("SUM(big, big)", "NUMBER_TOO_BIG"),
    e("x + 1", "NUMBER_TOO_BIG", {"x": 1e16}), e("x + 1", "NUMBER_TOO_BIG", {"x": 10 ** 400}),
    # DIVIDE_BY_ZERO
    e("1 / 0", "DIVIDE_BY_ZERO"), e("x / 0", "DIVIDE_BY_ZERO"), e("x / w", "DIVIDE_BY_ZERO"),
    e("x // w", "DIVIDE_BY_ZERO"), e("x % w", "DIVIDE_BY_ZERO"), e("w ** -1", "DIVIDE_BY_ZERO"),
    e("1 / (x - 2)", "DIVIDE_BY_ZERO"), e("COALESCE(z, 1 / w)", "DIVIDE_BY_ZERO"),
    e("z + 1 / w", "DIVIDE_BY_ZERO"),
    # TYPE
    e("ROUND()", "TYPE"), e("ROUND(1, 2, 3)", "TYPE"), e("PIECEWISE(x, 1, 2, 3)", "TYPE"), e("IF(1)", "TYPE"),
    e("PIECEWISE(x, 2, 0, 1, 1)", "TYPE"), e("PIECEWISE(x, 1, 0, 1, 1)", "TYPE"), e("TAGGED(x)", "TYPE"),
    e("TAGGED()", "TYPE"), e("grade + 1", "TYPE"), e("grade", "TYPE"), e("x + 1 == 'A'", "TYPE"),
    e("s + 1", "TYPE"), e("s", "TYPE"), e("PIECEWISE(x, y, 0, 1, 1)", "TYPE"), e("CLAMP(1, 2)", "TYPE"),
    e("x + 1", "TYPE", {"x": object()}), e("x + 1", "TYPE", {"x": [1]}), e("x + 1", "TYPE", {"x": b"1"}),
    e("x + 1", "TYPE", {"x": 1j}),
    # NOT_FINITE
    e("(-8) ** 0.5", "NOT_FINITE"), e("n ** 0.5", "NOT_FINITE"),
    e("x + 1", "NOT_FINITE", {"x": float("nan")}),
    e("x + 1", "NOT_FINITE", {"x": float("inf")}),
]


@pytest.mark.parametrize("text, code, values", ERRORS)
def test_error_code(text, code, values):
    assert code_of(text, values) == code


def test_every_code_is_covered():
    covered = {param.values[1] for param in ERRORS} | {"CYCLE"}  # CYCLE: test_formula_graph.py
    assert covered == set(CODES)


@pytest.mark.parametrize("text, code, values", ERRORS)
def test_error_shape(text, code, values):
    try:
        compile_formula(text, CATALOGUE).evaluate(values)
    except FormulaError as exc:
        assert exc.message_zh and exc.message_en and exc.message_zh != exc.message_en
        assert exc.message("zh_CN") == exc.message_zh and exc.message("en") == exc.message_en
        assert exc.position is None or 0 <= exc.position <= len(text)
        assert exc.to_dict("en") == {"code": exc.code, "message": exc.message_en, "position": exc.position,
                                     "suggestions": exc.suggestions}
        assert "syntax error" not in exc.message_en.lower()
        restored = pickle.loads(pickle.dumps(exc))
        assert (restored.code, restored.message_zh,
                restored.position) == (exc.code, exc.message_zh, exc.position)
    else:
        pytest.fail("no error")


def test_static_errors_are_found_when_saved():
    """Everything but a runtime code is raised by compile_formula, before any value is seen."""
    for param in ERRORS:
        text, code, _ = param.values
        if code not in RUNTIME_CODES:
            with pytest.raises(FormulaError):
                compile_formula(text, CATALOGUE)


def p(text, position):
    return pytest.param(text, position, id=text)


@pytest.mark.parametrize("text, position", [
    p("x + nope", 4), p("1 + 一次修复 * 2", 4), p("一次修复率 + nope", 8), p("  nope", 2), p("x ≥ 1", 2),
    p("客户满意度 ≥ 1", 6), p("（x ＋ 1）／ 0", 0), p("x + 1 / w", 4), p("一次修复率 + 1 / w", 8),
    p("x.real", 0),
    p("MAX(1, x.real)", 7), p("IF(x = 1, 1, 2)", 5), p("x + (1", 4), p("1)", 1), p("x + 'a", 4),
    p("一次修复率 + foo(1)", 8), p("x\u200b+1", 1), p("TAGGED(x)", 7), p("1 +", 3),
])
def test_position(text, position):
    try:
        compile_formula(text, CATALOGUE).evaluate(VALUES)
    except FormulaError as exc:
        assert exc.position == position, exc.to_dict()
    else:
        pytest.fail("no error")


@pytest.mark.parametrize("text, suggestion", [
    ("一次修复", "一次修复率"), ("first_fix", "first_fix_rate"), ("satisfacton", "satisfaction"),
    ("客户满意", "客户满意度"), ("修复率", "一次修复率"), ("MX(1, 2)", "MAX"), ("COALESC(x, 1)", "COALESCE"),
    ("PIECWISE(x, 1, 1)", "PIECEWISE"), ("ROUDN(x)", "ROUND"),
])
def test_did_you_mean(text, suggestion):
    with pytest.raises(FormulaError) as info:
        compile_formula(text, CATALOGUE)
    assert info.value.code in ("UNKNOWN_NAME", "UNKNOWN_FUNCTION")
    assert suggestion in info.value.suggestions
    assert len(info.value.suggestions) <= 3
    assert suggestion in info.value.message_zh and suggestion in info.value.message_en


def test_no_suggestion_for_nonsense():
    with pytest.raises(FormulaError) as info:
        compile_formula("qqqqqqqqqq", CATALOGUE)
    assert info.value.suggestions == []


def test_full_width_hint_names_the_character():
    with pytest.raises(FormulaError) as info:
        compile_formula("x ≥ 1", CATALOGUE)
    assert "≥" in info.value.message_zh and ">=" in info.value.message_zh
    with pytest.raises(FormulaError) as info:
        compile_formula("x\u200b+1", CATALOGUE)
    assert "200B" in info.value.message_en


def test_runtime_error_does_not_poison_the_formula():
    formula = compile_formula("x / w", CATALOGUE)
    with pytest.raises(FormulaError):
        formula.evaluate({"x": 1, "w": 0})
    assert formula.evaluate({"x": 1, "w": 4}) == 0.25
