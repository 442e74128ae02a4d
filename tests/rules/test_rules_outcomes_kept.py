"""Outcome rules evaluated over only the names they read, a bonus rule's answer kept by the values its
coefficient reads: the same outcomes, details, notes and variables as each person scored by a fresh rule
set, for people whose inputs differ where a kept answer could go wrong."""

from __future__ import annotations

import dataclasses

import pytest

from app.rules import GradeBand, Indicator, Line, OutcomeRule, RuleSet, Template
from tests.rules.rules_support import TECH_S01

RULES = (
    OutcomeRule("bonus", "bonus", 'grade != "D"', "绩效奖金系数",
                coefficient='IF(grade == "A", 1.2, IF(grade == "B", 1.0, 0.8))',
                label_en="Bonus coefficient"),
    OutcomeRule("extra", "bonus", "total >= 50", "额外奖金", coefficient="ROUND(total / 70, 3)"),
    OutcomeRule("odd", "bonus", "a >= 0", "工单奖", coefficient="1 / (a - 40) + TAGGED('新技术')"),
    OutcomeRule("none", "bonus", "a >= 0", "无系数奖", coefficient="b"),
    OutcomeRule("promotion", "promotion", "total >= 92", "晋升", label_en="Promotion"),
    OutcomeRule("training", "training", 'grade == "D" or COALESCE(b, 1) < 20', "培训"),
    OutcomeRule("broken", "training", "100 / (total - 60) > 1", "坏规则"),
    OutcomeRule("unknown", "training", "kpi_missing < 1", "未知"),
)


def ruleset() -> RuleSet:
    return RuleSet(
        indicators=(Indicator("a", "甲", "服务质量", "value", value="orders"),
                    Indicator("b", "乙", "工作效率", "value", value="100 / period_days")),
        templates=(Template("t", "方案", positions=("维修技师",), lines=(Line("a", 60), Line("b", 40))),),
        grades=(GradeBand("A", "优秀", 90), GradeBand("B", "良好", 60), GradeBand("D", "待改进", 0)),
        outcomes=RULES,
    )


PEOPLE = [  # (orders, period_days, new-tech tags, adjustment)
    (100, 1, 0, 0.0), (100, 1, 2, 0.0), (100, 1, 0, -8.0), (40, 1, 0, 0.0), (40, 2, 1, 0.0), (80, 4, 0, 0.0),
    (80, 4, 0, 0.5), (0, 5, 0, 0.0), (-0.0, 5, 0, 0.0), (0, 5, 1, 0.0), (60, None, 0, 0.0), (95, 1, 0, 0.0),
    (95, 1, 3, 0.0), (100, 1, 0, 0.0), (40, 1, 0, 0.0),
]


def appraise(rules: RuleSet, person, locale: str, calibration=None):
    orders, days, tagged, adjustment = person
    return rules.appraise(TECH_S01, {"orders": orders, "period_days": days}, {"新技术": tagged}, {},
                          adjustment, locale=locale, calibration=calibration)


def seen(result) -> str:
    return repr((result.total, result.grade, result.outcomes, result.outcome_details, result.na_notes,
                 result.variables))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_kept_bonus_answers_give_what_a_fresh_rule_set_gives(locale):
    kept = ruleset()
    for calibration in (None, {"grade": "B"}, {"total": 91.0}):
        for person in PEOPLE:
            assert seen(appraise(kept, person, locale, calibration)) == seen(
                appraise(ruleset(), person, locale, calibration)), (person, calibration)
    answers = kept.memo["outcome_results"]
    assert 0 < len(answers) < 4 * len(PEOPLE)  # answers were shared: four bonus rules, many people


def test_outcome_texts_details_and_notes():
    result = appraise(ruleset(), (100, 1, 2, 0.0), "zh_CN")
    assert result.outcomes == ["绩效奖金系数 ×1.20", "额外奖金 ×1.43", "工单奖 ×2.02", "无系数奖 ×100.00",
                               "晋升", "坏规则"]
    labels = [(d["code"], d["label"], d["coefficient"]) for d in result.outcome_details]
    assert labels == [("bonus", "绩效奖金系数", 1.2), ("extra", "额外奖金", 1.429), ("odd", "工单奖", 2.0167),
                      ("none", "无系数奖", 100.0), ("promotion", "晋升", None), ("broken", "坏规则", None)]
    assert result.na_notes == ["未知: UNKNOWN_NAME"]
    assert set(result.variables) == {"a", "b", "orders", "period_days"}  # not the result's own total, grade
    failing = appraise(ruleset(), (40, 1, 0, 0.0), "en", {"total": 60.0})  # a - 40 and total - 60 are 0
    assert failing.na_notes == ["工单奖: DIVIDE_BY_ZERO", "坏规则: DIVIDE_BY_ZERO", "未知: UNKNOWN_NAME"]
    assert failing.outcomes[:2] == ["Bonus coefficient ×1.00", "额外奖金 ×0.86"]


def test_kept_details_are_copies():
    rules = ruleset()
    first = appraise(rules, PEOPLE[0], "zh_CN")
    first.outcome_details[0]["coefficient"] = 99
    again = appraise(rules, PEOPLE[0], "zh_CN")
    assert again.outcome_details[0]["coefficient"] == 1.2


def test_a_rule_set_without_outcome_rules():
    rules = dataclasses.replace(ruleset(), outcomes=())
    result = appraise(rules, PEOPLE[0], "zh_CN")
    assert result.outcomes == [] and result.outcome_details == [] and result.bonus_coefficient is None
