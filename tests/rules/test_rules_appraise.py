"""RuleSet.appraise semantics: template choice, SWOT lines, dynamic weights, N/A redistribution,
errors as values, clamping, grades and outcomes."""

from __future__ import annotations

import dataclasses

import pytest

from app.rules import EmployeeFacts, GradeBand, Indicator, Line, OutcomeRule, RuleSet, SwotItem, Template
from tests.rules.rules_support import CS_S01, TECH_S01, TECH_S02, TECH_S03

FULL = {  # an employee with every metric, at a station with every metric
    "satisfaction": 4.5, "attitude": 4.6, "first_fix_rate": 0.9, "rework_rate": 0.05, "avg_repair_hours": 4,
    "avg_response_hours": 2, "sla_rate": 0.95, "parts_cost_per_order": 100, "labor_cost_ratio": 0.35,
    "parts_delay_count": 0, "orders": 20, "enterprise_share": 0.5,
    "station_parts_cost_per_order": 100, "station_enterprise_share": 0.5, "station_satisfaction": 4.5,
    "station_survey_rate": 0.8, "station_avg_response_hours": 2, "station_sla_rate": 0.95,
}


def small_ruleset(**changes) -> RuleSet:
    """Two formula indicators (a 0–100 score equal to the value) and a manual one."""
    base = dict(
        indicators=(
            Indicator("a", "甲", "服务质量", "value", value="orders"),
            Indicator("b", "乙", "工作效率", "value", value="100 / period_days"),
            Indicator("m", "主管评分", "其他", "value", kind="manual"),
        ),
        templates=(Template("t", "方案", positions=("维修技师",),
                            lines=(Line("a", 60), Line("b", 30), Line("m", 10))),),
        grades=(GradeBand("A", "优秀", 90), GradeBand("B", "良好", 60), GradeBand("D", "待改进", 0)),
    )
    base.update(changes)
    return RuleSet(**base)


def line(result, code):
    return next(row for row in result.lines if row["code"] == code)


def test_weights_are_used_as_given_when_every_line_has_a_value():
    result = small_ruleset().appraise(TECH_S01, {"orders": 80, "period_days": 2}, {}, {"m": 70})
    assert [(r["code"], r["score"], r["effective_weight"], r["weighted"]) for r in result.lines] == [
        ("a", 80, 60, 48), ("b", 50, 30, 15), ("m", 70, 10, 7)]
    assert (result.subtotal, result.total, result.grade, result.grade_label) == (70, 70, "B", "良好")
    assert result.na_notes == []


def test_an_na_line_is_left_out_and_its_weight_spread_in_proportion():
    result = small_ruleset().appraise(TECH_S01, {"orders": 80, "period_days": 2}, {}, {})  # no manual value
    m = line(result, "m")
    assert m["na"] is True and m["value"] is None and m["weighted"] is None and m["effective_weight"] == 0
    assert line(result, "a")["effective_weight"] == pytest.approx(60 / 90 * 100, abs=0.01)
    assert line(result, "b")["effective_weight"] == pytest.approx(30 / 90 * 100, abs=0.01)
    assert result.total == pytest.approx((80 * 60 + 50 * 30) / 90, abs=0.01)
    assert len(result.na_notes) == 1 and "主管评分" in result.na_notes[0] and "N/A" in result.na_notes[0]


def test_a_formula_error_is_that_lines_value_not_an_exception():
    result = small_ruleset().appraise(TECH_S01, {"orders": 80, "period_days": 0}, {}, {"m": 70})
    b = line(result, "b")
    assert b["na"] is True and b["error"] == "DIVIDE_BY_ZERO" and "DIVIDE_BY_ZERO" in b["explain"]
    assert result.total == pytest.approx((80 * 60 + 70 * 10) / 70, abs=0.01)
    assert any("DIVIDE_BY_ZERO" in note for note in result.na_notes)


def test_no_line_with_a_value_means_no_total_and_no_grade():
    result = small_ruleset().appraise(TECH_S01, {}, {}, {})
    assert (result.subtotal, result.total, result.grade) == (None, None, None)
    assert result.outcomes == [] and len(result.na_notes) == 4


def test_scores_and_total_are_clamped_to_0_100():
    ruleset = small_ruleset()
    high = ruleset.appraise(TECH_S01, {"orders": 500, "period_days": 0.5}, {}, {"m": 120}, adjustment=10)
    assert [r["score"] for r in high.lines] == [100, 100, 100] and high.total == 100
    low = ruleset.appraise(TECH_S01, {"orders": -5, "period_days": 2}, {}, {"m": 0}, adjustment=-20)
    assert line(low, "a")["score"] == 0 and low.total == 0 and low.grade == "D"


