"""FAB REST for rule sets: HR and Admin write, managers read, employees nothing; broken rule content is
refused with the engine's error and never stored; published versions refuse every change."""

from __future__ import annotations

import pytest

INDICATOR = {
    "code": "kpi_output", "name": "工单产出", "category": "工作效率", "kind": "formula",
    "value_formula": "工单数 / 考核天数 * 30", "target": "40",
    "score_formula": "MIN(100, value / target * 100)", "direction": "higher",
    "tests": '[{"inputs": {"orders": 40, "period_days": 30}, "value": 40, "score": 100}]',
    "position": 50,
}


@pytest.fixture
def hr(api_as):
    return api_as("hr")


@pytest.fixture
def draft_id(hr):
    r = hr.post("/api/v1/ruleset/", json={"note": "API test"})
    assert r.status_code == 201, r.json
    return r.json["id"]


def count(api, resource, version_id):
    q = f"(filters:!((col:version_id,opr:eq,value:{version_id})),page_size:500)"
    r = api.get(f"/api/v1/{resource}/?q={q}")
    assert r.status_code == 200, r.json
    return r.json["count"]


def test_a_broken_formula_is_refused_with_the_engines_error_and_not_stored(hr, draft_id):
    before = count(hr, "rule_indicator", draft_id)
    r = hr.post("/api/v1/rule_indicator/", json={**INDICATOR, "version_id": draft_id,
                                                 "value_formula": "工单数 / 考核天 * 30"})
    assert r.status_code == 422
    error = r.json["error"]
    assert (error["code"], error["field"], error["position"]) == ("UNKNOWN_NAME", "value", 6)
    assert "考核天数" in error["suggestions"] and "考核天" in error["message"]
    assert count(hr, "rule_indicator", draft_id) == before


def test_a_failing_test_case_is_refused_too(hr, draft_id):
    r = hr.post("/api/v1/rule_indicator/", json={
        **INDICATOR, "version_id": draft_id,
        "tests": '[{"inputs": {"orders": 20, "period_days": 30}, "value": 20, "score": 100}]'})
    assert r.status_code == 422 and r.json["error"]["code"] == "TEST_FAILED"


def test_valid_content_is_stored_and_can_be_used(hr, draft_id):
    r = hr.post("/api/v1/rule_indicator/", json={**INDICATOR, "version_id": draft_id})
    assert r.status_code == 201, r.json
    ind_id = r.json["id"]
    r = hr.put(f"/api/v1/rule_indicator/{ind_id}", json={"score_formula": "MIN(100, value / target * 100"})
    assert r.status_code == 422 and r.json["error"]["code"] == "SYNTAX"
    assert hr.get(f"/api/v1/rule_indicator/{ind_id}").json["result"]["score_formula"].endswith("100)")
    r = hr.post("/api/v1/rule_template/", json={
        "version_id": draft_id, "code": "tech_output", "name": "产出", "positions": '["维修技师"]',
        "stations": '["S01"]', "position": 9,
    })
    assert r.status_code == 201, r.json
    tpl_id = r.json["id"]
    r = hr.post("/api/v1/rule_template_line/", json={"template_id": tpl_id, "indicator_code": "kpi_outptu",
                                                     "weight": "100", "position": 0})
    assert r.status_code == 422 and r.json["error"]["code"] == "UNKNOWN_INDICATOR"
    assert r.json["error"]["suggestions"][0] == "kpi_output"
    r = hr.post("/api/v1/rule_template_line/", json={"template_id": tpl_id, "indicator_code": "kpi_output",
                                                     "weight": "50 + 50 * 站点企业客户占比", "position": 0})
    assert r.status_code == 201, r.json
    r = hr.delete(f"/api/v1/rule_indicator/{ind_id}")
    assert r.status_code == 422 and r.json["error"]["code"] == "IN_USE"
    check = hr.get(f"/api/v1/ruleset/{draft_id}/check").json
    assert check["ok"] is True
    diff = hr.get(f"/api/v1/ruleset/{draft_id}/diff").json
    assert diff["against"] == 1
    assert {(c["kind"], c["key"], c["change"]) for c in diff["changes"]} == {
        ("indicator", "kpi_output", "added"), ("template", "tech_output", "added")}
    published = hr.post(f"/api/v1/ruleset/{draft_id}/publish", json={})
    assert published.status_code == 200
    assert published.json["previous"] == 1 and len(published.json["changes"]) == 2
    assert hr.post(f"/api/v1/ruleset/{draft_id}/publish", json={}).status_code == 409
    files = hr.get(f"/api/v1/ruleset/{draft_id}/export").json["files"]
    assert 'code = "kpi_output"' in files["indicators.toml"]


