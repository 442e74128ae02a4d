"""What the rule set names reads in the reader's language: categories, units, indicator names, grades and
outcomes of a stored (Chinese) snapshot on an English page, and the explanations' variable names."""

from __future__ import annotations

import re

import pytest

from app.rules import EmployeeFacts
from app.rules.names import category_label, relabel, unit_label

HAN = re.compile(r"[\u3400-\u9fff]")
QUOTED = re.compile(r'"[^"]*"')
EMPLOYEE = EmployeeFacts("EMP1", "张伟", "维修技师", "S01", "一站", "consumer")
VARIABLES = {"satisfaction": 4.2, "attitude": 4.4, "first_fix_rate": 0.85, "rework_rate": 0.04,
             "avg_repair_hours": 3.5, "avg_response_hours": 2.0, "parts_cost_per_order": 80.0,
             "labor_cost_ratio": 0.3, "station_parts_cost_per_order": 90.0}


@pytest.mark.parametrize(("category", "locale", "shown"), [
    ("服务质量", "en", "Service quality"), ("SWOT自定义", "en", "SWOT custom"),
    ("服务质量", "zh_CN", "服务质量"),
    ("Cost control", "zh_CN", "成本控制"), ("", "en", ""), ("自拟", "en", "自拟"),
])
def test_category_label(category, locale, shown):
    assert category_label(category, locale) == shown


@pytest.mark.parametrize(("unit", "shown"), [
    ("分(1-5)", "points (1-5)"), ("%", "%"), ("小时", "hours"), ("元", "yuan"), ("元/单", "yuan/orders"),
    ("次", "times"), ("", ""),
])
def test_unit_label_in_english(unit, shown):
    assert unit_label(unit, "en") == shown
    assert unit_label(unit, "zh_CN") == unit


def test_every_shipped_unit_and_category_has_english(default_ruleset):
    for indicator in default_ruleset.indicators:
        assert not HAN.search(unit_label(indicator.unit, "en")), indicator.unit
        assert not HAN.search(category_label(indicator.category, "en")), indicator.category
        assert indicator.name_en, f"{indicator.code} has no English name"
    assert all(band.label_en for band in default_ruleset.grades)
    assert all(rule.label_en for rule in default_ruleset.outcomes)
    assert all(template.name_en for template in default_ruleset.templates)


def _snapshot(ruleset, locale):
    result = ruleset.appraise(EMPLOYEE, VARIABLES, {}, {"kpi_teamwork": 88}, 0.0, year=2026, locale=locale)
    return result, result.to_snapshot_part()


def test_a_chinese_snapshot_relabelled_for_an_english_reader(default_ruleset):
    _, stored = _snapshot(default_ruleset, "zh_CN")
    english, _ = _snapshot(default_ruleset, "en")
    shown = relabel(stored, default_ruleset, "en", english)
    assert shown["grade_label"] and not HAN.search(shown["grade_label"])
    assert shown["template"]["name"] and not HAN.search(shown["template"]["name"])
    for line in shown["lines"]:
        for key in ("name", "category", "unit", "explain"):
            text = QUOTED.sub('""', str(line[key]))  # a tag word in quotes is the work orders' data
            assert not HAN.search(text), (key, line[key])
    assert not any(HAN.search(text) for text in shown["outcomes"]), shown["outcomes"]
    assert not any(HAN.search(text) for text in shown["na_notes"]), shown["na_notes"]
    assert not any(HAN.search(key) for key in shown["category_scores"]), shown["category_scores"]
    satisfaction = next(line for line in shown["lines"] if line["code"] == "kpi_satisfaction")
    assert satisfaction["name"] == "Customer satisfaction"
    assert satisfaction["explain"].startswith("Customer satisfaction 4.2"), satisfaction["explain"]


def test_relabelled_back_to_chinese_is_the_stored_snapshot(default_ruleset):
    _, stored = _snapshot(default_ruleset, "zh_CN")
    _, again = _snapshot(default_ruleset, "zh_CN")
    assert relabel(again, default_ruleset, "zh_CN") == stored


def test_an_explanation_whose_figures_differ_is_kept(default_ruleset):
    """The sentences of a result scored again are used only where its figures are the stored ones."""
    _, stored = _snapshot(default_ruleset, "zh_CN")
    english, _ = _snapshot(default_ruleset, "en")
    line = next(line for line in stored["lines"] if line["code"] == "kpi_satisfaction")
    line["value"], kept = 4.9, line["explain"]
    shown = relabel(stored, default_ruleset, "en", english)
    assert next(x for x in shown["lines"] if x["code"] == "kpi_satisfaction")["explain"] == kept


def test_a_stored_explanation_read_in_english():
    from app.rules.names import explain_label

    rest = "4.46 → CLAMP((value 4.46 - 3) ÷ 1.5 × 100, 0, 100) = 97.33 + TAGGED(\"增值服务\") 2"
    line = f"站点客户满意度 {rest}"
    assert explain_label(line, "en") == f"Station customer satisfaction {rest}"
    assert explain_label(line, "zh_CN") == line
