"""Explain: the trace of an evaluation and the one line a screen or the PDF prints."""

from __future__ import annotations

import math
import pickle
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import TraceStep, builtin_catalogue, compile_formula, format_value
from app.engine.explain import line_template, render_pieces, render_template
from tests.engine.support import CATALOGUE, VALUES

BUILTIN = builtin_catalogue()


def test_the_line_of_the_spec():
    formula = compile_formula("一次修复率 * 100", BUILTIN)
    assert formula.describe({"first_fix_rate": 0.92}) == "一次修复率 0.92 × 100 = 92"
    assert formula.explain_text({"first_fix_rate": 0.92}, locale="en") == (92.0, "一次修复率 0.92 × 100 = 92")


def test_line_symbols_and_na():
    formula = compile_formula("COALESCE(回访率, 0) / 工单数 ** 2 // 1", BUILTIN)
    assert formula.describe({"orders": 2}) == "COALESCE(回访率 N/A, 0) ÷ 工单数 2 ^ 2 // 1 = 0"
    formula = compile_formula("工单数 > 5 and 客户满意度 >= 4", BUILTIN)
    assert formula.describe({"orders": 6, "satisfaction": 4.5}) == "工单数 6 > 5 and 客户满意度 4.5 >= 4 = 1"
    assert formula.describe({"orders": 6}) == "工单数 6 > 5 and 客户满意度 N/A >= 4 = N/A"


def test_line_shows_tags_and_text():
    formula = compile_formula("TAGGED_RATE('新技术') * 100", BUILTIN)
    assert formula.describe({"orders": 4}, {"新技术": 1}) == "TAGGED_RATE('新技术') 0.25 × 100 = 25"
    formula = compile_formula("IF(grade == 'A', 1.2, 1)", CATALOGUE)
    assert formula.describe({"grade": "A"}) == "IF(grade \"A\" == 'A', 1.2, 1) = 1.2"


def test_trace_in_evaluation_order_without_the_branch_not_taken():
    formula = compile_formula("IF(客户满意度 >= 4.5, 100, PIECEWISE(客户满意度, 3, 0, 4.5, 100))", BUILTIN)
    value, trace = formula.explain({"satisfaction": 4.0})
    assert round(value, 6) == 66.666667
    assert [step.source for step in trace] == [
        "客户满意度", "客户满意度 >= 4.5", "客户满意度", "PIECEWISE(客户满意度, 3, 0, 4.5, 100)",
        "IF(客户满意度 >= 4.5, 100, PIECEWISE(客户满意度, 3, 0, 4.5, 100))",
    ]
    assert trace[1].value is False and trace[-1].value == value
    assert trace[0].start == 3 and trace[0].end == 8


def test_trace_keeps_what_the_user_typed():
    formula = compile_formula("（工单数＋1）÷２", BUILTIN)
    _, trace = formula.explain({"orders": 3})
    assert [(s.source, s.value) for s in trace] == [("工单数", 3.0), ("工单数＋1", 4.0),
                                                    ("（工单数＋1）÷２", 2.0)]


def test_constant_formula_has_one_step():
    value, trace = compile_formula("100 / 4", BUILTIN).explain({})
    assert value == 25 and trace == [TraceStep("100 / 4", 25.0, 0, 7)]
    assert trace[0].to_dict() == {"source": "100 / 4", "value": 25.0}


def test_explain_agrees_with_evaluate():
    formula = compile_formula("ROUND(COALESCE(x, z, 1) * y / 7, 2) + TAGGED('新技术')", CATALOGUE)
    value, trace = formula.explain(VALUES, {"新技术": 2})
    assert value == formula.evaluate(VALUES, {"新技术": 2}) == trace[-1].value


def test_format_value():
    assert [format_value(v) for v in (None, True, False, 92.0, 0.92, 1 / 3, 0.001234, -0.0, "A")] == [
        "N/A", "是", "否", "92", "0.92", "0.3333", "0.00123", "0", '"A"']
    assert format_value(True, "en") == "true"


def test_truth_for_guards():
    formula = compile_formula("total >= 95 or total < 60 or ABS(adjustment) > 5",
                              CATALOGUE.with_names(["total", "adjustment"]))
    assert formula.truth({"total": 96, "adjustment": 0})
    assert not formula.truth({"total": 80, "adjustment": 0})
    assert formula.truth({"total": 80, "adjustment": -6})
    assert not formula.truth({"total": None, "adjustment": None})
    assert not formula.truth({})


def test_names_and_tag_words():
    formula = compile_formula("一次修复率 + first_fix_rate + 站点回访率 + TAGGED_RATE('新技术') + "
                              "TAGGED('a')", BUILTIN)
    assert formula.names == {"first_fix_rate", "station_survey_rate", "orders"}
    assert formula.tag_words == {"新技术", "a"}
    assert formula.source.startswith("一次修复率")


def test_formula_pickles_and_is_shared_between_threads():
    formula = pickle.loads(pickle.dumps(compile_formula("PIECEWISE(x, 0, 0, 10, 100) + y", CATALOGUE)))
    results = []

    def work(i):
        results.append(all(formula.evaluate({"x": i, "y": 1}) == i * 10 + 1 for _ in range(200)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8


# -- the line made from precomputed pieces is the line render_pieces makes --------------------------------
_PIECE = st.text(alphabet=" \t\n\u3000ab(),+÷×'\"一率", max_size=8)
_VALUE = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-10**17, 10**17), st.text(alphabet=" \ta\u3000b", max_size=4))


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECE, min_size=1, max_size=5).flatmap(
    lambda pieces: st.tuples(st.just(tuple(pieces)), st.lists(_VALUE, min_size=len(pieces) - 1,
                                                              max_size=len(pieces) - 1))),
       _VALUE, st.sampled_from(["zh_CN", "en"]))
def test_template_line_is_the_rendered_line(pieces_values, result, locale):
    pieces, values = pieces_values
    assert render_template(line_template(pieces), pieces, values, result, locale) == render_pieces(
        pieces, values, result, locale)


def test_format_value_of_floats_as_before():
    def general(number):  # the general branch, which the float fast path must equal
        if not math.isfinite(number):
            return str(number)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        if abs(number) >= 0.01:
            return f"{number:.4f}".rstrip("0").rstrip(".")
        return f"{number:.3g}"
    for number in (0.0, -0.0, 1.0, -1.0, 0.01, -0.01, 0.00999, 1e15, -1e15, 1e15 - 1, 3e16, 1e300, 0.125,
                   1 / 3, -2.5e-7, math.inf, -math.inf, math.nan, 92.00004, 99.99999):
        assert format_value(number) == general(number), number


def test_lines_of_typed_spaces_and_english_names():
    formula = compile_formula("  一次修复率   *  100 +\n 工单数 ", BUILTIN)
    values = {"first_fix_rate": 0.5, "orders": 3.0}
    assert formula.describe(values) == "一次修复率 0.5 × 100 + 工单数 3 = 53"
    assert formula.explain_text(values, locale="en", labels={"first_fix_rate": "First-time fix rate"}) == (
        53.0, "First-time fix rate 0.5 × 100 + 工单数 3 = 53")
