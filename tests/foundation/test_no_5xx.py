"""Requests that once answered 500, each now a 4xx with a readable message (README, Security).

The request boundary (app.hardening) refuses what the application cannot use; filter values are
made their column's type or refused (every query of our models); FAB's screens get their list
arguments checked before FAB reads them. The cases are grouped per test: each test costs a database.
"""

from sqlalchemy import func, select

from app.extensions import db
from app.models import RuleSetVersion
from tests.conftest import csrf_token

BIG = "1" + "0" * 30  # beyond 64 bits
DEEP = "[" * 1000 + "]" * 1000


def rison_filter(col: str, value: str, opr: str = "eq") -> str:
    return f"(filters:!((col:{col},opr:{opr},value:{value})))"


def test_unusable_q_values_are_400(api_as):
    api = api_as("hr")
    cases = [
        (resource, rison_filter(col, BIG)) for resource, col in [
            ("workorder", "technician_id"), ("employee", "station_id"), ("survey", "station_id"),
            ("laborcost", "employee_id"), ("rule_indicator", "version_id"), ("ruleset", "number"),
            ("cycle", "name"), ("station", "code"), ("appraisal", "total")]
    ] + [
        ("appraisal", rison_filter("employee", BIG, "rel_o_m")),
        ("appraisal", rison_filter("employee", "abc", "rel_o_m")),  # PostgreSQL: not an integer key
        ("appraisal", rison_filter("state", "foo")),  # not one of the states
        ("appraisal", rison_filter("total", "abc", "gt")),  # PostgreSQL: not a numeric
        ("appraisal", rison_filter("total", "1e999", "gt")),
        ("appraisal", rison_filter("is_current", "405")),  # PostgreSQL: a boolean is not a number
        ("appraisal", '{"filters":[{"col":"grade","opr":"eq","value":"x\\ud800y"}]}'),  # FAB's JSON form of q
    ]
    for resource, q in cases:
        r = api.get(f"/api/v1/{resource}/", query_string={"q": q})
        assert r.status_code == 400 and r.json["message"], (resource, q, r.get_data(as_text=True))


def test_a_number_for_a_text_column_is_its_text(api_as):
    api = api_as("hr")
    for q in [rison_filter("code", "1", "sw"), rison_filter("code", "!(1,2)", "in"),
              rison_filter("code", "!(1)", "ct")]:
        r = api.get(f"/api/v1/station/?q={q}")
        assert r.status_code == 200, (q, r.get_data(as_text=True))


def test_unusable_json_bodies_are_400(api_as, client):
    api = api_as("hr")
    cases = [
        ("/api/v1/formula/check", '{"expression": "a + 1", "variables": {"a": %s}}' % ("9" * 400)),
        ("/api/v1/formula/check", '{"expression": "a", "variables": {"a": NaN}}'),
        ("/api/v1/appraisal/1/review", '{"adjustment": %s}' % ("9" * 300)),
        ("/api/v1/appraisal/1/review", '{"adjustment": 1e300}'),  # beyond any field of ours
        ("/api/v1/formula/check", DEEP),
        ("/api/v1/station/", DEEP),
        ("/api/v1/ruleset/", DEEP),
        ("/api/v1/appraisal/1/transition", DEEP),
    ]
    for path, body in cases:
        r = api.post(path, data=body, content_type="application/json")
        assert r.status_code == 400 and r.json["message"], (path, body[:40], r.get_data(as_text=True))
    for body in ["[]", '"x"', "null", "1"]:
        r = api.put("/api/v1/station/1", data=body, content_type="application/json")
        assert r.status_code == 400 and r.json["message"], (body, r.get_data(as_text=True))
    for path in ["/api/v1/verify", "/api/v1/security/login"]:  # anonymous callers alike
        r = client.post(path, data='{"a": ' + DEEP + "}", content_type="application/json")
        assert r.status_code == 400 and r.json["message"], (path, r.get_data(as_text=True))


def test_lone_surrogate_is_refused_and_nothing_is_created(api_as, appctx):
    before = db.session.scalar(select(func.count()).select_from(RuleSetVersion))
    r = api_as("hr").post("/api/v1/ruleset/", data='{"note": "x\\ud800y"}', content_type="application/json")
    assert r.status_code == 400 and r.json["message"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RuleSetVersion)) == before


def test_a_key_naming_no_row_is_422_naming_the_field(api_as):
    body = {"employee_no": "E404", "name": "无站", "station_id": 100, "position": "维修技师"}
    r = api_as("hr").post("/api/v1/employee/", json=body)
    assert r.status_code == 422 and "100" in r.json["message"]


def test_metrics_far_in_the_future_are_400(api_as, login_as):
    r = api_as("hr").get("/api/v1/metrics/EMP1?start=2026-01-01&end=9999-12-31")
    assert r.status_code == 400 and "9999-12-31" in r.json["message"]
    page = login_as("hr").get("/metrics/?employee=6&start=2026-01-01&end=9999-12-31")
    assert page.status_code == 200 and "9999-12-31 之前结束" in page.get_data(as_text=True)


def test_screen_arguments_fab_cannot_read_are_4xx_with_the_translated_page(login_as):
    browser = login_as("admin")
    cases = [
        ("/appraisal/list/?page_AppraisalView=abc", 400),
        ("/appraisal/list/?psize_AppraisalView=1.5", 400),
        ("/appraisal/list/?page_AppraisalView=99999999999999999999", 400),
        ("/appraisal/list/?_oc_AppraisalView=employee&_od_AppraisalView=asc", 400),
        ("/appraisal/list/?_oc_AppraisalView=nope&_od_AppraisalView=desc", 400),
        ("/appraisal/list/?_flt_0_state=foo", 400),
        ("/appraisal/list/?_flt_9_state=draft", 400),
        ("/appraisal/list/?_flt_0_employee=abc", 400),
        ("/employeeview/list/?_flt_0_hired_on=abc", 400),
        ("/users/list/?page_UserDBModelView=abc", 400),  # FAB's own screens too
        ("/employeeview/download/x", 404),
    ]
    for url, status in cases:
        r = browser.get(url)
        assert r.status_code == status, url
        assert 'class="navbar' in r.get_data(as_text=True), url  # the application's page, with its menu
    r = browser.get("/appraisal/list/?page_AppraisalView=0&psize_AppraisalView=50"
                    "&_oc_AppraisalView=total&_od_AppraisalView=desc&_flt_0_state=draft")
    assert r.status_code == 200


def test_unknown_screen_actions_are_404(login_as):
    browser = login_as("admin")
    token = csrf_token(browser, "/employeeview/list/")
    assert browser.post("/employeeview/action/foo/4", data={"csrf_token": token}).status_code == 404
    r = browser.post("/employeeview/action_post", data={"csrf_token": token, "action": "foo", "rowid": "4"})
    assert r.status_code == 404
