"""POST /api/v1/formula/check and GET /api/v1/formula/catalogue: the formula check API of the REST API."""

from __future__ import annotations

import pytest

from tests.factories import csrf_token

CHECK = "/api/v1/formula/check"


@pytest.fixture
def emp(api_as):
    return api_as("emp1")  # any signed-in user may check a formula


def check(api, expression, variables=None, **extra):
    body = {"expression": expression, "variables": variables or {}, **extra}
    r = api.post(CHECK, json=body)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json


def test_a_valid_formula_gives_value_trace_and_explanation(emp):
    out = check(emp, "一次修复率 * 100", {"first_fix_rate": 0.92})
    assert out["ok"] is True and out["value"] == pytest.approx(92)
    assert out["explanation"] == "一次修复率 0.92 × 100 = 92" and out["names"] == ["first_fix_rate"]
    assert {"source": "一次修复率", "value": 0.92} in out["trace"]
    assert out["trace"][-1]["value"] == pytest.approx(92)


def test_a_catalogue_variable_without_a_value_is_na(emp):
    out = check(emp, "一次修复率 * 100")
    assert out == {**out, "ok": True, "value": None}
    assert check(emp, "COALESCE(一次修复率, 0.5) * 100")["value"] == pytest.approx(50)


def test_an_unknown_name_is_refused_with_position_and_did_you_mean(emp):
    out = check(emp, "100 * 一次修复律")
    assert out["ok"] is False
    error = out["error"]
    assert error["code"] == "UNKNOWN_NAME" and error["position"] == 6
    assert "一次修复率" in error["suggestions"] and "一次修复律" in error["message"]


def test_the_request_variables_extend_the_names(emp):
    assert check(emp, "value * 2", {"value": 3})["value"] == 6
    assert check(emp, "value * 2")["error"]["code"] == "UNKNOWN_NAME"
    assert check(emp, "IF(value >= target, 100, 60)", {"value": None, "target": 0.9})["value"] is None
    assert check(emp, 'grade == "A"', {"grade": "A"})["value"] == 1
    assert check(emp, 'TAGGED("新技术") * 10', {}, tags={"新技术": 3})["value"] == 30


@pytest.mark.parametrize("expression,variables,code", [
    ("(1 + 2", {}, "SYNTAX"),
    ("orders / period_days", {"orders": 5, "period_days": 0}, "DIVIDE_BY_ZERO"),
    ("MAXX(1, 2)", {}, "UNKNOWN_FUNCTION"),
    ("orders.__class__", {}, "FORBIDDEN"),
    ("1" * 1001, {}, "TOO_LONG"),
    ("10 ** 10 ** 10", {}, "NUMBER_TOO_BIG"),
])
def test_errors_come_back_as_values(emp, expression, variables, code):
    out = check(emp, expression, variables)
    assert out["ok"] is False and out["error"]["code"] == code and out["error"]["message"]


def test_messages_follow_the_locale(api_as):
    api = api_as("hr")
    r = api.post(CHECK + "?_l_=en", json={"expression": "1 / 0", "variables": {}})
    assert r.json["error"]["message"] == "Division by zero"
    r = api.post(CHECK, json={"expression": "1 / 0", "variables": {}})
    assert r.json["error"]["message"] == "除数为 0"


@pytest.mark.parametrize("body", [
    "not json", {"expression": 5}, {"expression": "1", "variables": []},
    {"expression": "1", "variables": {"x": [1]}}, {"expression": "1", "variables": {"x": float("inf")}},
    {"expression": "1", "variables": {"": 1}}, {"expression": "1", "tags": {"a": -1}},
])
def test_bad_requests_answer_400(emp, body):
    r = emp.post(CHECK, json=body) if not isinstance(body, str) else emp.post(CHECK, data=body)
    assert r.status_code == 400 and r.json["message"]


@pytest.mark.parametrize("length", [1001, 30_000])
def test_a_formula_too_long_is_told_so_with_the_limit_in_the_reader_s_language(api_as, length):
    api = api_as("hr")
    error = check(api, "x" * length)["error"]
    assert (error["code"], error["length"], error["limit"]) == ("TOO_LONG", length, 1000)
    assert error["message"] == f"公式有 {length} 个字符，最多允许 1000 个"
    r = api.post(CHECK + "?_l_=en", json={"expression": "x" * length})
    assert r.status_code == 200
    assert r.json["error"]["message"] == f"The formula has {length} characters; at most 1000 are allowed"


def test_signing_in_is_required_and_cookie_calls_need_the_csrf_token(app, login_as):
    assert app.test_client().post(CHECK, json={"expression": "1"}).status_code == 401
    browser = login_as("emp2")
    assert browser.post(CHECK, json={"expression": "1"}).status_code == 400
    token = csrf_token(browser, "/")
    r = browser.post(CHECK, json={"expression": "1 + 1"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json["value"] == 2


def test_the_catalogue_lists_variables_and_functions_in_both_languages(emp):
    r = emp.get("/api/v1/formula/catalogue")
    assert r.status_code == 200
    variables = {v["code"]: v for v in r.json["variables"]}
    assert variables["first_fix_rate"]["zh"] == "一次修复率" and variables["first_fix_rate"]["en"]
    assert variables["station_first_fix_rate"]["zh"] == "站点一次修复率"
    functions = {f["name"]: f for f in r.json["functions"]}
    assert {"IF", "PIECEWISE", "BAND", "TAGGED", "TAGGED_RATE", "COALESCE"} <= set(functions)
    assert functions["IF"]["zh"] and functions["IF"]["en"] and functions["IF"]["signature"]
    rule_names = {v["code"] for v in r.json["rule_names"]}
    assert rule_names >= {"value", "target", "total", "grade", "bonus_base", "coefficient"}


# --- a weight: checked as saving a template or SWOT line checks it ---


@pytest.mark.parametrize("weight,code", [("-5", "BAD_VALUE"), ("-0.5", "BAD_VALUE")])
def test_a_weight_saving_refuses_is_refused_by_the_live_check(emp, weight, code):
    assert check(emp, weight)["ok"] is True  # as a formula of no role it is a number like any other
    out = check(emp, weight, role="weight")
    assert out["ok"] is False and out["error"]["code"] == code
    assert out["error"]["message"] == "权重不能为负数"


def test_a_weight_reading_a_personal_metric_is_warned_as_saving_warns(emp):
    out = check(emp, "一次修复率 * 10", role="weight")
    assert out["ok"] is True and [w["code"] for w in out["warnings"]] == ["PERSONAL_WEIGHT"]
    assert "站点一次修复率" in out["warnings"][0]["message"]
    r = emp.post(CHECK + "?_l_=en", json={"expression": "first_fix_rate * 10", "role": "weight"})
    assert r.json["warnings"][0]["message"].startswith("the weight formula uses the personal variable")
    assert "warnings" not in check(emp, "一次修复率 * 10")  # no role: no weight rule


@pytest.mark.parametrize("weight", ["30", "(-5)", "5 + 20 * COALESCE(站点一次修复率, 0.5)"])
def test_a_weight_saving_takes_without_a_word_is_ok_without_warnings(emp, weight):
    out = check(emp, weight, role="weight")
    assert out["ok"] is True and out["warnings"] == []


def test_an_unknown_role_is_a_400(emp):
    r = emp.post(CHECK, json={"expression": "1", "variables": {}, "role": "total"})
    assert r.status_code == 400 and "weight" in r.json["message"]
