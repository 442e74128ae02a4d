"""The list screen, the API (read/unread, preferences), the bell's count on every page (one COUNT), and a
request that causes notifications sends nothing: it only writes rows."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Notification, Outbox
from app.notify import record
from tests.conftest import csrf_token


def _uid(app, username):
    return app.appbuilder.sm.find_user(username=username).id


def _seed(app, username, n, start=0):
    """``n`` notifications for ``username``; their ids."""
    with app.app_context():
        uid = _uid(app, username)
        for i in range(start, start + n):
            record.notify_users(db.session, key=f"test:{i}", kind="act", users={uid: {}},
                                params={"cycle": "C", "employee_no": f"EMP{i}", "employee": "<i>x</i>"},
                                link=f"/appraisal/show/{i}")
        db.session.commit()
        ids = db.session.scalars(select(Notification.id).where(Notification.user_id == uid,
                                                               Notification.key.like("test:%"))).all()
        db.session.remove()
    return sorted(ids)


def _unread(app, username):
    with app.app_context():
        uid = _uid(app, username)
        n = db.session.scalar(select(db.func.count()).select_from(Notification)
                              .where(Notification.user_id == uid, Notification.read_at.is_(None)))
        db.session.remove()
    return n


def test_the_api_lists_counts_and_marks_read_only_the_callers_own(app, api_as):
    mine, theirs = _seed(app, "sup1", 3), _seed(app, "sup2", 1, start=10)
    sup1 = api_as("sup1")
    before = sup1.get("/api/v1/notification/unread").json["unread"]
    listed = sup1.get("/api/v1/notification/?unread=1").json
    assert listed["count"] == before and {r["id"] for r in listed["result"]} >= set(mine)
    first = next(r for r in listed["result"] if r["id"] == mine[-1])
    assert first["unread"] and first["link"] == f"/appraisal/show/{2}" and first["title"]
    assert "<i>" in first["text"]  # plain text; the screens escape it
    # another person's id changes nothing
    r = sup1.post("/api/v1/notification/read", json={"ids": [theirs[0], mine[0]]})
    assert r.status_code == 200 and r.json["marked"] == 1
    assert _unread(app, "sup2") >= 1 and sup1.get("/api/v1/notification/unread").json["unread"] == before - 1
    for bad in ({"ids": []}, {"ids": ["1"]}, {"ids": [True]}, {"all": False}, [1],
                {"all": True, "ids": [1]}):
        r = sup1.post("/api/v1/notification/read", json=bad)
        assert r.status_code in (400, 422) and r.json["message"], bad  # 400: not a JSON object
    assert sup1.get("/api/v1/notification/?page=x").status_code == 422
    r = sup1.post("/api/v1/notification/read", json={"all": True})
    assert r.json["marked"] == before - 1
    assert sup1.get("/api/v1/notification/unread").json == {"unread": 0}
    assert sup1.get("/api/v1/notification/?unread=1").json["count"] == 0
    assert sup1.get("/api/v1/notification/").json["count"] >= 3


def test_the_api_preferences_keep_what_is_left_out_and_refuse_bad_values(app, api_as):
    api = api_as("emp1")
    assert api.get("/api/v1/notification/preferences").json == {"email": True, "digest": False,
                                                               "locale": None}
    r = api.put("/api/v1/notification/preferences", json={"digest": True, "locale": "en"})
    assert r.status_code == 200 and r.json == {"email": True, "digest": True, "locale": "en"}
    for bad in ({"locale": "fr"}, {"email": "yes"}, {"colour": "red"}, [1]):
        assert api.put("/api/v1/notification/preferences", json=bad).status_code in (400, 422)
    assert api.get("/api/v1/notification/preferences").json == {"email": True, "digest": True,
                                                               "locale": "en"}


def test_the_list_opens_an_item_read_and_follows_only_paths(app, login_as):
    ids = _seed(app, "sup1", 2)
    browser = login_as("sup1")
    page = browser.get("/notifications/?unread=1").get_data(as_text=True)
    assert f'data-notification="{ids[0]}"' in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "<i>x</i>" not in page
    token = csrf_token(browser, "/notifications/")
    r = browser.post(f"/notifications/{ids[0]}/open", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/appraisal/show/0")
    with app.app_context():
        assert db.session.get(Notification, ids[0]).read_at is not None
        assert db.session.get(Notification, ids[1]).read_at is None
    theirs = _seed(app, "sup2", 1, start=20)
    assert browser.post(f"/notifications/{theirs[0]}/open", data={"csrf_token": token}).status_code == 404
    r = browser.post("/notifications/read-all", data={"csrf_token": token})
    assert r.status_code == 302 and _unread(app, "sup1") == 0 and _unread(app, "sup2") >= 1


def test_the_settings_screen_saves_and_refuses_an_unknown_language(app, login_as):
    browser = login_as("emp1")
    token = csrf_token(browser, "/notifications/settings")
    r = browser.post("/notifications/settings", data={"csrf_token": token, "digest": "1", "locale": "en"})
    assert r.status_code == 302
    r = browser.post("/notifications/settings", data={"csrf_token": token, "email": "1", "locale": "xx"})
    assert r.status_code == 422
    with app.app_context():
        assert record.preferences(db.session, _uid(app, "emp1")) == {"email": False, "digest": True,
                                                                      "locale": "en"}


@pytest.mark.parametrize("path", ["/", "/appraisal/inbox/", "/notifications/"])
def test_the_bell_shows_the_unread_count_with_one_count(app, login_as, path):
    _seed(app, "sup1", 3)
    expected = _unread(app, "sup1")
    browser = login_as("sup1")
    counts = []

    def count_statements(conn, cursor, statement, parameters, context, executemany):
        text = statement.lower()
        if "count(" in text and "from notification" in text and "read_at is null" in text:
            counts.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statements)
    try:
        html = browser.get(path).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count_statements)
    assert f'<span class="badge jx-unread-badge">{expected}</span>' in html
    assert len(counts) == 1


def test_no_badge_without_unread_and_none_signed_out(app, login_as, client, api_as):
    api_as("emp3").post("/api/v1/notification/read", json={"all": True})
    html = login_as("emp3").get("/").get_data(as_text=True)
    assert "jx-bell" in html and "jx-unread-badge" not in html
    assert "jx-bell" not in client.get("/login/").get_data(as_text=True)


def test_a_request_that_notifies_sends_nothing_it_only_writes_rows(outbox_app, monkeypatch):
    outbox_app.config["MAIL_SERVER"] = "127.0.0.1"
    outbox_app.config["MAIL_PORT"] = 9  # nothing listens there: a send would fail or hang
    opened = []
    monkeypatch.setattr(smtplib, "SMTP", lambda *a, **k: opened.append(a) or pytest.fail("SMTP opened"))
    monkeypatch.setattr(smtplib, "SMTP_SSL", lambda *a, **k: opened.append(a) or pytest.fail("SMTP opened"))
    from tests.factories import ApiClient, jwt_token

    client = outbox_app.test_client()
    hr = ApiClient(client, jwt_token(client, "hr"))
    with outbox_app.app_context():
        pk = next(iter(_drafts()))
        db.session.remove()
    r = hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"})
    assert r.status_code == 200 and r.json == {"state": "pending_review"}
    assert opened == []
    with outbox_app.app_context():
        notes = db.session.scalars(select(Notification).where(Notification.appraisal_id == pk)).all()
        assert notes, "the supervisor is told"
        keys = [f"mail:{n.key}:{n.user_id}" for n in notes]
        rows = db.session.scalars(select(Outbox).where(Outbox.idempotency_key.in_(keys))).all()
        assert len(rows) == len(notes)
        assert {(r.state, r.attempts, r.sent_at) for r in rows} == {("pending", 0, None)}
        db.session.remove()


def _drafts():
    from app.models import Appraisal

    return db.session.scalars(select(Appraisal.id).where(Appraisal.state == "draft",
                                                         Appraisal.is_current.is_(True))).all()


@pytest.mark.parametrize("username", ["admin", "hr", "manager1", "sup1", "emp1"])
def test_every_role_has_its_list_and_settings(login_as, username):
    browser = login_as(username)
    listed = browser.get("/notifications/")
    settings = browser.get("/notifications/settings")
    assert listed.status_code == 200 and settings.status_code == 200
    assert "jx-notifications" in listed.get_data(as_text=True)
    assert 'name="digest"' in settings.get_data(as_text=True)
