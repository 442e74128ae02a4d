"""Incentives of policy.toml: reading (pools, caps, test cases) and its problems, the amount formula's names,
amounts as Decimal (cents half up, whole yuan, cap, N/A with a reason), the snapshot's "incentive", and HR's
calibration overriding total and grade before outcomes and amounts."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from app.rules import (
    POLICY_FILE,
    EmployeeFacts,
    GradeBand,
    Incentive,
    IncentiveTest,
    Indicator,
    Line,
    OutcomeRule,
    RuleSet,
    Template,
    load_dir,
)
from app.rules.incentive import capped_amount, run_incentive_test, to_money
from app.rules.policy import read_policy_file
from app.rules.pools import allocate, money_text
from tests.factories import RULES_DIR
from tests.rules.rules_support import TECH_S01

POLICY = """
[incentive]
amount = "IF(grade == \\"A\\", 500, 0) + bonus_base * coefficient"
cap = 3000
[[incentive.pool]]
station = "S02"
amount = 20000
[[incentive.test]]
name = "A 级加 500"
inputs = { "奖金基数" = 2000, "奖金系数" = 1.2, grade = "A" }
expected = 2900
"""


def ruleset_with(policy: str | None = POLICY, **changes) -> RuleSet:
    """An indicator scored as its value (orders), grades A ≥ 90, B ≥ 60, D; a bonus from 60 up."""
    base = dict(
        indicators=(Indicator("a", "甲", "服务质量", "value", value="orders"),),
        templates=(Template("t", "方案", positions=("维修技师",), lines=(Line("a", 100),)),),
        grades=(GradeBand("A", "优秀", 90), GradeBand("B", "良好", 60, "Good"), GradeBand("D", "待改进", 0)),
        outcomes=(
            OutcomeRule("bonus", "bonus", "total >= 60", "奖金系数", "IF(total >= 90, 1.2, 1)"),
            OutcomeRule("promotion", "promotion", "total >= 92", "晋升候选"),
            OutcomeRule("training", "training", "grade == \"D\"", "培训"),
        ),
        extras={} if policy is None else {POLICY_FILE: policy},
    )
    base.update(changes)
    return RuleSet(**base)


def person(bonus_base: str | None = "2000", station: str = "S01") -> EmployeeFacts:
    return dataclasses.replace(TECH_S01, station_code=station,
                               bonus_base=None if bonus_base is None else Decimal(bonus_base))


def problems_of(ruleset: RuleSet, stations=None) -> list[tuple[str, str, str]]:
    return [(p.item, p.field, p.code) for p in ruleset.check(stations) if p.file == POLICY_FILE]


# -- reading ---------------------------------------------------------------------------------------------


def test_the_default_incentive_is_the_bonus_base_times_the_coefficient_capped_at_10000():
    ruleset, _ = load_dir(RULES_DIR)
    incentive = ruleset.incentive
    assert incentive.amount == "bonus_base * coefficient" and incentive.pools == {}
    assert incentive.cap == Decimal("10000") and isinstance(incentive.cap, Decimal)
    assert [t.name for t in incentive.tests] == ["B 级拿满基数", "A 级超过封顶", "没有奖金基数"]
    inputs = {"bonus_base": 9000, "coefficient": 1.2, "total": 95, "grade": "A"}
    assert incentive.tests[1] == IncentiveTest("A 级超过封顶", inputs, Decimal("10800"), Decimal("10000"))
    assert incentive.tests[2].inputs["bonus_base"] is None and incentive.tests[2].expected == "N/A"


def test_pools_are_per_station_decimals_and_the_policy_reads_its_own_tables():
    incentive = ruleset_with().incentive
    assert incentive.pools == {"S02": Decimal("20000")} and incentive.pool_for("S01") is None
    assert problems_of(ruleset_with()) == []
    assert ruleset_with().policy is None  # no [distribution]


def test_check_reports_bad_caps_pools_and_test_cases():
    text = """