def test_adjustment_is_added_after_the_subtotal():
    result = small_ruleset().appraise(TECH_S01, {"orders": 80, "period_days": 2}, {}, {"m": 70}, adjustment=5)
    assert (result.subtotal, result.adjustment, result.total) == (70, 5, 75)


def test_template_choice_station_beats_segment_beats_general():
    general = Template("g", "通用", positions=("维修技师",), lines=(Line("a", 1),))
    segment = Template("s", "企业", positions=("维修技师",), segments=("enterprise",), lines=(Line("a", 1),))
    station = Template("x", "S02", positions=("维修技师",), stations=("S02",), lines=(Line("a", 1),))
    ruleset = small_ruleset(templates=(general, segment, station))
    assert ruleset.template_for("维修技师", "S02", "enterprise").code == "x"
    assert ruleset.template_for("维修技师", "S05", "enterprise").code == "s"
    assert ruleset.template_for("维修技师", "S01", "consumer").code == "g"
    assert ruleset.template_for("客服", "S01", "consumer") is None
    result = ruleset.appraise(EmployeeFacts("E", "e", "客服", "S01", "s", "consumer"), {}, {}, {})
    assert result.template_code is None and result.total is None and result.na_notes


def test_default_templates_follow_position_and_segment(default_ruleset):
    assert default_ruleset.template_for("维修技师", "S01", "consumer").code == "tech_consumer"
    assert default_ruleset.template_for("维修技师", "S02", "enterprise").code == "tech_enterprise"
    assert default_ruleset.template_for("维修技师", "S03", "mixed").code == "tech_mixed"
    assert default_ruleset.template_for("客服", "S02", "enterprise").code == "cs_default"
    assert default_ruleset.template_for("站长", "S01", "consumer").code == "lead_default"


@pytest.mark.parametrize("share", [0.0, 0.25, 1.0])
def test_segment_driven_weights_follow_the_stations_enterprise_share(default_ruleset, share):
    variables = {**FULL, "station_enterprise_share": share}
    result = default_ruleset.appraise(TECH_S03, variables, {}, {"kpi_teamwork": 80})
    sla, satisfaction = line(result, "kpi_sla"), line(result, "kpi_satisfaction")
    assert sla["weight"] == pytest.approx(5 + 20 * share)
    assert satisfaction["weight"] == pytest.approx(25 - 20 * share)
    template_lines = [r for r in result.lines if r["source"] == "template"]
    assert sum(r["weight"] for r in template_lines) == pytest.approx(100)


def test_enterprise_stations_weigh_sla_and_consumer_stations_satisfaction(default_ruleset):
    enterprise = default_ruleset.appraise(TECH_S02, FULL, {}, {})
    consumer = default_ruleset.appraise(TECH_S01, FULL, {}, {"kpi_teamwork": 80})
    assert line(enterprise, "kpi_sla")["weight"] > line(enterprise, "kpi_satisfaction")["weight"]
    assert line(consumer, "kpi_satisfaction")["weight"] == 30
    assert "kpi_sla" not in {r["code"] for r in consumer.lines}


def test_swot_indicators_of_the_station_are_added(default_ruleset):
    result = default_ruleset.appraise(TECH_S01, FULL, {"增值服务": 5, "新工艺": 2}, {"kpi_teamwork": 80})
    swot = {r["code"]: r for r in result.lines if r["source"].startswith("swot:")}
    assert set(swot) == {"swot_value_added", "swot_parts_delay", "swot_new_process", "swot_cost_quality"}
    assert swot["swot_value_added"]["value"] == 5 and swot["swot_value_added"]["score"] == 100
    assert swot["swot_new_process"]["value"] == pytest.approx(0.1)  # 2 of 20 orders
    assert swot["swot_cost_quality"]["score"] == 100  # cost at the station's average, satisfaction 4.5
    s02 = default_ruleset.appraise(TECH_S02, FULL, {"新技术": 1}, {})
    assert "swot_new_tech" in {r["code"] for r in s02.lines}
    # the effective weights always add up to 100 whatever the SWOT adds
    assert sum(r["effective_weight"] for r in result.lines) == pytest.approx(100, abs=0.05)


def test_swot_analysis_holds_from_its_year_until_the_next():
    items = (
        SwotItem("S01", 2025, "W", "旧", lines=(Line("a", 5),)),
        SwotItem("S01", 2027, "W", "新", lines=(Line("b", 5),)),
    )
    ruleset = small_ruleset(swot=items, templates=(Template("t", "t", lines=(Line("m", 1),)),))
    assert [s.title for s in ruleset.swot_for("S01", 2026)] == ["旧"]
    assert [s.title for s in ruleset.swot_for("S01", 2027)] == ["新"]
    assert [s.title for s in ruleset.swot_for("S01")] == ["新"]
    assert ruleset.swot_for("S01", 2024) == () and ruleset.swot_for("S02", 2026) == ()
    result = ruleset.appraise(TECH_S01, {"orders": 50}, {}, {"m": 90}, year=2026)
    assert [r["code"] for r in result.lines] == ["m", "a"]


