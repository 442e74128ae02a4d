"""Rule sets in the database: load (idempotent, all or nothing), export, drafts, publish, immutability,
the CLI, and the what-if."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    PublishedVersionLocked,
    RuleIndicator,
    RuleSetStatus,
    RuleSetVersion,
    RuleTemplateLine,
)
from app.rules import content_hash
from app.services import rules as service
from tests.factories import RULES_DIR
from tests.rules.rules_support import cycle_with_appraisals, replace_in


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RuleSetVersion))


def test_the_demo_database_has_the_default_rules_published(appctx):
    version, ruleset = service.published_ruleset(db.session)
    assert version.number == 1 and version.is_published
    files_ruleset, _ = service.check_dir(RULES_DIR)
    assert version.content_hash == content_hash(files_ruleset) == content_hash(ruleset)
    assert len(version.indicators) == len(ruleset.indicators) and version.swot_items


def test_load_is_idempotent_and_export_load_export_is_byte_identical(appctx, tmp_path):
    again = service.load_dir(db.session, RULES_DIR)
    assert again.created is False and again.version.number == 1 and version_count() == 1
    service.export_version(db.session, tmp_path / "a")
    for name in ("indicators.toml", "templates.toml", "grades.toml", "swot.toml", "workflow.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (RULES_DIR / name).read_bytes(), name
    assert service.load_dir(db.session, tmp_path / "a").created is False
    service.export_version(db.session, tmp_path / "b")
    def names(folder):
        return sorted(p.name for p in (tmp_path / folder).iterdir())

    assert names("b") == names("a")
    for file in (tmp_path / "a").iterdir():
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes()


def test_changed_content_makes_a_new_current_version_and_old_content_comes_back(appctx, rules_copy):
    replace_in(rules_copy / "templates.toml", '{ indicator = "kpi_satisfaction", weight = 30 }',
               '{ indicator = "kpi_satisfaction", weight = 35 }')
    result = service.load_dir(db.session, rules_copy, user="tester")
    assert result.created and result.version.number == 2 and result.version.based_on.number == 1
    assert [p.code for p in result.problems] == ["WEIGHT_SUM"]
    assert service.current_version(db.session).number == 2
    back = service.load_dir(db.session, RULES_DIR)
    assert (back.created, back.reactivated, back.version.number) == (False, True, 1)
    assert service.current_version(db.session).number == 1 and version_count() == 2


def test_a_broken_set_is_refused_whole_and_changes_nothing(appctx, rules_copy):
    replace_in(rules_copy / "templates.toml", '{ indicator = "kpi_satisfaction", weight = 30 }',
               '{ indicator = "kpi_satisfaction", weight = 35 }')  # a valid change …
    replace_in(rules_copy / "indicators.toml", 'score = "MAX(0, 100 - 20 * value)"',
               'score = "MAX(0, 100 - 20 * valeu)"')  # … and a broken one
    with pytest.raises(service.RuleSetInvalid) as refused:
        service.load_dir(db.session, rules_copy)
    errors = [(p.file, p.item, p.code) for p in refused.value.problems if p.is_error]
    assert errors == [("indicators.toml", "indicator swot_parts_delay", "UNKNOWN_NAME")]
    assert version_count() == 1 and service.current_version(db.session).number == 1


def test_a_broken_workflow_is_refused_by_check_and_load(app, rules_copy):
    text = (rules_copy / "workflow.toml").read_text(encoding="utf-8")
    (rules_copy / "workflow.toml").write_text(text.replace('to = "pending_review"', 'to = "nowhere"', 1),
                                              encoding="utf-8")
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["rules", "check", str(rules_copy)])
    assert checked.exit_code != 0
    assert "workflow.toml: transitions[" in checked.output and "BAD_WORKFLOW" in checked.output
    assert "nowhere" in checked.output
    loaded = runner.invoke(args=["rules", "load", str(rules_copy)])
    assert loaded.exit_code != 0 and "nothing was loaded" in loaded.output
    with app.app_context():
        assert version_count() == 1


def test_a_published_version_cannot_change_by_any_path(appctx):
    version = service.current_version(db.session)
    row = db.session.scalar(select(RuleIndicator).where(RuleIndicator.version_id == version.id).limit(1))
    row.score_formula = "100"
    with pytest.raises(PublishedVersionLocked):
        db.session.flush()
    db.session.rollback()
    line = db.session.scalar(select(RuleTemplateLine).limit(1))
    db.session.delete(line)
    with pytest.raises(PublishedVersionLocked):
        db.session.flush()
    db.session.rollback()
    version = service.current_version(db.session)
    version.note = "rewritten"
    with pytest.raises(PublishedVersionLocked):
        db.session.commit()
    db.session.rollback()
    db.session.add(RuleIndicator(version_id=version.id, code="sneaky", name="x", category="其他",
                                 score_formula="1"))
    with pytest.raises(PublishedVersionLocked):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(PublishedVersionLocked):
        service.discard_draft(db.session, version.id)
    assert service.ruleset_for_version(db.session, version.id).indicator("sneaky") is None


def test_a_draft_copies_the_current_version_and_publishing_shows_the_diff(appctx):
    draft = service.new_draft(db.session, user="hr")
    assert draft.status == RuleSetStatus.draft and draft.number == 2 and draft.based_on.number == 1
    current = service.current_version(db.session)
    assert content_hash(service.ruleset_from_version(draft)) == current.content_hash
    row = next(r for r in draft.indicators if r.code == "kpi_first_fix")
    row.target = "0.85"
    row.tests = json.dumps([{"inputs": {"first_fix_rate": 0.85}, "value": 0.85, "score": 90}])
    service.save_row(db.session, row)
    result = service.publish(db.session, draft.id, user="hr", note="easier first-fix target")
    assert result.previous.number == 1 and result.version.is_published
    assert result.diff == [{"kind": "indicator", "key": "kpi_first_fix", "change": "changed", "fields": [
        {"field": "target", "old": "0.9", "new": "0.85"},
        {"field": "test", "old": json.dumps(service.ruleset_for_version(db.session, 1).indicator(
            "kpi_first_fix").to_dict()["test"], ensure_ascii=False),
         "new": '[{"inputs": {"first_fix_rate": 0.85}, "value": 0.85, "score": 90}]'}]}]
    assert service.current_version(db.session).number == 2
    with pytest.raises(service.NotADraft):
        service.publish(db.session, draft.id)


def test_a_failing_test_case_blocks_publishing(appctx):
    draft = service.new_draft(db.session)
    row = next(r for r in draft.indicators if r.code == "kpi_rework")
    row.score_formula = "PIECEWISE(value, 0, 100, target, 80, 0.2, 0)"  # compiles, but the tests expect 90
    db.session.commit()  # a draft may hold it; publishing may not
    with pytest.raises(service.RuleSetInvalid) as refused:
        service.publish(db.session, draft.id)
    errors = {(p.item, p.code) for p in refused.value.problems if p.is_error}
    assert errors == {("indicator kpi_rework", "TEST_FAILED")}
    db.session.refresh(draft)
    assert draft.status == RuleSetStatus.draft and service.current_version(db.session).number == 1


def test_save_row_refuses_a_broken_formula_with_the_engines_error(appctx):
    draft = service.new_draft(db.session)
    row = RuleIndicator(version_id=draft.id, position=99, code="kpi_new", name="新指标", category="其他",
                        value_formula="一次修复率 * ", score_formula="value", tests="[]")
    with pytest.raises(service.RuleRefused) as refused:
        service.save_row(db.session, row)
    problem = refused.value.problems[0]
    assert (problem.code, problem.field, problem.position) == ("SYNTAX", "value", 7)
    assert db.session.scalar(select(func.count()).select_from(RuleIndicator).where(
        RuleIndicator.code == "kpi_new")) == 0


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_check_load_export(app, rules_copy, tmp_path):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["rules", "check", str(RULES_DIR)])
    assert ok.exit_code == 0, ok.output
    assert "OK (22 indicators" in ok.output
    replace_in(rules_copy / "indicators.toml", 'value = "一次修复率"', 'value = "一次修复律"')
    bad = runner.invoke(args=["rules", "check", str(rules_copy)])
    assert bad.exit_code != 0
    assert "indicators.toml: indicator kpi_first_fix [value]: UNKNOWN_NAME" in bad.output
    refused = runner.invoke(args=["rules", "load", str(rules_copy)])
    assert refused.exit_code != 0
    assert "UNKNOWN_NAME" in refused.output and "nothing was loaded" in refused.output
    same = runner.invoke(args=["rules", "load"])
    assert same.exit_code == 0 and "no new version" in same.output
    exported = runner.invoke(args=["rules", "export", str(tmp_path / "out")])
    assert exported.exit_code == 0
    assert (tmp_path / "out" / "indicators.toml").read_bytes() == (RULES_DIR / "indicators.toml").read_bytes()


# -- what-if ---------------------------------------------------------------------------------------


def test_whatif_rescores_a_past_cycle_and_changes_nothing(appctx, rules_copy):
    from app.models.appraisal import Appraisal

    cycle = cycle_with_appraisals(db.session)
    before = [(a.id, a.total, a.grade) for a in db.session.scalars(select(Appraisal).order_by(Appraisal.id))]
    result = service.whatif(db.session, RULES_DIR, cycle.name)
    assert [r["employee_no"] for r in result["employees"]] == ["EMP1", "EMP5", "EMP6"]
    assert all(r["old_total"] == 50 and r["old_grade"] == "D" for r in result["employees"])
    assert all(r["new_total"] is not None and r["new_grade"] for r in result["employees"])
    assert result["distribution"]["before"] == {"A": 0, "B": 0, "C": 0, "D": 3}
    assert sum(result["distribution"]["after"].values()) == 3
    # a draft that weighs satisfaction alone scores technicians on satisfaction alone
    replace_in(rules_copy / "templates.toml", '{ indicator = "kpi_first_fix", weight = 20 }',
               '{ indicator = "kpi_first_fix", weight = 0 }')
    changed = service.whatif(db.session, rules_copy, cycle.name)
    assert changed["employees"] != result["employees"]
    db.session.rollback()
    after = [(a.id, a.total, a.grade) for a in db.session.scalars(select(Appraisal).order_by(Appraisal.id))]
    assert after == before and version_count() == 1


def test_whatif_cli_prints_one_json_object(app, appctx):
    cycle = cycle_with_appraisals(db.session)
    out = app.test_cli_runner().invoke(args=["rules", "whatif", str(RULES_DIR), "--cycle", cycle.name])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert set(data) >= {"cycle", "employees", "distribution"} and len(data["employees"]) == 3
    missing = app.test_cli_runner().invoke(args=["rules", "whatif", str(RULES_DIR), "--cycle", "nope"])
    assert missing.exit_code != 0 and "nope" in missing.output


def test_preview_and_weight_table_use_real_metrics(appctx):
    from app.models import Employee

    version, ruleset = service.published_ruleset(db.session)
    emp1 = db.session.scalar(select(Employee).where(Employee.employee_no == "EMP1"))
    start, end = dt.date(2000, 1, 1), dt.date(2100, 1, 1)
    first_fix = ruleset.indicator("kpi_first_fix")
    preview = service.preview_indicator(db.session, ruleset, first_fix, emp1, start, end)
    assert preview["value"] is not None and 0 <= preview["score"] <= 100
    assert preview["explain"].startswith("一次修复率 ")
    mixed = ruleset.template_for("维修技师", "S03", "mixed")
    table = service.weight_table(db.session, ruleset, mixed, start, end)
    for column in table["columns"]:
        assert column["sum"] == pytest.approx(100)  # the mixed template's weights always add up to 100
    assert [c["applies"] for c in table["columns"]] == [False, False, True]