[incentive]
amount = "bonus_base * coefficient"
cap = -5
colour = 1
[[incentive.pool]]
station = "S01"
amount = 100
[[incentive.pool]]
station = "S01"
amount = 200
[[incentive.pool]]
station = "S02"
amount = -1
[[incentive.pool]]
amount = 10
[[incentive.test]]
name = "没有期望"
inputs = { bonus_base = 1 }
[[incentive.test]]
name = "错的输入"
inputs = { bonus_base = [1] }
expected = "lots"
capped = "x"
"""
    assert problems_of(ruleset_with(text)) == [
        ("incentive", "colour", "UNKNOWN_KEY"),
        ("incentive", "cap", "BAD_VALUE"),  # negative
        ("incentive pool 2", "station", "DUPLICATE"),
        ("incentive pool 3", "amount", "BAD_VALUE"),  # negative
        ("incentive pool 4", "station", "MISSING"),
        ("incentive test 1", "expected", "MISSING"),
        ("incentive test 2", "inputs", "BAD_VALUE"),
        ("incentive test 2", "expected", "BAD_VALUE"),
        ("incentive test 2", "capped", "BAD_VALUE"),
    ]
    incentive = read_policy_file(text).incentive
    assert incentive.cap is None and incentive.pools == {"S01": Decimal("100")}
    assert "不小于 0" in read_policy_file(text).problems[1].message()
    assert "at least 0" in read_policy_file(text).problems[1].message("en")


def test_an_amount_formula_error_has_its_code_position_and_suggestions():
    problems = ruleset_with('[incentive]\namount = "bonus_bse * coefficient"\n').check()
    (problem,) = [p for p in problems if p.file == POLICY_FILE and p.is_error]
    assert (problem.item, problem.field, problem.code, problem.position) == (
        "incentive", "amount", "UNKNOWN_NAME", 0)
    assert "bonus_base" in problem.suggestions
    syntax = [p for p in ruleset_with('[incentive]\namount = "bonus_base * "\n').check() if p.is_error]
    assert [(p.file, p.code) for p in syntax] == [(POLICY_FILE, "SYNTAX")]
    missing = ruleset_with('[incentive]\ncap = 1\n').check()
    assert [(p.field, p.code) for p in missing if p.is_error] == [("amount", "MISSING")]


def test_the_formula_may_use_its_names_in_chinese_station_variables_and_indicators_but_not_subtotal():
    ok = ('[incentive]\namount = "奖金基数 * 奖金系数 * 站点客户满意度 / 5 + IF(等级 == \\"A\\", a, 0)'
          ' + 总分"\n')
    assert [p.code for p in ruleset_with(ok).check() if p.is_error] == []
    bad = ruleset_with('[incentive]\namount = "subtotal * 10"\n').check()
    assert [p.code for p in bad if p.is_error] == ["UNKNOWN_NAME"]
    # an indicator may not take the incentive's names as its code
    taken = ruleset_with(indicators=(Indicator("bonus_base", "基数", "其他", "value", value="orders"),))
    found = [(p.item, p.field, p.code) for p in taken.check()]
    assert ("indicator bonus_base", "code", "NAME_TAKEN") in found


def test_failing_test_cases_and_bad_inputs_are_reported_in_both_languages():
    text = POLICY.replace("expected = 2900", "expected = 2800") + """