def test_published_versions_refuse_every_change(hr):
    indicator = hr.get("/api/v1/rule_indicator/?q=(page_size:1)").json
    ind_id = indicator["ids"][0]
    assert hr.put(f"/api/v1/rule_indicator/{ind_id}", json={"name": "改名"}).status_code == 409
    assert hr.delete(f"/api/v1/rule_indicator/{ind_id}").status_code == 409
    assert hr.post("/api/v1/rule_indicator/", json={**INDICATOR, "version_id": 1}).status_code == 409
    grade = hr.get("/api/v1/rule_grade_band/?q=(page_size:1)").json["ids"][0]
    assert hr.put(f"/api/v1/rule_grade_band/{grade}", json={"min_total": 50}).status_code == 409
    assert hr.delete("/api/v1/ruleset/1").status_code == 409
    assert hr.get(f"/api/v1/rule_indicator/{ind_id}").json["result"]["name"] != "改名"


def test_a_publish_with_a_failing_test_is_refused(hr, draft_id):
    ind = hr.get(f"/api/v1/rule_indicator/?q=(filters:!((col:version_id,opr:eq,value:{draft_id}),"
                 "(col:code,opr:eq,value:kpi_rework)))").json["ids"][0]
    # the row-level check refuses this edit …
    piecewise = "PIECEWISE(value, 0, 100, target, 80, 0.2, 0)"
    r = hr.put(f"/api/v1/rule_indicator/{ind}", json={"score_formula": piecewise})
    assert r.status_code == 422 and r.json["error"]["code"] == "TEST_FAILED"
    # … and a draft discarded leaves the editor, kept for a while to be restored
    assert hr.delete(f"/api/v1/ruleset/{draft_id}").status_code == 200
    assert hr.get(f"/api/v1/ruleset/{draft_id}").json["result"]["discarded_at"] is not None
    assert hr.put(f"/api/v1/rule_indicator/{ind}", json={"name": "改名"}).status_code == 422
    assert hr.delete(f"/api/v1/ruleset/{draft_id}").status_code == 422
    assert hr.post(f"/api/v1/ruleset/{draft_id}/restore").status_code == 200
    assert hr.get(f"/api/v1/ruleset/{draft_id}").json["result"]["discarded_at"] is None
    assert hr.post(f"/api/v1/ruleset/{draft_id}/restore").status_code == 422  # nothing to restore


@pytest.mark.parametrize("username,read,write", [
    ("admin", 200, 201), ("hr", 200, 201), ("manager1", 200, 403), ("sup1", 200, 403), ("emp1", 403, 403),
])
def test_who_may_read_and_write(api_as, username, read, write):
    api = api_as(username)
    assert api.get("/api/v1/rule_indicator/").status_code == read
    assert api.get("/api/v1/ruleset/").status_code == read
    assert api.post("/api/v1/ruleset/", json={}).status_code == write


def test_bad_input_is_never_a_server_error(hr, draft_id):
    for body in ({"version_id": [[]], "code": "x"},
                 {"version_id": 10**12, "code": "x", "name": "n", "category": "其他", "score_formula": "1"},
                 {**INDICATOR, "version_id": draft_id, "position": 2**40},
                 {**INDICATOR, "version_id": draft_id, "tests": "not json"}):
        r = hr.post("/api/v1/rule_indicator/", json=body)
        assert r.status_code in (400, 422), (body, r.status_code, r.json)
    assert hr.post("/api/v1/ruleset/", json={"based_on_id": "x"}).status_code == 422
