"""rules/ as files: the engine-backed check passes, the dump is canonical, broken copies are named."""

from __future__ import annotations

import pytest

from app.rules import SWOT_KINDS, content_hash, dump_files, load_dir, parse_files, write_dir
from tests.factories import RULES_DIR
from tests.rules.rules_support import replace_in


def errors_of(problems):
    return [p for p in problems if p.is_error]


def test_default_rules_pass_the_check(default_ruleset):
    problems = default_ruleset.check(station_codes={"S01", "S02", "S03"})
    assert errors_of(problems) == []
    assert problems == [], [p.render() for p in problems]  # not even a warning


def test_every_indicator_carries_test_cases_that_run(default_ruleset):
    from app.rules import run_test

    for indicator in default_ruleset.indicators:
        assert indicator.tests, indicator.code
        for case in indicator.tests:
            assert run_test(default_ruleset, indicator, case).passed, (indicator.code, case)


def test_default_rules_cover_the_seed(default_ruleset):
    codes = {i.code for i in default_ruleset.indicators}
    values = {str(i.value) for i in default_ruleset.indicators}
    for metric in ("客户满意度", "一次修复率", "平均维修时长", "平均响应时长", "单均配件成本", "人力成本占比",
                   "SLA达成率"):
        assert metric in values, metric
    assert {"kpi_teamwork"} <= codes and default_ruleset.indicator("kpi_teamwork").manual
    assert {t.positions for t in default_ruleset.templates} >= {("维修技师",), ("客服",)}
    assert {g.grade for g in default_ruleset.grades} == {"A", "B", "C", "D"}
    actions = {o.action for o in default_ruleset.outcomes}
    assert actions == {"bonus", "training", "promotion", "improvement_plan"}
    # a SWOT for each demo station with an indicator in each of S, W, O and T
    for station in ("S01", "S02", "S03"):
        items = default_ruleset.swot_for(station)
        assert {item.kind for item in items if item.lines} == set(SWOT_KINDS), station
    assert {"增值服务", "新技术", "新工艺"} <= default_ruleset.tag_words


def test_the_files_are_canonical_and_the_round_trip_is_byte_identical(tmp_path, default_ruleset):
    files = dump_files(default_ruleset)
    for name, text in files.items():
        assert (RULES_DIR / name).read_text(encoding="utf-8") == text, f"rules/{name} is not canonical"
    write_dir(default_ruleset, tmp_path / "a")
    again, problems = load_dir(tmp_path / "a")
    assert problems == [] and again == default_ruleset
    write_dir(again, tmp_path / "b")
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert content_hash(again) == content_hash(default_ruleset)


def test_workflow_and_other_toml_files_pass_through_verbatim(default_ruleset):
    assert "workflow.toml" in default_ruleset.extras
    workflow = (RULES_DIR / "workflow.toml").read_text(encoding="utf-8")
    assert dump_files(default_ruleset)["workflow.toml"] == workflow


def test_canonical_form_normalises_numbers_and_key_order():
    messy = {
        "indicators.toml": 'test_ignored = 1\n',
        "templates.toml": "", "grades.toml": "",
    }
    _, problems = parse_files(messy)
    assert [(p.file, p.code) for p in problems] == [("indicators.toml", "UNKNOWN_KEY")]
    text = ('[[grade]]\nmin = 90.0\nlabel = "优秀"\ngrade = "A"\n\n'
            '[[outcome]]\nlabel = "x"\nwhen = "total >= 60"\naction = "training"\ncode = "t"\n')
    ruleset, problems = parse_files({"indicators.toml": "", "templates.toml": "", "grades.toml": text})
    assert problems == []
    assert dump_files(ruleset)["grades.toml"].split("\n\n", 1)[1] == (
        '[[grade]]\ngrade = "A"\nlabel = "优秀"\nmin = 90\n\n'
        '[[outcome]]\ncode = "t"\naction = "training"\nwhen = "total >= 60"\nlabel = "x"\n')


