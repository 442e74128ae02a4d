"""The no-code editor through the test client: HR edits a draft end to end; others are refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import RuleIndicator, RuleSetVersion, RuleSwotItem, RuleTemplate
from tests.cycles.conftest import whatif_page
from tests.factories import csrf_token
from tests.rules.rules_support import cycle_with_appraisals


@pytest.fixture
def hr(login_as):
    return login_as("hr")


def new_draft(client) -> int:
    r = client.post("/rules/draft", data={"csrf_token": csrf_token(client, "/rules/")})
    assert r.status_code == 302
    match = re.search(r"/rules/v/(\d+)/", r.headers["Location"])
    return int(match.group(1))


def form(client, path: str, **fields) -> dict:
    return {"csrf_token": csrf_token(client, path), **fields}


INDICATOR_FORM = {
    "code": "kpi_output", "name": "工单产出", "name_en": "Output", "category": "工作效率", "kind": "formula",
    "value": "工单数 / 考核天数 * 30", "unit": "单/月", "target": "40",
    "score": "MIN(100, value / target * 100)",
    "direction": "higher", "description": "",
    "test_inputs": ["orders=40, period_days=30", "orders=20；period_days=30", ""],
    "test_tags": ["", "", ""], "test_value": ["40", "20", ""], "test_score": ["100", "50", ""],
    "test_note": ["", "一半", ""],
}


def test_hr_sees_the_versions_and_a_version_overview(hr):
    page = hr.get("/rules/").get_data(as_text=True)
    assert "v1" in page and 'action="/rules/draft"' in page
    page = hr.get("/rules/v/1/").get_data(as_text=True)
    for code in ("kpi_first_fix", "tech_mixed", "cs_default", "S01", "S03"):
        assert code in page
    assert "formula-editor.js" in page and "<script>" not in page.split("formula-editor.js")[1]


@pytest.mark.parametrize("username", ["emp1", "emp6"])
def test_employees_are_refused_every_screen(login_as, username):
    client = login_as(username)
    for path in ("/rules/", "/rules/v/1/", "/rules/v/1/indicator/1", "/rules/whatif", "/rules/v/1/swot/S01"):
        assert client.get(path).status_code == 403, path
    assert client.post("/rules/draft", data={"csrf_token": csrf_token(client, "/")}).status_code == 403


def test_managers_read_but_do_not_write(login_as):
    manager = login_as("manager1")
    assert manager.get("/rules/v/1/").status_code == 200
    assert manager.get("/rules/v/1/indicator/1").status_code == 200
    token = csrf_token(manager, "/rules/")
    assert manager.post("/rules/draft", data={"csrf_token": token}).status_code == 403
    assert manager.get("/rules/whatif").status_code == 403


def test_the_indicator_form_has_live_formula_fields(hr):
    page = hr.get("/rules/v/1/indicator/1").get_data(as_text=True)
    assert page.count("jx-formula-input") >= 3
    assert 'data-role="score"' in page and '"value"' in page  # the score formula may use value/target
    assert "data-palette" in page and "data-preview-url" in page
    assert "<fieldset disabled>" in page  # a published version is read only


def test_hr_adds_an_indicator_whose_test_cases_run_on_save(appctx, hr):
    vid = new_draft(hr)
    path = f"/rules/v/{vid}/indicator/new"
    broken = hr.post(path, data=form(hr, path, **{**INDICATOR_FORM, "value": "工单数 / 考核天 * 30"}))
    assert broken.status_code == 422
    assert "UNKNOWN_NAME" in broken.get_data(as_text=True) and "考核天数" in broken.get_data(as_text=True)
    failing = hr.post(path, data=form(hr, path, **{**INDICATOR_FORM, "test_score": ["100", "60", ""]}))
    assert failing.status_code == 422 and "TEST_FAILED" in failing.get_data(as_text=True)
    fields = {**INDICATOR_FORM, "test_inputs": ["orders=lots", "", ""]}
    unreadable = hr.post(path, data=form(hr, path, **fields))
    assert unreadable.status_code == 422 and "orders=lots" in unreadable.get_data(as_text=True)
    assert db.session.scalar(select(RuleIndicator).where(RuleIndicator.code == "kpi_output")) is None
    saved = hr.post(path, data=form(hr, path, **INDICATOR_FORM))
    assert saved.status_code == 302
    row = db.session.scalar(select(RuleIndicator).where(RuleIndicator.code == "kpi_output"))
    assert row.version_id == vid and row.value_formula == "工单数 / 考核天数 * 30"
    assert '"note": "一半"' in row.tests and '"period_days": 30' in row.tests


def test_published_versions_refuse_form_posts(hr):
    path = "/rules/v/1/indicator/1"
    assert hr.post(path, data=form(hr, path, **INDICATOR_FORM)).status_code == 409


def test_templates_show_weights_per_station_and_save_lines(appctx, hr):
    page = hr.get("/rules/v/1/template/3").get_data(as_text=True)  # tech_mixed
    assert "jx-weights" in page and "S03" in page
    vid = new_draft(hr)
    tpl = db.session.scalar(select(RuleTemplate).where(RuleTemplate.version_id == vid,
                                                       RuleTemplate.code == "cs_default"))
    path = f"/rules/v/{vid}/template/{tpl.id}"
    fields = {"code": "cs_default", "name": "客服", "positions": "客服", "description": "",
              "line_indicator": ["kpi_station_satisfaction", "kpi_station_survey_rate", ""],
              "line_weight": ["60", "40 * 站点回访", ""]}
    bad = hr.post(path, data=form(hr, path, **fields))
    assert bad.status_code == 422 and "UNKNOWN_NAME" in bad.get_data(as_text=True)
    fields["line_weight"] = ["60", "40", ""]
    assert hr.post(path, data=form(hr, path, **fields)).status_code == 302
    db.session.expire_all()
    tpl = db.session.get(RuleTemplate, tpl.id)
    assert [(ln.indicator_code, ln.weight) for ln in tpl.lines] == [
        ("kpi_station_satisfaction", "60"), ("kpi_station_survey_rate", "40")]
    page = hr.get(path).get_data(as_text=True)
    assert "jx-sum" in page and ">100.0 <small>" in page


def test_swot_screen_has_four_quadrants_and_adds_items(appctx, hr):
    page = hr.get("/rules/v/1/swot/S01").get_data(as_text=True)
    for kind in ("jx-quadrant-S", "jx-quadrant-W", "jx-quadrant-O", "jx-quadrant-T"):
        assert kind in page
    assert "配件储备不足" in page
    vid = new_draft(hr)
    path = f"/rules/v/{vid}/swot/S02/item/new"
    fields = {"year": "2027", "kind": "O", "title": "新能源设备维修需求", "positions": "维修技师",
              "description": "", "line_indicator": ["swot_new_tech", ""], "line_weight": ["6", ""]}
    assert hr.post(path, data=form(hr, f"/rules/v/{vid}/swot/S02", **fields)).status_code == 302
    item = db.session.scalar(select(RuleSwotItem).where(RuleSwotItem.version_id == vid,
                                                        RuleSwotItem.year == 2027))
    lines = [ln.indicator_code for ln in item.lines]
    assert (item.station_code, item.kind, lines) == ("S02", "O", ["swot_new_tech"])
    unknown = {**fields, "line_indicator": ["nope", ""]}
    bad = hr.post(path, data=form(hr, f"/rules/v/{vid}/swot/S02", **unknown))
    assert bad.status_code == 422 and "UNKNOWN_INDICATOR" in bad.get_data(as_text=True)
    assert hr.get("/rules/v/1/swot/S99").status_code == 404


def test_grades_and_outcomes_are_checked_before_saving(appctx, hr):
    vid = new_draft(hr)
    path = f"/rules/v/{vid}/grades"
    fields = {"grade": ["A", "B", ""], "grade_label": ["优秀", "其他", ""], "grade_label_en": ["", "", ""],
              "grade_min": ["85", "10", ""],
              "outcome_code": ["bonus", ""], "outcome_action": ["bonus", "training"],
              "outcome_when": ["total >= 60", ""], "outcome_coefficient": ["IF(grade == \"A\", 1.2, 1)", ""],
              "outcome_label": ["奖金", ""], "outcome_label_en": ["", ""]}
    bad = hr.post(path, data=form(hr, path, **fields))
    assert bad.status_code == 422 and "GRADE_GAP" in bad.get_data(as_text=True)
    fields["grade_min"] = ["85", "0", ""]
    assert hr.post(path, data=form(hr, path, **fields)).status_code == 302
    version = db.session.get(RuleSetVersion, vid)
    assert [(g.grade, g.min_total) for g in version.grade_bands] == [("A", 85), ("B", 0)]
    assert [o.code for o in version.outcome_rules] == ["bonus"]


def test_publish_shows_the_diff_and_failing_tests_block_it(appctx, hr):
    vid = new_draft(hr)
    row = db.session.scalar(select(RuleIndicator).where(RuleIndicator.version_id == vid,
                                                          RuleIndicator.code == "kpi_rework"))
    row.score_formula = "PIECEWISE(value, 0, 100, target, 80, 0.2, 0)"
    db.session.commit()
    page = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    assert "TEST_FAILED" in page and "kpi_rework" in page and "disabled" in page
    refused = hr.post(f"/rules/v/{vid}/publish",
                      data=form(hr, f"/rules/v/{vid}/publish", note="x", confirm="1"))
    assert refused.status_code == 302 and "/publish" in refused.headers["Location"]
    row = db.session.get(RuleIndicator, row.id)
    row.score_formula = "PIECEWISE(value, 0, 100, target, 90, 0.2, 0)"
    row.name = "返修率（新）"
    db.session.commit()
    page = hr.get(f"/rules/v/{vid}/publish").get_data(as_text=True)
    assert "返修率（新）" in page and "<del>返修率</del>" in page
    done = hr.post(f"/rules/v/{vid}/publish", data=form(hr, f"/rules/v/{vid}/publish", note="rename",
                                                         confirm="1"))
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleSetVersion, vid).is_published


def test_whatif_screen_shows_a_table_and_charts(appctx, hr):
    cycle = cycle_with_appraisals(db.session, "屏幕测试周期")
    page = whatif_page(hr, 1, cycle.name)  # scored by a background job, then shown
    assert page.count("<svg") == 2 and "EMP1" in page and "EMP6" in page and "jx-whatif" in page
    assert hr.get("/rules/whatif?version=1&cycle=nope").status_code == 200
    assert "没有名为“nope”的考核周期" in whatif_page(hr, 1, "nope")  # the error is shown, not raised


def test_preview_on_real_data(appctx, hr):
    from app.models import Employee

    emp1 = db.session.scalar(select(Employee).where(Employee.employee_no == "EMP1"))
    token = csrf_token(hr, "/rules/v/1/indicator/1")
    body = {"employee_id": emp1.id, "start": "2020-01-01", "end": "2029-12-31", "code": "x", "name": "x",
            "category": "服务质量", "kind": "formula", "value": "一次修复率", "target": "0.9",
            "score": "PIECEWISE(value, 0.6, 0, target, 90, 1, 100)"}
    r = hr.post("/rules/v/1/preview", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["value"] is not None and r.json["explain"].startswith("一次修复率 ")
    broken = hr.post("/rules/v/1/preview", json={**body, "score": "value *"}, headers={"X-CSRFToken": token})
    assert broken.json["error"]["code"] == "SYNTAX" and broken.json["error"]["field"] == "score"
    assert hr.post("/rules/v/1/preview", json={**body, "employee_id": 10**9},
                   headers={"X-CSRFToken": token}).status_code == 404
