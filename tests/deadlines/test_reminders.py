"""Reminders before a due date, escalations after it, and the daily digest, with the clock moved.

The demo cycle's appraisals awaiting review: EMP4, EMP5 (sup1's), EMP7, EMP8 (sup2's, station S02 has no
manager), SUP1 (manager1's), SUP2 and MANAGER1 (nobody above them: HR acts). Approved and published:
EMP1 (sup1's) and EMP6 (sup2's).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.jobs import ticker
from app.jobs.deadlines import deadlines as deadlines_task
from app.models import (
    Employee,
    Job,
    JobKind,
    JobState,
    NotificationPreference,
    Outbox,
    RobotWebhook,
    Station,
)
from app.notify import deadlines, digest
from app.notify.deadlines import escalate, levels_at
from app.notify.record import notify_users
from app.services.reassign import reassign_reviewer
from tests.deadlines.conftest import counts, due_day, local, outbox, set_due, told, user_id
from tests.factories import appraisal_ids, caller, demo_cycle


def run(at: dt.datetime) -> dict[str, int]:
    """One round of the periodic job's reminders, committed as the job commits it."""
    done = deadlines.run(db.session, at)
    db.session.commit()
    return done


def test_escalation_walks_up_to_hr():
    assert [escalate("supervisor", level) for level in range(4)] == [
        "supervisor", "station_manager", "hr", "hr"]
    assert [escalate("self", level) for level in range(3)] == ["self", "supervisor", "station_manager"]
    assert escalate("hr", 2) == "hr"


def test_levels_follow_the_due_date(ctx):
    due = dt.datetime(2027, 1, 10, 15, 59, 59, 999999, tzinfo=dt.UTC)
    assert levels_at(due, due - dt.timedelta(hours=24, seconds=1)) == ()
    assert levels_at(due, due - dt.timedelta(hours=24)) == (0,)
    assert levels_at(due, due) == (0,)
    assert levels_at(due, due + dt.timedelta(seconds=1)) == (1,)
    assert levels_at(due, due + dt.timedelta(hours=48)) == (1, 2)


def test_the_reminder_goes_out_once_a_day_before(ctx, clock):
    cycle = demo_cycle()
    due = set_due(ctx, "pending_review", due_day(cycle))
    clock.set(due - dt.timedelta(hours=24, minutes=1))
    assert run(clock.at) == {"reminders": 0, "escalations": 0}
    assert told() == {}
    clock.set(due - dt.timedelta(hours=23))
    assert run(clock.at)["reminders"] == 4
    assert run(clock.at) == {"reminders": 0, "escalations": 0}  # a second round tells nobody again
    reminded = told("reminder")
    assert counts(reminded) == {"sup1": 2, "sup2": 2, "manager1": 1, "hr": 2}
    note = reminded["sup1"]
    assert note.key == f"remind:{cycle.id}:pending_review:0:{due.isoformat(timespec='seconds')}"
    assert note.link == f"/appraisal/inbox/?cycle={cycle.id}&state=pending_review"
    assert note.params["state"]["en"] and note.params["due"].startswith(due_day(cycle).isoformat())
    assert "total" not in note.params and "grade" not in note.params
    mails = outbox("mail:remind:")
    assert {name: [row.state for row in rows] for name, rows in mails.items()} == {
        "sup1": ["pending"], "sup2": ["pending"], "manager1": ["pending"], "hr": ["pending"]}
    assert told("escalation") == {}


def test_late_reviews_go_to_the_station_manager_then_to_hr(ctx, clock):
    cycle = demo_cycle()
    due = set_due(ctx, "pending_review", due_day(cycle))
    clock.set(due)
    run(clock.at)
    assert told("escalation") == {}
    clock.move(seconds=1)
    assert run(clock.at)["escalations"] == 2
    first = told("escalation", level=1)
    # sup1's two go to manager1; sup2's (S02 has no manager), SUP1's (manager1 is the late one), SUP2's and
    # MANAGER1's (HR is late already) to HR
    assert counts(first) == {"manager1": 2, "hr": 5}
    sup1 = db.session.scalar(select(Employee.name).where(Employee.employee_no == "SUP1"))
    assert sup1 in first["manager1"].params["late_party"]["zh"]
    assert first["manager1"].link == f"/cycles/{cycle.id}"
    clock.set(due + dt.timedelta(hours=48) - dt.timedelta(seconds=1))
    assert run(clock.at) == {"reminders": 0, "escalations": 0}
    clock.set(due + dt.timedelta(hours=48))
    run(clock.at)
    run(clock.at)
    assert counts(told("escalation", level=2)) == {"hr": 7}


