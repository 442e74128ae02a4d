"""A compute's shortcuts give the same results as without them: indicator results shared between people
whose inputs are the same (app/rules/evaluate.evaluate_repeated) and the garbage collector paused for the
compute (app/services/compute.collection_paused), outcome and incentive answers shared between people whose
inputs to the rules are the same (app/rules/appraise)."""

from __future__ import annotations

import dataclasses
import gc
from decimal import Decimal

import pytest

import app.rules.appraise as appraise_module
import app.rules.evaluate as evaluate
from app.rules import EmployeeFacts, load_dir
from app.rules.evaluate import evaluate_indicator, evaluate_repeated
from app.services.compute import collection_paused
from app.services.snapshot import canonical_json
from tests.factories import RULES_DIR

TECH = EmployeeFacts("EMP1", "张伟", "维修技师", "S01", "北京朝阳服务站", "consumer")


@pytest.fixture
def ruleset():
    """A rule set of its own for each test: what is kept lives in its memo."""
    loaded, problems = load_dir(RULES_DIR)
    assert not problems
    return loaded


def shown(ev) -> str:
    """Everything of a result that reaches a snapshot, as text (so that 0.0 and -0.0 differ)."""
    return repr((ev.value, ev.target, ev.score, ev.error and ev.error.code, ev.error_field, ev.value_text,
                 ev.score_text, sorted(ev.names), ev.explain("zh_CN"), ev.explain("en"), ev.na))


def test_equal_inputs_share_the_result_evaluated_first(ruleset):
    indicator = ruleset.indicator("kpi_first_fix")
    first = evaluate_repeated(ruleset, indicator, {"first_fix_rate": 0.9}, {}, "zh_CN")
    # a name the indicator does not read changes nothing
    again = evaluate_repeated(ruleset, indicator, {"first_fix_rate": 0.9, "orders": 12.0}, {}, "zh_CN")
    assert again is first
    assert shown(first) == shown(evaluate_indicator(ruleset, indicator, {"first_fix_rate": 0.9}, {}, "zh_CN"))
    other = evaluate_repeated(ruleset, indicator, {"first_fix_rate": 0.8}, {}, "zh_CN")
    assert other is not first and other.value == 0.8
    english = evaluate_repeated(ruleset, indicator, {"first_fix_rate": 0.9}, {}, "en")
    assert english is not first
    assert shown(english) == shown(evaluate_indicator(ruleset, indicator, {"first_fix_rate": 0.9}, {}, "en"))


@pytest.mark.parametrize(("a", "b"),
                         [(0.0, -0.0), (-0.0, 0), (1, 1.0), (True, 1.0), (1, True), (None, "0.5")])
def test_inputs_equal_to_python_but_not_alike_are_kept_apart(ruleset, a, b):
    indicator = ruleset.indicator("kpi_first_fix")
    got_a = evaluate_repeated(ruleset, indicator, {"first_fix_rate": a}, {}, "zh_CN")
    got_b = evaluate_repeated(ruleset, indicator, {"first_fix_rate": b}, {}, "zh_CN")
    assert got_a is not got_b
    assert shown(got_a) == shown(evaluate_indicator(ruleset, indicator, {"first_fix_rate": a}, {}, "zh_CN"))
    assert shown(got_b) == shown(evaluate_indicator(ruleset, indicator, {"first_fix_rate": b}, {}, "zh_CN"))


def test_a_manual_indicator_is_keyed_by_its_entered_value(ruleset):
    indicator = ruleset.indicator("kpi_teamwork")
    entered = evaluate_repeated(ruleset, indicator, {"kpi_teamwork": 85}, {}, "zh_CN")
    assert evaluate_repeated(ruleset, indicator, {"kpi_teamwork": 120}, {}, "zh_CN").score == 100
    assert evaluate_repeated(ruleset, indicator, {"kpi_teamwork": 85}, {}, "zh_CN") is entered
    assert entered.score == 85


