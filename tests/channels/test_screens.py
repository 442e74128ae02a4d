"""HR's robots and deliveries screens: adding a robot stores its address and secret sealed and never
shows them back; a test message is queued and sent by the job layer; a robot answering 500 is retried,
then failed and shown to HR, who retries it; others may not see the screens."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs.embedded import run_embedded
from app.models import JobMessage, Outbox, RobotWebhook, Station
from tests.factories import PASSWORD, csrf_token


def signed_in(app, username: str):
    c = app.test_client()
    r = c.post("/login/", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(c)})
    assert r.status_code == 302 and "/login" not in r.headers["Location"]
    return c


def drain(app) -> None:
    """Run every message of the table queue visible now, in this thread."""
    run_embedded(app, threading.Event(), drain=True)


@pytest.fixture
def hr(outbox_app, clock, robot_listener):
    robot_listener.now = clock
    return signed_in(outbox_app, "hr")


def add(client, listener, kind="feishu", station="S01", **fields):
    with client.application.app_context():
        station_id = db.session.scalar(select(Station.id).where(Station.code == station)) if station else None
    data = {"name": f"{kind} group", "kind": kind, "station_id": station_id or "", "url": listener.url(kind),
            "secret": listener.secrets.get(kind, "") if kind != "wecom" else "",
            "csrf_token": csrf_token(client, "/robots/")}
    data.update(fields)
    return client.post("/robots/", data=data)


def hooks(app) -> list[RobotWebhook]:
    with app.app_context():
        found = db.session.scalars(select(RobotWebhook).order_by(RobotWebhook.id)).all()
        db.session.expunge_all()
        return found


def test_hr_adds_a_robot_stored_sealed_and_never_shown_back(outbox_app, hr, robot_listener):
    r = add(hr, robot_listener)
    assert r.status_code == 302
    [hook] = hooks(outbox_app)
    assert (hook.kind, hook.created_by, hook.enabled) == ("feishu", "hr", True)
    assert "127.0.0.1" not in hook.url_encrypted
    assert robot_listener.secrets["feishu"] not in hook.secret_encrypted
    page = hr.get("/robots/").get_data(as_text=True)
    assert "feishu group" in page and hook.url_encrypted not in page
    assert robot_listener.url("feishu") not in page and "hook-id" not in page
    assert robot_listener.secrets["feishu"] not in page
    assert "127.0.0.1 …k-id" in page  # the host and the last four characters
    edit = hr.get(f"/robots/{hook.id}/edit").get_data(as_text=True)
    assert robot_listener.secrets["feishu"] not in edit and "hook-id" not in edit


@pytest.mark.parametrize(("fields", "field"), [
    ({"url": "ftp://127.0.0.1/x"}, "url"), ({"url": ""}, "url"), ({"name": ""}, "name"),
    ({"kind": "slack"}, "kind"), ({"station_id": "99999"}, "station_id"),
    ({"kind": "wecom", "secret": "x"}, "secret"),
])
def test_bad_input_is_refused_and_changes_nothing(outbox_app, hr, robot_listener, fields, field):
    r = add(hr, robot_listener, **fields)
    assert r.status_code == 422 and "jx-robot-errors" in r.get_data(as_text=True)
    assert hooks(outbox_app) == []


def test_https_only_without_the_test_setting(outbox_app, hr, robot_listener):
    outbox_app.config["JIXIAO_ROBOT_ALLOW_HTTP"] = False
    assert add(hr, robot_listener).status_code == 422
    assert hooks(outbox_app) == []


def test_a_test_message_is_queued_then_sent_signed_by_the_job_layer(outbox_app, hr, robot_listener):
    add(hr, robot_listener, kind="dingtalk")
    [hook] = hooks(outbox_app)
    r = hr.post(f"/robots/{hook.id}/test", data={"csrf_token": csrf_token(hr, "/robots/")})
    assert r.status_code == 302 and robot_listener.received == []  # nothing sent inside the request
    with outbox_app.app_context():
        assert db.session.scalar(select(JobMessage.task)) == "jixiao.send_outbox"
    drain(outbox_app)
    assert [(r.kind, r.verified) for r in robot_listener.received] == [("dingtalk", True)]
    assert "#### " in robot_listener.received[0].body["markdown"]["text"]


def test_a_robot_answering_500_is_retried_then_failed_shown_to_hr_and_retried(outbox_app, hr, clock,
                                                                               robot_listener):
    from app.jobs.outbox import wake_due  # late: the ticker's step, after the app is built

    outbox_app.config["JIXIAO_OUTBOX_MAX_ATTEMPTS"] = 2
    robot_listener.fail_with = 500
    add(hr, robot_listener, kind="wecom")
    [hook] = hooks(outbox_app)
    hr.post(f"/robots/{hook.id}/test", data={"csrf_token": csrf_token(hr, "/robots/")})
    drain(outbox_app)
    waiting = hr.get("/robots/deliveries").get_data(as_text=True)
    assert 'data-state="pending"' in waiting and "HTTP 500" in waiting
    clock.move(seconds=31)
    with outbox_app.app_context():
        assert wake_due(clock.at) == 1
    drain(outbox_app)
    assert len(robot_listener.received) == 2
    page = hr.get("/robots/deliveries?state=failed").get_data(as_text=True)
    assert 'data-state="failed"' in page and "HTTP 500" in page
    assert "HTTP 500" in hr.get("/robots/").get_data(as_text=True)  # the robot's last error

    with outbox_app.app_context():
        row_id = db.session.scalar(select(Outbox.id))
    robot_listener.fail_with = None
    r = hr.post(f"/robots/deliveries/{row_id}/retry", data={"csrf_token": csrf_token(hr, "/robots/")})
    assert r.status_code == 302
    drain(outbox_app)  # the retry woke the sender after its commit
    with outbox_app.app_context():
        row = db.session.get(Outbox, row_id)
        assert (row.state, row.attempts) == ("sent", 1)
    assert [r.verified for r in robot_listener.received] == [True, True, True]
    assert "jx-deliveries-empty" in hr.get("/robots/deliveries").get_data(as_text=True)


def test_hr_turns_a_robot_off_and_edits_it_without_retyping_the_address(outbox_app, hr, robot_listener):
    add(hr, robot_listener, kind="dingtalk")
    [hook] = hooks(outbox_app)
    token = csrf_token(hr, "/robots/")
    assert hr.post(f"/robots/{hook.id}/toggle", data={"csrf_token": token}).status_code == 302
    assert hooks(outbox_app)[0].enabled is False
    r = hr.post(f"/robots/{hook.id}/edit", data={"csrf_token": token, "name": "S01 群", "kind": "dingtalk",
                                                 "station_id": "", "url": "", "secret": "", "enabled": "1"})
    assert r.status_code == 302
    [saved] = hooks(outbox_app)
    assert (saved.name, saved.station_id, saved.enabled) == ("S01 群", None, True)
    assert (saved.url_encrypted, saved.secret_encrypted) == (hook.url_encrypted, hook.secret_encrypted)


def test_a_changed_secret_key_asks_hr_to_re_enter(outbox_app, hr, robot_listener):
    add(hr, robot_listener)
    outbox_app.config["SECRET_KEY"] = "rotated-key"
    page = signed_in(outbox_app, "hr").get("/robots/").get_data(as_text=True)
    assert "jx-reenter" in page


@pytest.mark.parametrize("username", ["sup1", "manager1", "emp1"])
def test_only_hr_sees_the_robots_and_the_deliveries(outbox_app, username):
    client = signed_in(outbox_app, username)
    for path in ("/robots/", "/robots/deliveries"):
        r = client.get(path)
        assert r.status_code in (302, 403) and "jx-robot" not in r.get_data(as_text=True)