BROKEN = [
    # (file, old, new, item, field, code)
    ("indicators.toml", 'score = "PIECEWISE(value, 0.6, 0, target, 90, 1, 100)"',
     'score = "PIECEWISE(value, 0.6, 0, target, 90, 1, 100"', "indicator kpi_first_fix", "score", "SYNTAX"),
    ("indicators.toml", 'value = "一次修复率"', 'value = "一次修复律"', "indicator kpi_first_fix", "value",
     "UNKNOWN_NAME"),
    ("indicators.toml", 'score = "MAX(0, 100 - 20 * value)"', 'score = "MAXI(0, 100 - 20 * value)"',
     "indicator swot_parts_delay", "score", "UNKNOWN_FUNCTION"),
    ("indicators.toml", "{ inputs = { first_fix_rate = 0.9 }, value = 0.9, score = 90 }",
     "{ inputs = { first_fix_rate = 0.9 }, value = 0.9, score = 95 }", "indicator kpi_first_fix", "test 1",
     "TEST_FAILED"),
    ("templates.toml", '{ indicator = "kpi_rework", weight = 10 }',
     '{ indicator = "kpi_reworks", weight = 10 }', "template tech_consumer", "line 3", "UNKNOWN_INDICATOR"),
    ("templates.toml", '{ indicator = "kpi_sla", weight = "5 + 20 * COALESCE(站点企业客户占比, 0.5)" }',
     '{ indicator = "kpi_sla", weight = "5 + 20 * COALESCE(站点企业客户占比, 0.5" }', "template tech_mixed",
     "line 1 weight", "SYNTAX"),
    ("grades.toml", 'min = 0\n', 'min = 10\n', "grades", "min", "GRADE_GAP"),
    ("grades.toml", 'when = "total < 60"', 'when = "totl < 60"', "outcome improvement", "when",
     "UNKNOWN_NAME"),
    ("swot.toml", '{ indicator = "swot_parts_delay", weight = 5 }',
     '{ indicator = "swot_parts_delays", weight = 5 }', "swot S01 2026 W #2", "line 1", "UNKNOWN_INDICATOR"),
    ("indicators.toml", 'direction = "lower"', 'direktion = "lower"', "indicator kpi_rework", "direktion",
     "UNKNOWN_KEY"),
]


@pytest.mark.parametrize("file,old,new,item,field,code", BROKEN, ids=[b[5] + ":" + b[3] for b in BROKEN])
def test_a_broken_copy_is_refused_naming_file_item_and_code(rules_copy, file, old, new, item, field, code):
    replace_in(rules_copy / file, old, new)
    ruleset, problems = load_dir(rules_copy)
    if not errors_of(problems):
        problems = ruleset.check()
    found = [(p.file, p.item, p.field, p.code) for p in errors_of(problems)]
    assert (file, item, field, code) in found, found


def test_a_missing_key_is_named_with_its_meaning_in_chinese(rules_copy):
    text = (rules_copy / "indicators.toml").read_text(encoding="utf-8")
    (rules_copy / "indicators.toml").write_text(text.replace('score = "', 'scor = "', 1), encoding="utf-8")
    _ruleset, problems = load_dir(rules_copy)
    missing = next(p for p in problems if p.code == "MISSING")
    assert missing.field == "score"
    assert missing.message_zh == "缺少必填项“score”（得分公式）"
    assert missing.message_en == "the required key “score” is missing"


def test_unknown_name_gets_a_did_you_mean_and_a_position(rules_copy):
    replace_in(rules_copy / "indicators.toml", 'value = "一次修复率"', 'value = "一次修复律"')
    ruleset, _ = load_dir(rules_copy)
    problem = next(p for p in ruleset.check() if p.code == "UNKNOWN_NAME")
    assert problem.position == 0 and "一次修复率" in problem.suggestions
    assert "一次修复律" in problem.message_zh and "一次修复律" in problem.message_en


def test_a_cycle_between_indicators_names_its_members(rules_copy):
    replace_in(rules_copy / "indicators.toml", 'value = "返修率"', 'value = "kpi_repair_time"')
    replace_in(rules_copy / "indicators.toml", 'value = "平均维修时长"', 'value = "kpi_rework"')
    ruleset, problems = load_dir(rules_copy)
    cycle = [p for p in ruleset.check() if p.code == "CYCLE"]
    assert len(cycle) == 1
    assert "kpi_rework" in cycle[0].message_en and "kpi_repair_time" in cycle[0].message_en


def test_toml_syntax_errors_and_missing_files_are_named(rules_copy):
    replace_in(rules_copy / "grades.toml", "[[grade]]", "[[grade]")
    (rules_copy / "templates.toml").unlink()
    _, problems = load_dir(rules_copy)
    assert ("grades.toml", "TOML") in [(p.file, p.code) for p in problems]
    assert ("templates.toml", "MISSING_FILE") in [(p.file, p.code) for p in problems]


def test_warnings_do_not_block(rules_copy):
    replace_in(rules_copy / "templates.toml", '{ indicator = "kpi_satisfaction", weight = 30 }',
               '{ indicator = "kpi_satisfaction", weight = 35 }')
    ruleset, _ = load_dir(rules_copy)
    problems = ruleset.check()
    found = [(p.code, p.severity, p.item) for p in problems]
    assert found == [("WEIGHT_SUM", "warning", "template tech_consumer")]
