"""Each hand-off tells exactly the people who may move the appraisal on now, and nobody else; the
employee hears of nothing before their result is published; publication and a finished job tell their
own people. Asserted as sets of usernames, through the real services."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Job, JobKind, JobState, Notification
from app.services.events import JOB_FINISHED, Event, emit
from app.services.publication import publish
from app.services.transitions import amend_appraisal, bulk_transition
from tests.factories import caller
from tests.notify.conftest import inbox_of, last_key, told

# EMP1 (S01, supervisor sup1, total 83): approve goes straight to approved.
# EMP4 (S01, total 52): approve goes to the second review (manager1 of S01, or HR).


def submit(m):
    m.do("hr", "EMP1", "submit")
    return last_key(), {"sup1"}


def approve_to_second(m):
    m.do("hr", "EMP4", "submit")
    assert m.do("sup1", "EMP4", "approve") == "pending_second_review"
    return last_key(), {"manager1", "hr"}


def approve_to_approved_unpublished(m):
    m.do("hr", "EMP1", "submit")
    assert m.do("sup1", "EMP1", "approve") == "approved"
    return last_key(), set()  # the employee may sign only once published


def second_approve(m):
    m.do("hr", "EMP4", "submit")
    m.do("sup1", "EMP4", "approve")
    assert m.do("manager1", "EMP4", "approve") == "approved"
    return last_key(), set()


def return_to_draft(m):
    m.do("hr", "EMP1", "submit")
    assert m.do("sup1", "EMP1", "return", "补充材料") == "draft"
    return last_key(), {"hr"}


def return_from_second(m):
    m.do("hr", "EMP4", "submit")
    m.do("sup1", "EMP4", "approve")
    assert m.do("manager1", "EMP4", "return", "再核") == "pending_review"
    return last_key(), {"sup1"}


def _published_emp1(m):
    m.to_approved("EMP1")
    publish(db.session, m.cycle_id, caller(m.app, "hr"), "演示")


def publication(m):
    m.to_approved("EMP1")
    m.to_approved("EMP4")
    m.do("hr", "EMP2", "submit")  # still under review: not published to emp2
    publish(db.session, m.cycle_id, caller(m.app, "hr"), "演示")
    return f"publish:{m.cycle_id}", {"emp1", "emp4"}


def dispute(m):
    _published_emp1(m)
    assert m.do("emp1", "EMP1", "dispute", "有误") == "disputed"
    return last_key(), {"sup1", "hr"}


def resolve(m):
    _published_emp1(m)
    m.do("emp1", "EMP1", "dispute", "有误")
    assert m.do("hr", "EMP1", "resolve", "重审") == "pending_review"
    return last_key(), {"sup1"}


def uphold(m):
    _published_emp1(m)
    m.do("emp1", "EMP1", "dispute", "有误")
    assert m.do("hr", "EMP1", "uphold", "无误") == "approved"
    return last_key(), {"emp1"}


def sign(m):
    _published_emp1(m)
    assert m.do("emp1", "EMP1", "sign", "") == "signed"
    return last_key(), set()


def amend(m):
    _published_emp1(m)
    amended = amend_appraisal(db.session, m.id("EMP1"), caller(m.app, "hr"), "更正数据")
    (note,) = db.session.scalars(select(Notification).where(Notification.appraisal_id == amended.id)).all()
    assert note.params["action"] == {"zh": "更正", "en": "Amend"}
    return last_key(), {"sup1"}


HANDOFFS = [submit, approve_to_second, approve_to_approved_unpublished, second_approve, return_to_draft,
            return_from_second, publication, dispute, resolve, uphold, sign, amend]


@pytest.mark.parametrize("handoff", HANDOFFS, ids=[h.__name__ for h in HANDOFFS])
def test_each_handoff_tells_exactly_who_acts_next(moves, handoff):
    key, expected = handoff(moves)
    assert told(key) == expected


def test_nothing_reaches_the_employee_before_publication_and_one_after(moves):
    moves.to_approved("EMP1")
    assert inbox_of("emp1", moves.cycle_id) == []
    publish(db.session, moves.cycle_id, caller(moves.app, "hr"), "演示")
    (note,) = inbox_of("emp1", moves.cycle_id)
    assert note.kind == "result_published" and note.link == "/appraisal/mine/"
    assert note.key == f"publish:{moves.cycle_id}" and note.read_at is None
    assert note.params["cycle"] and "total" not in note.params and "grade" not in note.params


def test_the_texts_name_the_step_and_who_took_it(moves):
    moves.do("hr", "EMP1", "submit")
    (note,) = inbox_of("sup1", moves.cycle_id)
    assert note.kind == "act" and note.link == f"/appraisal/show/{moves.id('EMP1')}"
    assert note.params["employee_no"] == "EMP1" and note.params["state"]["zh"] == "待审核"
    assert note.params["action"]["en"] == "Submit"
    assert "total" not in note.params and "comment" not in note.params


def test_bulk_approve_of_five_gives_five_rows_to_the_second_reviewer(moves):
    low = ["EMP4", "EMP2", "EMP3", "EMP5", "EMP1"]
    for number in low:
        moves.do("hr", number, "submit")
        moves.review("sup1", number, adjustment=-8, reason="现场抽查")  # below 60 or off by more than 5
    ids = [moves.id(n) for n in low]
    outcomes = bulk_transition(db.session, ids, caller(moves.app, "sup1"), "approve", "同意")
    assert [o.state for o in outcomes] == ["pending_second_review"] * 5
    rows = inbox_of("manager1", moves.cycle_id)
    assert sorted(r.appraisal_id for r in rows) == sorted(ids)
    assert len({r.key for r in rows}) == 5 and {r.kind for r in rows} == {"act"}


def test_a_finished_job_tells_its_owner_and_a_system_job_nobody(app, appctx):
    owner = app.appbuilder.sm.find_user(username="hr").id
    mine = Job(kind=JobKind.EXPORT, owner_id=owner, state=JobState.DONE, subject_id=1)
    system = Job(kind=JobKind.CLEANUP, owner_id=None, state=JobState.DONE)
    db.session.add_all([mine, system])
    db.session.commit()
    for job in (mine, system):
        emit(db.session, Event(JOB_FINISHED, key=f"job:{job.id}:done", job_id=job.id))
        emit(db.session, Event(JOB_FINISHED, key=f"job:{job.id}:done", job_id=job.id))  # seen twice
        db.session.commit()
    assert told(f"job:{mine.id}:done") == {"hr"}
    assert told(f"job:{system.id}:done") == set()
    note = db.session.scalar(select(Notification).where(Notification.job_id == mine.id))
    assert note.kind == "job_finished" and note.link == "/jobs/" and note.params["state"] == "done"