def test_manual_values_only_feed_manual_indicators():
    result = small_ruleset().appraise(TECH_S01, {"orders": 80, "period_days": 2}, {}, {"a": 5, "m": 60})
    assert line(result, "a")["value"] == 80 and line(result, "m")["value"] == 60
    assert line(result, "m")["manual"] is True and line(result, "a")["manual"] is False


def test_grade_bands_and_outcome_rules(default_ruleset):
    outcomes = tuple(o for o in default_ruleset.outcomes if o.action != "training")
    training = 'grade == "D" or COALESCE(a, 100) < 40'
    outcomes += (OutcomeRule("training", "training", training, "安排技能培训"),)
    ruleset = dataclasses.replace(small_ruleset(), grades=default_ruleset.grades, outcomes=outcomes)
    top = ruleset.appraise(TECH_S01, {"orders": 100, "period_days": 1}, {}, {"m": 100})
    assert (top.total, top.grade, top.grade_label) == (100, "A", "优秀")
    assert top.outcomes == ["绩效奖金系数 ×1.20", "列为晋升候选人"]
    assert top.bonus_coefficient == 1.2
    mid = ruleset.appraise(TECH_S01, {"orders": 80, "period_days": 2}, {}, {"m": 70})
    assert (mid.total, mid.grade) == (70, "C") and mid.outcomes == ["绩效奖金系数 ×0.80"]
    low = ruleset.appraise(TECH_S01, {"orders": 30, "period_days": 4}, {}, {"m": 40})
    assert low.grade == "D" and low.outcomes == ["制定绩效改进计划", "安排技能培训"]
    assert [d["action"] for d in low.outcome_details] == ["improvement_plan", "training"]


def test_an_outcome_rule_that_fails_is_noted_not_raised():
    ruleset = small_ruleset(outcomes=(OutcomeRule("x", "training", "kpi_missing < 1", "培训"),))
    result = ruleset.appraise(TECH_S01, {"orders": 30, "period_days": 4}, {}, {"m": 40})
    assert result.outcomes == [] and any("UNKNOWN_NAME" in note for note in result.na_notes)


def test_outcome_rules_may_read_indicator_values():
    rule = OutcomeRule("t", "training", "a < 50", "培训")
    ruleset = small_ruleset(outcomes=(rule,))
    assert ruleset.appraise(TECH_S01, {"orders": 40, "period_days": 1}, {}, {}).outcomes == ["培训"]
    assert ruleset.appraise(TECH_S01, {"orders": 60, "period_days": 1}, {}, {}).outcomes == []


def test_explanations_and_the_snapshot_part(default_ruleset):
    result = default_ruleset.appraise(TECH_S01, FULL, {}, {"kpi_teamwork": 80}, locale="zh_CN")
    first_fix = line(result, "kpi_first_fix")
    assert first_fix["explain"].startswith("一次修复率 0.9 → PIECEWISE(value 0.9")
    assert first_fix["explain"].endswith("= 90")
    part = result.to_snapshot_part()
    assert {"lines", "na_notes", "subtotal", "adjustment", "total", "grade", "grade_label", "outcomes",
            "category_scores", "variables"} <= set(part)
    line_keys = {"code", "name", "category", "unit", "value", "target", "score", "weight", "effective_weight",
                 "weighted", "explain", "na", "manual"}
    assert all(line_keys <= set(row) for row in part["lines"])
    assert part["variables"]["first_fix_rate"] == 0.9 and "station_parts_cost_per_order" in part["variables"]
    assert set(part["category_scores"]) >= {"服务质量", "工作效率", "成本控制"}
    english = default_ruleset.appraise(TECH_S01, FULL, {}, {}, locale="en")
    assert line(english, "kpi_first_fix")["name"] == "First-time fix rate"
    assert "Service quality" in english.category_scores and "has no data" in english.na_notes[0]


def test_customer_service_staff_are_scored_on_the_station_without_technicians_swot(default_ruleset):
    result = default_ruleset.appraise(CS_S01, {"station_satisfaction": 4.5, "station_survey_rate": 0.8,
                                               "station_avg_response_hours": 2, "station_sla_rate": None,
                                               "station_enterprise_share": 0.2}, {}, {"kpi_teamwork": 90})
    assert line(result, "kpi_station_sla")["na"] is True
    assert result.total == pytest.approx((100 * 30 + 100 * 25 + 80 * 20 + 90 * 23) / 98, abs=0.01)
    assert not [r for r in result.lines if r["source"] != "template"]  # the SWOT items name 维修技师
