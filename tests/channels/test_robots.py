"""Robot messages: each vendor's body and signature, checked by a listener that verifies them the way
the vendor documents it; a refusal or a server error is a failure with its reason."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from app.notify import robots

AT = dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_dingtalk_sign_matches_a_published_known_answer():
    # docs.rs dingding crate's test: secret "secret" at 1700000000000, URL-encoded.
    assert robots.sign_dingtalk("secret", 1700000000000) == "OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY="


def test_dingtalk_puts_timestamp_in_ms_and_the_url_encoded_sign_in_the_query():
    url, body = robots.build("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=T", "SECx",
                             "**S01**：待审核 5", "绩效", AT)
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["T"]
    assert query["timestamp"] == [str(int(AT.timestamp() * 1000))]
    assert query["sign"] == [robots.sign_dingtalk("SECx", int(AT.timestamp() * 1000))]
    assert "%2B" in url or "%2F" in url or "%3D" in url  # quote_plus'd
    assert json.loads(body) == {"msgtype": "markdown",
                                "markdown": {"title": "绩效", "text": "**S01**：待审核 5"}}


def test_feishu_signs_in_the_body_with_seconds():
    url, body = robots.build("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/x", "s", "hi", "t", AT)
    data = json.loads(body)
    assert url.endswith("/hook/x")
    assert data["timestamp"] == str(int(AT.timestamp()))
    assert data["sign"] == robots.sign_feishu("s", int(AT.timestamp()))
    assert data["msg_type"] == "text" and data["content"] == {"text": "hi"}


def test_unsigned_robots_carry_no_signature():
    _, feishu = robots.build("feishu", "https://h/x", None, "hi", "t", AT)
    assert "sign" not in json.loads(feishu)
    url, _ = robots.build("dingtalk", "https://h/robot/send?access_token=T", None, "hi", "t", AT)
    assert "sign=" not in url


def test_wecom_markdown_is_cut_to_4096_bytes_of_utf8():
    _, body = robots.build("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", None,
                           "待审核" * 2000, "t", AT)
    content = json.loads(body)["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("…")


@pytest.mark.parametrize("kind", robots.KINDS)
def test_each_robot_is_taken_by_a_listener_that_verifies_it(robot_listener, kind):
    robot_listener.now = lambda: AT
    url, body = robots.build(kind, robot_listener.url(kind), robot_listener.secrets.get(kind)
                             if kind in robots.SIGNED else None, "S01：待审核 5", "绩效", AT)
    robots.post(kind, url, body, timeout=5)
    assert [r.verified for r in robot_listener.received] == [True]


@pytest.mark.parametrize("kind", sorted(robots.SIGNED))
def test_a_wrong_secret_is_refused_with_the_vendors_code(robot_listener, kind):
    robot_listener.now = lambda: AT
    url, body = robots.build(kind, robot_listener.url(kind), "not-the-secret", "x", "t", AT)
    with pytest.raises(robots.RobotError, match="310000" if kind == "dingtalk" else "19021"):
        robots.post(kind, url, body, timeout=5)


def test_a_timestamp_over_an_hour_old_is_refused(robot_listener):
    robot_listener.now = lambda: AT + dt.timedelta(hours=2)
    url, body = robots.build("feishu", robot_listener.url("feishu"), robot_listener.secrets["feishu"],
                             "x", "t", AT)
    with pytest.raises(robots.RobotError, match="19021"):
        robots.post("feishu", url, body, timeout=5)


def test_a_server_error_or_no_server_is_a_failure(robot_listener):
    robot_listener.fail_with = 500
    url, body = robots.build("wecom", robot_listener.url("wecom"), None, "x", "t", AT)
    with pytest.raises(robots.RobotError, match="HTTP 500"):
        robots.post("wecom", url, body, timeout=5)
    with pytest.raises(robots.RobotError):
        robots.post("wecom", "http://127.0.0.1:9/x", body, timeout=2)


@pytest.mark.parametrize(("url", "allow_http", "bad"), [
    ("https://oapi.dingtalk.com/robot/send?access_token=x", False, False),
    ("http://oapi.dingtalk.com/robot/send?access_token=x", False, True),
    ("http://127.0.0.1:8000/x", True, False),
    ("ftp://h/x", True, True),
    ("https://user:pw@h/x", False, True),
    ("javascript:alert(1)", True, True),
])
def test_only_https_addresses_unless_allowed(url, allow_http, bad):
    assert (robots.url_problem(url, allow_http=allow_http) is not None) is bad


def test_the_screen_shows_the_host_and_the_last_four_characters_only():
    assert robots.masked("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef-1234") \
        == "qyapi.weixin.qq.com …1234"