def test_a_reassigned_review_escalates_above_the_new_reviewer(ctx, clock):
    cycle = demo_cycle()
    ids = appraisal_ids(cycle.id)
    manager1 = db.session.scalar(select(Employee.id).where(Employee.employee_no == "MANAGER1"))
    reassign_reviewer(db.session, ids["EMP4"], caller(ctx, "hr"), manager1, "李明休假。")
    due = set_due(ctx, "pending_review", due_day(cycle))
    clock.set(due - dt.timedelta(hours=1))
    run(clock.at)
    assert counts(told("reminder"))["sup1"] == 1 and counts(told("reminder"))["manager1"] == 2
    clock.set(due + dt.timedelta(seconds=1))
    run(clock.at)
    # manager1 is late with EMP4 now: the level above (the station manager, manager1 again) is skipped
    assert counts(told("escalation", level=1)) == {"manager1": 1, "hr": 6}


def test_escalations_queue_the_station_robot_reminders_do_not(ctx, clock):
    cycle = demo_cycle()
    station = db.session.scalar(select(Station.id).where(Station.code == "S01"))
    db.session.add(RobotWebhook(station_id=station, kind="dingtalk", name="S01", url_encrypted="sealed",
                                created_by="hr", created_at=clock.at, updated_at=clock.at))
    db.session.commit()
    due = set_due(ctx, "pending_review", due_day(cycle))

    def robot_rows() -> int:
        return len(db.session.scalars(select(Outbox.id).where(Outbox.channel == "dingtalk")).all())

    clock.set(due - dt.timedelta(hours=1))
    run(clock.at)
    assert robot_rows() == 0
    clock.set(due + dt.timedelta(seconds=1))
    run(clock.at)
    assert robot_rows() == 1
    clock.move(minutes=30)  # a later window, nobody newly late: no new summary
    run(clock.at)
    assert robot_rows() == 1
    clock.set(due + dt.timedelta(hours=48))
    run(clock.at)
    assert robot_rows() == 2


def test_an_unsigned_result_goes_to_the_supervisor(ctx, clock):
    cycle = demo_cycle()
    due = set_due(ctx, "approved", due_day(cycle))
    clock.set(due - dt.timedelta(hours=1))
    run(clock.at)
    assert counts(told("reminder")) == {"emp1": 1, "emp6": 1}
    assert told("reminder")["emp1"].link == "/appraisal/mine/"
    clock.set(due + dt.timedelta(minutes=1))
    run(clock.at)
    assert counts(told("escalation", level=1)) == {"sup1": 1, "sup2": 1}
    clock.set(due + dt.timedelta(hours=48))
    run(clock.at)
    assert counts(told("escalation", level=2)) == {"manager1": 1, "hr": 1}


def test_a_digest_user_gets_one_mail_at_eight(ctx, clock):
    cycle = demo_cycle()
    day = due_day(cycle)
    set_due(ctx, "pending_review", day)
    db.session.add(NotificationPreference(user_id=user_id("sup1"), email=True, digest=True,
                                          updated_at=clock.at))
    db.session.commit()
    clock.set(local(day, 7))
    run(clock.at)
    notify_users(db.session, key="test:another", kind="act", users={user_id("sup1"): {}}, params={},
                 link="/appraisal/inbox/")
    db.session.commit()
    assert [row.state for row in outbox()["sup1"]] == ["held", "held"]
    assert [row.state for row in outbox()["sup2"]] == ["pending"]
    clock.set(local(day, 7, 59, 59))
    assert digest.run(db.session, clock.at) == 0
    clock.set(local(day, 8))
    job_id = _periodic_job(clock.at)
    deadlines_task.apply(args=[job_id])
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.state == JobState.DONE and job.result["digests"] == 1
    rows, sup1 = outbox()["sup1"], user_id("sup1")
    assert [(row.idempotency_key, row.state) for row in rows] == [
        (rows[0].idempotency_key, "digested"), (f"mail:test:another:{sup1}", "digested"),
        (f"digest:{sup1}:{day.isoformat()}", "pending")]
    assert rows[2].payload["notification_keys"] == [told("reminder")["sup1"].key, "test:another"]
    # later today: nothing more; what is held after today's digest waits for tomorrow's
    clock.move(hours=3)
    notify_users(db.session, key="test:later", kind="act", users={user_id("sup1"): {}}, params={},
                 link="/appraisal/inbox/")
    assert digest.run(db.session, clock.at) == 0
    db.session.commit()
    assert [row.state for row in outbox()["sup1"]] == ["digested", "digested", "pending", "held"]
    clock.set(local(day + dt.timedelta(days=1), 8))
    assert digest.run(db.session, clock.at) == 1
    db.session.commit()
    assert db.session.scalar(select(Outbox.payload).where(
        Outbox.idempotency_key == f"digest:{user_id('sup1')}:{(day + dt.timedelta(days=1)).isoformat()}"
    )) == {"notification_keys": ["test:later"], "user_id": user_id("sup1"),
           "digest": (day + dt.timedelta(days=1)).isoformat()}


def _periodic_job(at: dt.datetime) -> int:
    """The ticker opens the due-date job of this slot (nobody runs it: the test does)."""
    ticker.open_periodic(at)
    db.session.rollback()
    return db.session.scalar(select(Job.id).where(Job.kind == JobKind.DEADLINES).order_by(Job.id.desc()))
