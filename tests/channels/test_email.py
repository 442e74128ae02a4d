"""A mail: text and HTML, escaped, with absolute links and a Message-ID that a resend repeats; handed to
a real SMTP server; an unreachable server is a MailError, not a hang."""

from __future__ import annotations

import datetime as dt

import pytest

from app.notify import email

AT = dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC)


def _items():
    return [email.Item("To review: EMP1 <b>", "EMP1 waits for your review.", "EMP1 &lt;b&gt; waits",
                       email.absolute("http://jx.example/", "/appraisal/show/12")),
            email.Item("Published", "Your result is published.", "Your result", "http://jx.example/x")]


def test_a_mail_is_multipart_text_and_html_with_absolute_links(appctx):
    message = email.compose(sender="jixiao@localhost", to="sup1@demo.jixiao.local", items=_items(),
                            locale="en", keys=["mail:a:1", "mail:b:1"], base_url="http://jx.example", at=AT)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "http://jx.example/appraisal/show/12" in text
    assert 'href="http://jx.example/appraisal/show/12"' in html
    assert "EMP1 waits for your review." in text
    assert "<b>" not in html and "&lt;b&gt;" in html  # the title escaped, the fragment kept as escaped
    assert message["Subject"] == "2 new notifications"
    assert message["Message-ID"] == email.message_id(["mail:b:1", "mail:a:1"])
    assert message["Date"] and message["From"] == "jixiao@localhost"


def test_one_item_is_its_own_subject(appctx):
    message = email.compose(sender="a@b", to="c@d", items=_items()[:1], locale="zh_CN", keys=["k"],
                            base_url="http://jx.example", at=AT)
    assert message["Subject"] == "To review: EMP1 <b>"


@pytest.mark.parametrize(("link", "url"), [("/appraisal/show/1", "http://h/appraisal/show/1"),
                                           (None, "http://h/notifications/"),
                                           ("//evil.example/x", "http://h/notifications/"),
                                           ("https://evil.example/", "http://h/notifications/")])
def test_only_stored_paths_become_links(link, url):
    assert email.absolute("http://h/", link) == url


def test_the_server_receives_it(appctx, smtp_server):
    message = email.compose(sender="jixiao@localhost", to="sup1@demo.jixiao.local", items=_items(),
                            locale="en", keys=["k"], base_url="http://h", at=AT)
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5}
    with email.connection(config) as smtp:
        email.send(smtp, message)
    assert smtp_server.recipients == [["sup1@demo.jixiao.local"]]
    received = smtp_server.messages[0]
    assert received["Message-ID"] == message["Message-ID"]
    assert {part.get_content_type() for part in received.iter_parts()} == {"text/plain", "text/html"}


def test_a_server_that_is_down_is_a_mail_error(smtp_down):
    with pytest.raises(email.MailError, match="ConnectionRefused"), \
            email.connection({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_down.port, "MAIL_TIMEOUT": 2}):
        pass
