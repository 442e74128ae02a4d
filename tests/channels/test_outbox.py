"""The sender: claims, fences, backoff on the moved clock, one mail per address, robots' summaries, a
stale claim reclaimed after the lease; each row is sent once."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, update

from app.extensions import db
from app.models import Employee, Notification, NotificationPreference, Outbox, RobotWebhook, Station
from app.notify import crypto, messages, outbox, robots

ACT = {"cycle": "2026Q4", "employee_no": "EMP1", "employee": "张三",
       "state": messages.bilingual("待审核", "Pending review"),
       "action": messages.bilingual("提交", "Submit"), "by": "hr"}


@pytest.fixture
def mailctx(outbox_app, clock, smtp_down):
    """The outbox app's context with mail pointed at ``smtp_down``'s port (start it to receive)."""
    outbox_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_down.port, MAIL_TIMEOUT=3,
                             JIXIAO_BASE_URL="http://jx.example")
    with outbox_app.app_context():
        yield outbox_app
        db.session.remove()


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def notify_by_mail(username: str, key: str, at: dt.datetime, *, kind="act", params=ACT,
                   link="/appraisal/show/1") -> int:
    who = user(username)
    db.session.add(Notification(user_id=who.id, key=key, kind=kind, params=params, link=link, created_at=at))
    row = Outbox(channel="email", recipient=who.email, user_id=who.id, idempotency_key=f"mail:{key}:{who.id}",
                 payload={"notification_keys": [key], "user_id": who.id}, state="pending",
                 next_attempt_at=at, created_at=at)
    db.session.add(row)
    db.session.commit()
    return row.id


def state_of(row_id: int) -> Outbox:
    db.session.expire_all()
    return db.session.get(Outbox, row_id)


@pytest.mark.parametrize(("locale", "words"),
                         [("en", "Pending review"), ("zh_CN", "待审核"), (None, "待审核")])
def test_a_mail_is_in_the_recipients_language_with_an_absolute_link(mailctx, clock, smtp_down, locale, words):
    smtp_down.start()
    sup1 = user("sup1")
    db.session.add(NotificationPreference(user_id=sup1.id, email=True, digest=False, locale=locale,
                                          updated_at=clock.at))
    db.session.commit()
    notify_by_mail("sup1", "audit:1", clock.at)
    assert outbox.send_due(clock.at) == {"sent": 1, "retry": 0, "failed": 0}
    [mail] = smtp_down.messages
    assert smtp_down.recipients == [["sup1@demo.jixiao.local"]]
    assert words in mail["Subject"] and words in mail.get_body(("html",)).get_content()
    assert "http://jx.example/appraisal/show/1" in mail.get_body(("plain",)).get_content()
    assert mail.get_body(("html",)) is not None


def test_rows_due_together_for_one_address_are_one_mail(mailctx, clock, smtp_down):
    smtp_down.start()
    first = notify_by_mail("sup1", "audit:1", clock.at)
    second = notify_by_mail("sup1", "audit:2", clock.at)
    other = notify_by_mail("sup2", "audit:1", clock.at)
    assert outbox.send_due(clock.at)["sent"] == 3
    assert sorted(r[0] for r in smtp_down.recipients) == ["sup1@demo.jixiao.local", "sup2@demo.jixiao.local"]
    assert {state_of(i).state for i in (first, second, other)} == {"sent"}


def test_the_mail_server_down_backs_off_then_delivers_once(mailctx, clock, smtp_down):
    row = notify_by_mail("sup1", "audit:1", clock.at)
    start = clock.at
    assert outbox.send_due(clock.at) == {"sent": 0, "retry": 1, "failed": 0}
    first = state_of(row)
    assert (first.state, first.attempts) == ("pending", 1) and "Connection" in first.last_error
    assert first.next_attempt_at.replace(tzinfo=dt.UTC) == start + dt.timedelta(seconds=30)

    assert outbox.send_due(clock.move(seconds=29)) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
    assert outbox.send_due(clock.move(seconds=2))["retry"] == 1  # still down
    second = state_of(row)
    assert second.attempts == 2
    assert second.next_attempt_at.replace(tzinfo=dt.UTC) == clock.at + dt.timedelta(seconds=60)  # doubled

    smtp_down.start()
    assert outbox.send_due(clock.move(seconds=61)) == {"sent": 1, "retry": 0, "failed": 0}
    assert outbox.send_due(clock.move(hours=2)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp_down.messages) == 1
    assert state_of(row).state == "sent" and state_of(row).last_error is None


def test_the_backoff_is_capped_at_an_hour(mailctx):
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_row_is_claimed_by_one_sender_only(mailctx, clock):
    row = notify_by_mail("sup1", "audit:1", clock.at)
    assert outbox._claim(row, "a", clock.at) is True
    assert outbox._claim(row, "b", clock.at) is False
    assert state_of(row).claim == "a"


def test_a_stale_claim_is_reclaimed_after_the_lease_and_the_old_sender_is_fenced_out(mailctx, clock,
                                                                                        smtp_down):
    smtp_down.start()
    row = notify_by_mail("sup1", "audit:1", clock.at)
    assert outbox._claim(row, "vanished", clock.at)
    assert outbox.send_due(clock.move(seconds=299)) == {"sent": 0, "retry": 0, "failed": 0}  # lease holds
    assert outbox.send_due(clock.move(seconds=2))["sent"] == 1
    reclaimed = state_of(row)
    assert (reclaimed.state, reclaimed.attempts) == ("sent", 2)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    outbox._settle("vanished", clock.at, [reclaimed], outbox.Failure("late"), counts)
    assert counts == {"sent": 0, "retry": 0, "failed": 0} and state_of(row).state == "sent"
    assert len(smtp_down.messages) == 1


def add_robot(kind: str, listener, station_code: str | None = "S01", *, secret: bool = True) -> int:
    station = db.session.scalar(select(Station).where(Station.code == station_code)) if station_code else None
    hook = RobotWebhook(kind=kind, name=f"{kind} robot", station_id=station.id if station else None,
                        url_encrypted=crypto.seal(listener.url(kind)),
                        secret_encrypted=crypto.seal(listener.secrets[kind])
                        if secret and kind in robots.SIGNED else None,
                        created_by="hr", created_at=clock_now(), updated_at=clock_now())
    db.session.add(hook)
    db.session.commit()
    return hook.id


def clock_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def s01() -> int:
    return db.session.scalar(select(Station.id).where(Station.code == "S01"))


def test_each_robot_gets_one_signed_summary_per_window(mailctx, clock, robot_listener):
    robot_listener.now = clock
    hooks = [add_robot(kind, robot_listener) for kind in robots.KINDS]
    network = add_robot("dingtalk", robot_listener, None)
    for _ in range(3):  # three events in one window: one row per robot
        robots.queue_summaries(db.session, [s01()], clock.at)
        db.session.commit()
    rows = db.session.scalars(select(Outbox).where(Outbox.webhook_id.is_not(None))).all()
    assert sorted(r.webhook_id for r in rows) == sorted([*hooks, network])
    assert outbox.send_due(clock.at)["sent"] == 0  # they wait for the window's end
    clock.set(max(r.next_attempt_at for r in rows).replace(tzinfo=dt.UTC))
    assert outbox.send_due(clock.at) == {"sent": 4, "retry": 0, "failed": 0}
    assert [r.verified for r in robot_listener.received] == [True] * 4
    texts = [r.body.get("markdown", {}).get("text") or r.body.get("markdown", {}).get("content")
             or r.body["content"]["text"] for r in robot_listener.received]
    assert all("S01" in text and "/appraisal/inbox/" in text for text in texts)
    employees = db.session.scalars(select(Employee.name).where(Employee.employee_no.like("EMP%"))).all()
    assert employees and not any(name in text for text in texts for name in employees)
    assert not any("EMP" in text for text in texts)
    assert db.session.get(RobotWebhook, hooks[0]).last_sent_at is not None


def test_a_robot_answering_500_is_retried_then_failed(mailctx, clock, robot_listener):
    mailctx.config["JIXIAO_OUTBOX_MAX_ATTEMPTS"] = 3
    robot_listener.fail_with = 500
    hook = add_robot("wecom", robot_listener)
    robots.queue_summaries(db.session, [s01()], clock.at)
    db.session.commit()
    row = db.session.scalar(select(Outbox.id).where(Outbox.webhook_id == hook))
    clock.set(state_of(row).next_attempt_at.replace(tzinfo=dt.UTC))
    outcomes = [outbox.send_due(clock.at), outbox.send_due(clock.move(seconds=30)),
                outbox.send_due(clock.move(seconds=60))]
    assert [o["retry"] for o in outcomes] == [1, 1, 0] and outcomes[-1]["failed"] == 1
    failed = state_of(row)
    assert (failed.state, failed.attempts, failed.last_error) == ("failed", 3, "HTTP 500")
    assert db.session.get(RobotWebhook, hook).last_error == "HTTP 500"
    assert len(robot_listener.received) == 3
    assert outbox.send_due(clock.move(hours=3))["failed"] == 0  # nothing more


def test_a_changed_secret_key_fails_at_once_and_says_re_enter(mailctx, clock, robot_listener):
    hook = add_robot("feishu", robot_listener)
    row = Outbox(channel="feishu", recipient=f"robot:{hook}", webhook_id=hook, idempotency_key="robot-test:1",
                 payload={"test": True}, state="pending", next_attempt_at=clock.at, created_at=clock.at)
    db.session.add(row)
    db.session.commit()
    mailctx.config["SECRET_KEY"] = "another-key"
    assert outbox.send_due(clock.at)["failed"] == 1
    assert "re-enter" in state_of(row.id).last_error and robot_listener.received == []


def test_the_database_never_holds_a_robot_address_in_clear(mailctx, robot_listener):
    add_robot("wecom", robot_listener)
    stored = db.session.execute(select(RobotWebhook.__table__)).one()
    assert robot_listener.secrets["wecom"] not in repr(tuple(stored))
    assert "127.0.0.1" not in repr(tuple(stored))


def test_a_disabled_robot_posts_nothing(mailctx, clock, robot_listener):
    hook = add_robot("dingtalk", robot_listener)
    robots.queue_summaries(db.session, [s01()], clock.at)
    db.session.execute(update(RobotWebhook).values(enabled=False))
    db.session.commit()
    clock.move(hours=1)
    assert outbox.send_due(clock.at)["failed"] == 1 and robot_listener.received == []
    assert hook


def test_a_mail_that_cannot_be_built_is_retried_not_left_claimed(mailctx, clock, smtp_down, monkeypatch):
    smtp_down.start()
    row = notify_by_mail("sup1", "audit:1", clock.at)

    def broken(*args, **kwargs):
        raise RuntimeError("no text")

    monkeypatch.setattr(messages, "render", broken)
    assert outbox.send_due(clock.at)["retry"] == 1
    assert (state_of(row).state, state_of(row).last_error) == ("pending", "RuntimeError: no text")
    monkeypatch.undo()
    assert outbox.send_due(clock.move(seconds=30))["sent"] == 1
