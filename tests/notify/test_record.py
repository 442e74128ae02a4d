"""Writing notifications: one row per user and key (a repeat adds nothing), mail rows only with a mail
server and the user's consent (held for the digest), and the texts in both languages without results."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, NotificationPreference, Outbox
from app.notify import messages, record
from tests.factories import make_app


def user_id(app, username: str) -> int:
    return app.appbuilder.sm.find_user(username=username).id


def test_a_key_notifies_each_user_once(appctx):
    sup1, hr = user_id(appctx, "sup1"), user_id(appctx, "hr")
    users = {sup1: {"you_act_for": None}, hr: {}}
    assert record.notify_users(db.session, key="audit:1", kind="act", users=users, params={"cycle": "C"},
                               link="/appraisal/show/1", appraisal_id=1) == 2
    assert record.notify_users(db.session, key="audit:1", kind="act", users=users, params={"cycle": "C"},
                               link="/appraisal/show/1", appraisal_id=1) == 0
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.key == "audit:1")).all()
    assert {(r.user_id, r.key, r.read_at) for r in rows} == {(sup1, "audit:1", None), (hr, "audit:1", None)}
    assert db.session.scalar(select(Outbox.id)) is None  # no MAIL_SERVER: in-app only
    assert "jixiao_outbox" not in db.session.info


def test_a_link_is_a_path_inside_the_application(appctx):
    with pytest.raises(ValueError):
        record.notify_users(db.session, key="k", kind="act", users={1: {}}, params={},
                            link="https://evil.example/")
    db.session.rollback()


@pytest.fixture
def mail_app(database_url):
    application = make_app(database_url, MAIL_SERVER="127.0.0.1", JIXIAO_JOB_RUNNER="none")
    with application.app_context():
        yield application
        db.session.remove()
    application.extensions["jixiao_jobs"].stop(timeout=30)


def test_mail_rows_follow_the_preferences_and_are_only_queued(mail_app):
    sup1, sup2, hr = (user_id(mail_app, u) for u in ("sup1", "sup2", "hr"))
    db.session.add(NotificationPreference(user_id=sup2, email=False))
    db.session.add(NotificationPreference(user_id=hr, digest=True))
    db.session.commit()
    record.notify_users(db.session, key="audit:7", kind="act", users={sup1: {}, sup2: {}, hr: {}},
                        params={}, link="/appraisal/show/7")
    assert db.session.info.get("jixiao_outbox") is True
    db.session.commit()
    rows = {r.user_id: r for r in db.session.scalars(select(Outbox))}
    assert set(rows) == {sup1, hr}
    assert rows[sup1].state == "pending" and rows[hr].state == "held"
    assert rows[sup1].recipient == "sup1@demo.jixiao.local" and rows[sup1].channel == "email"
    assert rows[sup1].idempotency_key == f"mail:audit:7:{sup1}"
    assert rows[sup1].payload == {"notification_keys": ["audit:7"], "user_id": sup1}
    assert rows[sup1].attempts == 0 and rows[sup1].sent_at is None
    # the same event again: no second mail
    record.notify_users(db.session, key="audit:7", kind="act", users={sup1: {}}, params={},
                        link="/appraisal/show/7")
    db.session.commit()
    assert len(db.session.scalars(select(Outbox)).all()) == 2


@pytest.mark.parametrize("kind", messages.KINDS)
def test_every_kind_renders_in_both_languages_and_escapes(appctx, kind):
    params = {"cycle": "2026-11", "employee_no": "EMP1", "employee": "<b>张三</b>",
              "state": messages.bilingual("待审核", "Pending review"),
              "action": messages.bilingual("提交", "Submit"), "by": "人力资源", "count": 3, "done": 1,
              "needed": 2, "due": "2026-12-10T15:59:59+00:00", "reason": "休假", "level": 1,
              "late_party": messages.bilingual("主管", "Supervisor"),
              "job": messages.bilingual("计算", "Compute"), "date": "2026-12-02"}
    zh = messages.render(kind, params, "zh_CN")
    en = messages.render(kind, params, "en")
    assert zh.title and en.title  # their Chinese comes from the catalogs (notify.tsv)
    assert "<b>" not in zh.html_fragment and "<b>" not in en.html_fragment
    if kind in (messages.ACT, messages.REMINDER):
        assert "待审核" in zh.title + zh.text and "Pending review" in en.title + en.text
    if kind in (messages.REMINDER, messages.ESCALATION):
        assert "2026-12-10" in en.text  # 23:59:59 local in Shanghai
