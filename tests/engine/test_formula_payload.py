"""The JSON shapes of POST /api/v1/formula/check and GET /api/v1/formula/catalogue."""

from __future__ import annotations

import json

from app.engine import catalogue_payload, check_expression


def test_check_ok_with_trace_and_line():
    out = check_expression("一次修复率 * 100", {"一次修复率": 0.92})
    assert out["ok"] is True and out["value"] == 92.0
    assert out["trace"] == [{"source": "一次修复率", "value": 0.92},
                            {"source": "一次修复率 * 100", "value": 92.0}]
    assert out["explanation"] == "一次修复率 0.92 × 100 = 92"
    assert out["names"] == ["first_fix_rate"]
    json.dumps(out)


def test_catalogue_variable_without_value_is_na_and_unknown_name_is_an_error():
    assert check_expression("COALESCE(回访率, 1) + x", {"x": 1})["value"] == 2
    assert check_expression("回访率 + 1", {})["value"] is None
    out = check_expression("一次修复 * 100", {}, locale="en")
    assert out == {"ok": False, "error": {"code": "UNKNOWN_NAME", "message": out["error"]["message"],
                                          "position": 0, "suggestions": ["一次修复率", "站点一次修复率"]}}
    assert "Did you mean" in out["error"]["message"]


def test_text_variables_compare_and_bad_input_is_an_error_value():
    assert check_expression("grade == 'A'", {"grade": "A"})["value"] == 1
    assert check_expression("grade + 1", {"grade": "A"})["error"]["code"] == "TYPE"
    assert check_expression("x", {"x": [1]})["error"]["code"] == "TYPE"
    assert check_expression("x", [1])["error"]["code"] == "TYPE"
    assert check_expression(None, {})["error"]["code"] == "TYPE"
    assert check_expression("1/0", None)["error"]["code"] == "DIVIDE_BY_ZERO"


def test_catalogue_payload_lists_variables_and_functions_in_both_languages():
    payload = catalogue_payload(locale="en")
    first = payload["variables"][0]
    assert first == {"code": "orders", "zh": "工单数", "en": "Orders", "name": "Orders",
                     "description": "Orders completed in the period", "category": "工作效率",
                     "kind": "number"}
    assert {f["name"] for f in payload["functions"]} >= {"IF", "PIECEWISE", "TAGGED_RATE"}
    assert catalogue_payload()["variables"][0]["name"] == "工单数"
    json.dumps(payload)