[[incentive.test]]
name = "封顶"
inputs = { bonus_base = 9000, coefficient = 1, grade = "B" }
expected = 9000
capped = 2000
[[incentive.test]]
inputs = { bonus_base = 1, coefficent = 1, total = "high" }
expected = 1
"""
    problems = [p for p in ruleset_with(text).check(["S01", "S03"]) if p.file == POLICY_FILE]
    assert [(p.item, p.field, p.code, p.severity) for p in problems] == [
        ("incentive pool", "station", "UNKNOWN_STATION", "warning"),  # S02 is not among the stations
        ("incentive test 1", "expected", "TEST_FAILED", "error"),
        ("incentive test 2", "capped", "TEST_FAILED", "error"),
        ("incentive test 3", "inputs", "UNKNOWN_NAME", "error"),
        ("incentive test 3", "inputs", "BAD_VALUE", "error"),
    ]
    assert problems[1].message() == "测试 “A 级加 500”：期望金额 2800.00，实际为 2900.00"
    assert problems[1].message("en") == "test “A 级加 500”: expected the amount 2800.00, got 2900.00"
    assert problems[2].message() == "测试 “封顶”：期望封顶后金额 2000，实际为 3000"
    assert problems[3].suggestions and "coefficient" in problems[3].suggestions
    no_tests = ruleset_with('[incentive]\namount = "bonus_base"\n').check()
    assert [(p.code, p.severity) for p in no_tests if p.file == POLICY_FILE] == [("NO_TESTS", "warning")]


def test_a_test_case_expects_the_raw_amount_to_the_cent_and_optionally_the_capped_one():
    incentive = Incentive("bonus_base * coefficient", cap=Decimal("3000"))
    formulas = ruleset_with().formulas
    case = IncentiveTest("x", {"bonus_base": 2000.005, "coefficient": 2}, Decimal("4000.01"), Decimal("3000"))
    result = run_incentive_test(formulas, incentive, case)
    assert result.passed and result.raw == Decimal("4000.01") and result.amount == Decimal("3000")
    na = IncentiveTest("n/a", {"coefficient": 2}, "N/A")
    assert run_incentive_test(formulas, incentive, na).passed
    assert not run_incentive_test(formulas, incentive, dataclasses.replace(na, expected=Decimal(0))).passed


# -- amounts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "cents"), [
    (2.675, "2.68"),  # 2.67499999… as a float: half up on what was written
    (0.1 * 3, "0.30"), (1234.565, "1234.57"), (2000 * 1.1, "2200.00"), (1e12 + 0.005, "1000000000000.01"),
    (-1.005, "-1.01"), (Decimal("7.125"), "7.13"), (3, "3.00"),
])
def test_money_is_rounded_to_six_places_then_half_up_to_the_cent(value, cents):
    money = to_money(value)
    assert isinstance(money, Decimal) and str(money) == cents


@pytest.mark.parametrize(("raw", "cap", "amount", "capped"), [
    ("1234.49", None, "1234", False), ("1234.50", None, "1235", False), ("2500.00", "2000", "2000", True),
    ("2000.40", "2000.50", "2000", False),  # at most the whole yuan of a cap with cents
    ("2000.70", "2000.50", "2000", True), ("-20.00", "100", "0", False), ("0.49", None, "0", False),
])
def test_the_capped_amount_is_whole_yuan_half_up_at_most_the_cap_and_the_same_as_the_pools(
        raw, cap, amount, capped):
    cap_value = None if cap is None else Decimal(cap)
    assert capped_amount(Decimal(raw), cap_value) == (Decimal(amount), capped)
    assert allocate([("k", Decimal(raw), None)], None, cap_value) == {"k": Decimal(amount)}
    assert capped_amount(None, cap_value) == (None, False)


def test_money_text_is_whole_for_whole_amounts():
    texts = [money_text(Decimal(v)) for v in ("5000", "5000.00", "5000.5", "0")]
    assert texts == ["5000", "5000", "5000.50", "0"]
    assert money_text(None) is None


def test_the_snapshot_carries_formula_raw_amount_cap_and_the_pool_not_yet_shared():
    ruleset = ruleset_with()
    a = ruleset.appraise(person("2000"), {"orders": 95}, {}, {})  # total 95: A, coefficient 1.2
    assert (a.total, a.grade) == (95, "A")
    assert a.incentive == {"formula": 'IF(grade == "A", 500, 0) + bonus_base * coefficient',
                           "raw": "2900.00", "amount": "2900", "cap": "3000", "capped": False,
                           "pool": None, "note": None}
    capped = ruleset.appraise(person("3333.32"), {"orders": 95}, {}, {}).incentive
    assert (capped["raw"], capped["amount"], capped["capped"]) == ("4499.98", "3000", True)
    pooled = ruleset.appraise(person("1000.5", station="S02"), {"orders": 70}, {}, {}).incentive
    assert (pooled["raw"], pooled["amount"]) == ("1000.50", "1001")
    assert pooled["pool"] == {"station": "S02", "size": "20000", "allocated": False, "factor": None}
    part = ruleset.appraise(person("2000"), {"orders": 95}, {}, {}).to_snapshot_part()
    assert part["incentive"] == a.incentive and part["calibration"] is None


def test_no_outcome_with_a_bonus_means_coefficient_0_and_amount_0():
    result = ruleset_with().appraise(person("2000"), {"orders": 40}, {}, {})
    assert result.grade == "D" and result.outcome_details[0]["action"] == "training"
    incentive = result.incentive
    assert (incentive["raw"], incentive["amount"], incentive["note"]) == ("0.00", "0", None)


def test_an_na_amount_says_why_in_the_readers_language():
    ruleset = ruleset_with()
    no_base = ruleset.appraise(person(None), {"orders": 70}, {}, {})
    assert (no_base.incentive["raw"], no_base.incentive["amount"]) == (None, None)
    assert no_base.incentive["note"] == "该员工没有奖金基数，无法计算绩效奖金。"
    english = ruleset.appraise(person(None), {"orders": 70}, {}, {}, locale="en")
    assert "No bonus base" in english.incentive["note"]
    no_total = ruleset.appraise(person("2000"), {}, {}, {})
    assert no_total.total is None and no_total.incentive["amount"] is None
    assert no_total.incentive["note"] == "没有总分，无法计算绩效奖金。"
    nobody = dataclasses.replace(person("2000"), position="司机")  # no template applies
    assert ruleset.appraise(nobody, {"orders": 70}, {}, {}).incentive["note"] == no_total.incentive["note"]
    failing = ruleset_with('[incentive]\namount = "bonus_base / (total - total)"\n')
    note = failing.appraise(person("2000"), {"orders": 70}, {}, {}, locale="en").incentive["note"]
    assert note.startswith("The incentive formula fails (DIVIDE_BY_ZERO")


def test_the_amount_formulas_variables_join_the_snapshots_variables():
    ruleset = ruleset_with('[incentive]\namount = "bonus_base * coefficient * station_satisfaction / 5"\n')
    result = ruleset.appraise(person("1000"), {"orders": 70, "station_satisfaction": 4.5}, {}, {})
    assert result.incentive["raw"] == "900.00" and result.variables["station_satisfaction"] == 4.5


def test_without_an_incentive_the_snapshot_says_none():
    result = ruleset_with(None).appraise(person("2000"), {"orders": 95}, {}, {})
    assert result.incentive is None and result.to_snapshot_part()["incentive"] is None
    old_caller = EmployeeFacts("E1", "张伟", "维修技师", "S01", "站", "consumer")  # no bonus base: still fine
    assert ruleset_with().appraise(old_caller, {"orders": 95}, {}, {}).incentive["amount"] is None


# -- calibration -----------------------------------------------------------------------------------------


def test_a_calibrated_total_moves_the_grade_outcomes_and_amount():
    ruleset = ruleset_with()
    before = ruleset.appraise(person("2000"), {"orders": 88.5}, {}, {})
    assert (before.total, before.grade, before.incentive["amount"]) == (88.5, "B", "2000")
    after = ruleset.appraise(person("2000"), {"orders": 88.5}, {}, {},
                             calibration={"total": 93, "grade": None})
    assert (after.subtotal, after.total, after.grade, after.grade_label) == (88.5, 93, "A", "优秀")
    assert [d["code"] for d in after.outcome_details] == ["bonus", "promotion"]
    assert after.outcome_details[0]["coefficient"] == 1.2 and after.incentive["amount"] == "2900"
    assert after.calibration == {"from_total": 88.5, "from_grade": "B", "total": 93.0, "grade": None}
    assert after.to_snapshot_part()["calibration"] == after.calibration


def test_a_calibrated_grade_keeps_the_total_and_a_grade_given_wins_over_the_total():
    ruleset = ruleset_with()
    down = ruleset.appraise(person("2000"), {"orders": 70}, {}, {}, calibration={"grade": "D"}, locale="en")
    assert (down.total, down.grade, down.grade_label) == (70, "D", "待改进")
    assert [d["code"] for d in down.outcome_details] == ["bonus", "training"]  # grade D trains
    assert down.incentive["amount"] == "2000"  # the bonus follows the total, the formula reads grade D
    assert down.calibration == {"from_total": 70, "from_grade": "B", "total": None, "grade": "D"}
    both = ruleset.appraise(person("2000"), {"orders": 70}, {}, {}, calibration={"total": 95, "grade": "B"})
    assert (both.total, both.grade) == (95, "B") and both.incentive["raw"] == "2400.00"


def test_an_empty_calibration_changes_nothing_and_a_bad_one_is_refused():
    ruleset = ruleset_with()
    plain = ruleset.appraise(person(), {"orders": 70}, {}, {}, calibration={"total": None, "grade": None})
    assert plain.calibration is None and plain.total == 70
    with pytest.raises(ValueError, match="no grade 'Z'"):
        ruleset.appraise(person(), {"orders": 70}, {}, {}, calibration={"grade": "Z"})
    with pytest.raises(ValueError, match="0 to 100"):
        ruleset.appraise(person(), {"orders": 70}, {}, {}, calibration={"total": 101})


def test_a_calibration_gives_a_total_where_scoring_found_none():
    result = ruleset_with().appraise(person("2000"), {}, {}, {}, calibration={"total": Decimal("80")})
    assert (result.total, result.grade, result.incentive["amount"]) == (80, "B", "2000")
    assert result.calibration == {"from_total": None, "from_grade": None, "total": 80.0, "grade": None}


def test_the_default_rule_set_pays_the_demo_technician_the_bonus_base_times_the_coefficient():
    ruleset, _ = load_dir(RULES_DIR)
    full = {"satisfaction": 4.5, "attitude": 4.6, "first_fix_rate": 0.9, "rework_rate": 0.05,
            "avg_repair_hours": 4, "avg_response_hours": 2, "sla_rate": 0.95, "parts_cost_per_order": 100,
            "labor_cost_ratio": 0.35, "parts_delay_count": 0, "orders": 20, "enterprise_share": 0.5}
    result = ruleset.appraise(person("2000"), full, {}, {"kpi_teamwork": 80})
    coefficient = result.bonus_coefficient
    assert result.incentive["raw"] == str(to_money(2000 * coefficient))
    calibrated = ruleset.appraise(person("9000"), full, {}, {"kpi_teamwork": 80}, calibration={"total": 95})
    assert calibrated.incentive == {"formula": "bonus_base * coefficient", "raw": "10800.00",
                                    "amount": "10000", "cap": "10000", "capped": True, "pool": None,
                                    "note": None}
