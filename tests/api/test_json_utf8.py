"""Answers are UTF-8 JSON: Chinese travels as itself (not ``\\uXXXX``), the type says its charset, and
JSON inlined in a page stays inside its element (``tojson``), U+2028 and U+2029 escaped everywhere."""

from __future__ import annotations

import json

from flask import render_template_string


def test_a_chinese_name_arrives_as_utf8_bytes(api_as):
    answer = api_as("hr").get("/api/v1/appraisal/?q=(page_size:5)")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    name = answer.json["result"][0]["employee_name"]
    assert name and not name.isascii()
    assert name.encode() in answer.data and b"\\u" not in answer.data
    assert json.loads(answer.data.decode("utf-8")) == answer.json


def test_an_error_answer_is_utf8_too(api_as, app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        body = app.json.response({"message": "找不到"})
    assert body.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body.data == '{"message":"找不到"}\n'.encode()


def test_line_and_paragraph_separators_stay_escaped(app):
    text = app.json.dumps({"a": "一\u2028二\u2029三"})
    assert "\u2028" not in text and "\u2029" not in text
    assert "\\u2028" in text and "\\u2029" in text and "一" in text
    assert json.loads(text) == {"a": "一\u2028二\u2029三"}


def test_json_inlined_in_a_page_cannot_close_its_element(app):
    hostile = "</script><script>alert(1)</script>' & \"张三\"\u2028"
    with app.test_request_context():
        page = render_template_string("<script>var x = {{ v|tojson }};</script>"
                                      "<b data-x='{{ v|tojson }}'></b>", v=hostile)
    inline = page.removeprefix("<script>var x = ").split(";</script>")[0]
    assert "<" not in inline and ">" not in inline and "'" not in inline and "&" not in inline
    assert "\u2028" not in page and "张三" in page
    assert json.loads(inline) == hostile
    assert page.count("<script>") == 1 and page.count("</script>") == 1