def test_what_is_kept_is_bounded_and_rarely_repeating_indicators_are_not_looked_up(ruleset, monkeypatch):
    monkeypatch.setattr(evaluate, "RESULTS_KEPT", 3)
    monkeypatch.setattr(evaluate, "SEEN_ENOUGH", 5)
    indicator = ruleset.indicator("kpi_first_fix")
    for i in range(12):
        values = {"first_fix_rate": 0.5 + i / 100}
        got = evaluate_repeated(ruleset, indicator, values, {}, "zh_CN")
        assert shown(got) == shown(evaluate_indicator(ruleset, indicator, values, {}, "zh_CN"))
    assert len(ruleset.memo["indicator_results"]) == 3
    assert ruleset.memo[("indicator_repeats", "kpi_first_fix")] == [5, 0]  # looked up 5 times, then no more


def test_appraisals_with_shared_results_are_the_same_bytes(ruleset, monkeypatch):
    people = [
        {"first_fix_rate": 0.9, "rework_rate": 0.0, "satisfaction": 4.5, "orders": 40.0},
        {"first_fix_rate": 0.9, "rework_rate": -0.0, "satisfaction": None, "orders": 40.0},
        {"first_fix_rate": 0.9, "rework_rate": 0.0, "satisfaction": 4.5, "orders": 0.0},
        {"first_fix_rate": 0.9, "rework_rate": 0.0, "satisfaction": 4.5, "orders": 40.0},
    ]
    manual = [{}, {"kpi_teamwork": 85}, {"kpi_teamwork": 85.0}, {}]

    def texts(locale):
        return [canonical_json(ruleset.appraise(TECH, variables, {"新技术": 2}, entered, 1.5, year=2024,
                                                locale=locale).to_snapshot_part())
                for variables, entered in zip(people, manual, strict=True)]

    shared = texts("zh_CN") + texts("en")
    assert ruleset.memo["indicator_results"]
    monkeypatch.setattr(appraise_module, "evaluate_repeated", evaluate_indicator)
    assert texts("zh_CN") + texts("en") == shared


def test_shared_outcome_and_incentive_answers_are_the_same_bytes(ruleset):
    """People alike to the outcome rules and the amount formula (grade, total, bonus base, coefficient)
    and people unlike in ways Python calls equal (0.0 and -0.0, a base of 2000 and of 2000.00, none)."""
    bases = [Decimal("2000"), Decimal("2000.00"), None, Decimal("0"), Decimal("2000"), Decimal("3500.5")]
    people = [
        {"first_fix_rate": 0.9, "rework_rate": 0.0, "satisfaction": 4.5, "orders": 40.0},
        {"first_fix_rate": 0.9, "rework_rate": -0.0, "satisfaction": 4.5, "orders": 40.0},
        {"first_fix_rate": 0.7, "rework_rate": 0.3, "satisfaction": 2.0, "orders": 40.0},
        {"first_fix_rate": None, "rework_rate": None, "satisfaction": None, "orders": 0.0},
        {"first_fix_rate": 0.95, "rework_rate": 0.0, "satisfaction": 5.0, "orders": 40.0},
    ]

    def texts(locale, fresh):
        out = []
        for base in bases:
            for variables in people:
                for adjustment in (0.0, 1.5):
                    if fresh:
                        ruleset.memo.pop("outcome_results", None)
                        ruleset.memo.pop("incentive_results", None)
                    person = dataclasses.replace(TECH, bonus_base=base)
                    out.append(canonical_json(ruleset.appraise(
                        person, variables, {"新技术": 2}, {}, adjustment, year=2024, locale=locale,
                    ).to_snapshot_part()))
        return out

    shared = texts("zh_CN", False) + texts("en", False)
    assert len(ruleset.memo["outcome_results"]) < len(shared) and ruleset.memo["incentive_results"]
    assert texts("zh_CN", True) + texts("en", True) == shared
    assert len(set(shared)) > len(shared) // 3  # the people differ


def test_the_collector_is_paused_for_a_compute_and_back_after_it_even_when_it_fails():
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("stop")
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
