"""The demo: its cycle is published with appraisals in several states, an earlier monthly cycle is approved
and published; every demo employee sees a result of their own, and the supervisors have work waiting."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, Cycle
from tests.factories import demo_cycle


def test_the_demo_cycles_are_published(appctx):
    demo = demo_cycle()
    cycles = db.session.scalars(select(Cycle).order_by(Cycle.id)).all()
    assert len(cycles) == 2 and all(c.published_at is not None for c in cycles)
    states = dict(db.session.execute(
        select(Appraisal.state, func.count()).where(Appraisal.cycle_id == demo.id, Appraisal.is_current)
        .group_by(Appraisal.state)).all())
    assert {s.value for s in states} == {"draft", "pending_review", "pending_second_review", "approved",
                                         "disputed"}
    history = cycles[1]
    assert history.end < demo.end and history.start >= demo.start
    earlier = db.session.scalars(
        select(Appraisal.state).where(Appraisal.cycle_id == history.id, Appraisal.is_current)).all()
    assert {s.value for s in earlier} == {"approved"}


def test_every_demo_employee_sees_a_result_and_the_reviewers_have_work(api_as):
    for n in range(1, 11):
        listed = api_as(f"emp{n}").get("/api/v1/appraisal/?q=(page_size:100)").json
        assert listed["count"] >= 1, f"emp{n}"
        assert {r["employee_no"] for r in listed["result"]} == {f"EMP{n}"}
        assert {r["state"] for r in listed["result"]} <= {"approved", "signed", "disputed"}
    for username in ("sup1", "sup2", "manager1", "hr"):
        assert api_as(username).get("/api/v1/appraisal/inbox").json["count"] >= 1, username
    # an internal note to HR in the monthly cycle is not the employee's to read
    emp4 = api_as("emp4").get("/api/v1/appraisal/?q=(page_size:100)").json["result"]
    trail = api_as("emp4").get(f"/api/v1/appraisal/{emp4[0]['id']}").json["result"]["trail"]
    assert "退回" in [e["action"] for e in trail]
    assert not [e for e in trail if "请 HR 核实" in e["comment"]]
    hr_trail = api_as("hr").get(f"/api/v1/appraisal/{emp4[0]['id']}").json["result"]["trail"]
    assert [e["visibility"] for e in hr_trail if "请 HR 核实" in e["comment"]] == ["internal"]
