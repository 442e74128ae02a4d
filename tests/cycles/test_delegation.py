"""Substitutes (代理), reassigned reviewers (转交) and countersign (会签) through the services and the API:
a substitute acts on their principal's items within the dates and nowhere else, recorded "for" the
principal; HR alone reassigns, with a reason, and the old reviewer no longer acts; a countersigned step
moves only once every seat has approved, a return starts the next visit at 0, and two seats at once give
one 409, never a stuck step."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock as app_clock
from app.extensions import db
from app.models import Appraisal, AuditEvent, CountersignApproval, Employee
from app.scoping import scope_clause
from app.services import appraisals, substitutes, workflows
from app.services import transitions as tr
from app.services.document import who_label
from app.services.errors import Conflict
from app.workflow import load_table
from tests.cycles.conftest import appraisal_ids, current, events, person
from tests.workflow.test_workflow import DATA, ROLES


def ids(app, cycle_id):
    with app.app_context():
        return appraisal_ids(cycle_id)


def post(api, pk, action, comment=None):
    return api.post(f"/api/v1/appraisal/{pk}/transition", json={"action": action, "comment": comment})


def actions(api, pk) -> list[str]:
    return [a["action"] for a in api.get(f"/api/v1/appraisal/{pk}/actions").json["actions"]]


def inbox(api, cycle="测试周期") -> set[str]:
    items = api.get("/api/v1/appraisal/inbox").json["result"]
    return {e["employee_no"] for e in items if e["cycle"] == cycle}


def today(app) -> dt.date:
    with app.app_context():
        return app_clock.local_today()


def name_substitute(api, substitute: str, first: dt.date, last: dt.date, **extra):
    return api.post("/api/v1/delegation/substitutes", json={
        "substitute_username": substitute, "starts_on": first.isoformat(), "ends_on": last.isoformat(),
        "reason": "休假", **extra})


def visible(app, cycle_id, username) -> set[str]:
    with app.app_context():
        caller = person(app, username)
        return set(db.session.scalars(
            select(Employee.employee_no).join(Appraisal, Appraisal.employee_id == Employee.id)
            .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True),
                   scope_clause(Appraisal, caller.scope))))


def test_a_substitute_acts_for_the_principal_within_the_dates(app, api_as, fresh, clock):
    pk = ids(app, fresh)["EMP1"]
    hr, sup1, sup2 = api_as("hr"), api_as("sup1"), api_as("sup2")
    assert post(hr, pk, "submit").json == {"state": "pending_review"}
    assert "EMP1" not in inbox(sup2) and sup2.get(f"/api/v1/appraisal/{pk}").status_code == 404
    first = today(app)
    r = name_substitute(sup1, "sup2", first, first + dt.timedelta(days=2))
    assert r.status_code == 201, r.json
    assert (r.json["principal"], r.json["substitute"], r.json["active"]) == ("李明", "陈静", True)
    assert [i["id"] for i in sup2.get("/api/v1/delegation/substitutes").json["result"]] == [r.json["id"]]

    # sup2 sees sup1's reports, never sup1's own appraisal, and acts on them for sup1
    seen = visible(app, fresh, "sup2")
    assert {"EMP1", "EMP2", "EMP3", "EMP4", "EMP5", "EMP6"} <= seen and not {"SUP1", "SUP2"} & seen
    assert "EMP1" in inbox(sup2) and actions(sup2, pk) == ["approve", "return"]
    assert post(sup2, pk, "approve", "代为审核").status_code == 200
    with app.app_context():
        (event,) = [e for e in events(pk) if e.action == "approve"]
        sup1_id = app.appbuilder.sm.find_user(username="sup1").id
        sup2_id = app.appbuilder.sm.find_user(username="sup2").id
        assert (event.user_id, event.who, event.on_behalf_of_user_id, event.on_behalf_of) == (
            sup2_id, "陈静", sup1_id, "李明")
        with force_locale("en"):
            assert who_label(event) == "陈静 (for 李明)"
        (step,) = [s for s in appraisals.round_facts(db.session, [pk])[pk][0] if s.source == "pending_review"]
        assert (step.user_id, step.principal_user_id) == (sup2_id, sup1_id)
    trail = sup1.get(f"/api/v1/appraisal/{pk}").json["result"]["trail"]
    assert any("陈静" in row["who"] and "李明" in row["who"] for row in trail)


def test_no_action_outside_the_dates(app, api_as, fresh, clock):
    numbers = ids(app, fresh)
    hr, sup1, sup2 = api_as("hr"), api_as("sup1"), api_as("sup2")
    for no in ("EMP2", "EMP3"):
        post(hr, numbers[no], "submit")
    first = today(app) + dt.timedelta(days=1)
    assert name_substitute(sup1, "sup2", first, first + dt.timedelta(days=1)).status_code == 201
    # not yet
    assert sup2.get(f"/api/v1/appraisal/{numbers['EMP2']}").status_code == 404
    with app.app_context():
        assert person(app, "sup2").actor.acting_for == ()
    clock.move(days=1)
    with app.app_context():
        (principal,) = person(app, "sup2").actor.acting_for
        assert principal.name == "李明"
    assert post(sup2, numbers["EMP2"], "approve").status_code == 200
    clock.move(days=2)  # past the last day
    with app.app_context():
        assert person(app, "sup2").actor.acting_for == ()
        sup1_id = app.appbuilder.sm.find_user(username="sup1").id
        assert substitutes.active_substitutes(db.session, [sup1_id]) == {}
    assert sup2.get(f"/api/v1/appraisal/{numbers['EMP3']}").status_code == 404
    assert post(sup2, numbers["EMP3"], "approve").status_code == 404
    assert "EMP3" not in inbox(sup2)
    with app.app_context():
        assert current(fresh, "EMP3").state.value == "pending_review"


def test_who_may_name_a_substitute(app, api_as, fresh, clock):
    first = today(app)
    sup1, hr, emp1 = api_as("sup1"), api_as("hr"), api_as("emp1")
    r = name_substitute(sup1, "sup2", first, first + dt.timedelta(days=1), principal_username="manager1")
    assert r.status_code == 403
    assert name_substitute(sup1, "sup1", first, first).status_code == 422
    r = name_substitute(sup1, "sup2", first, first + dt.timedelta(days=92))
    assert r.status_code == 422 and "ends_on" in r.json["errors"]
    r = name_substitute(sup1, "sup2", first, first - dt.timedelta(days=1))
    assert r.status_code == 422 and "ends_on" in r.json["errors"]
    assert name_substitute(sup1, "nobody", first, first).status_code == 422
    assert name_substitute(emp1, "sup2", first, first).status_code in (401, 403)
    r = name_substitute(hr, "sup2", first, first + dt.timedelta(days=91), principal_username="manager1")
    assert r.status_code == 201, r.json
    with app.app_context():
        manager1 = app.appbuilder.sm.find_user(username="manager1").id
        sup2 = app.appbuilder.sm.find_user(username="sup2").id
        assert substitutes.active_substitutes(db.session, [manager1, sup2]) == {manager1: [sup2]}
    # manager1's substitute sees the station but neither manager1's own nor their own appraisal
    assert not {"MANAGER1", "SUP2"} & visible(app, fresh, "sup2")
    # only its principal (or HR) ends it
    assert sup1.delete(f"/api/v1/delegation/substitutes/{r.json['id']}").status_code == 404
    manager = api_as("manager1")
    assert manager.delete(f"/api/v1/delegation/substitutes/{r.json['id']}").json["revoked"] is True
    with app.app_context():
        assert substitutes.active_substitutes(db.session, [manager1]) == {}


def test_hr_reassigns_the_reviewer_with_a_reason(app, api_as, fresh):
    numbers = ids(app, fresh)
    pk = numbers["EMP6"]  # sup2's report at S02
    hr, sup1, sup2 = api_as("hr"), api_as("sup1"), api_as("sup2")
    assert post(hr, pk, "submit").status_code == 200
    url = f"/api/v1/delegation/reassign/{pk}"
    assert sup2.post(url, json={"reviewer_employee_no": "SUP1", "reason": "休假"}).status_code == 403
    r = hr.post(url, json={"reviewer_employee_no": "SUP1", "reason": " "})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    for number in ("NOPE", "EMP6", "EMP7"):  # unknown, the employee, no reviewer's role
        r = hr.post(url, json={"reviewer_employee_no": number, "reason": "休假"})
        assert r.status_code == 422 and "reviewer" in r.json["errors"], number
    with app.app_context():
        assert current(fresh, "EMP6").reviewer_id is None and not events(pk, "reassign")
    assert sup1.get(f"/api/v1/appraisal/{pk}").status_code == 404
    r = hr.post(url, json={"reviewer_employee_no": "SUP1", "reason": "主管休假"})
    assert r.status_code == 200 and r.json["reviewer_reason"] == "主管休假"
    with app.app_context():
        (event,) = events(pk, "reassign")
        assert (event.from_state, event.to_state, event.comment, event.visibility) == (
            "pending_review", "pending_review", "主管休假", "internal")
        sup1_employee = db.session.scalar(select(Employee.id).where(Employee.employee_no == "SUP1"))
        assert db.session.scalar(select(appraisals.REVIEWER_ID).join(
            Employee, Employee.id == Appraisal.employee_id).where(Appraisal.id == pk)) == sup1_employee
    # the old reviewer no longer acts, the new one does
    assert actions(sup2, pk) == []
    assert post(sup2, pk, "approve").status_code == 403
    assert actions(sup1, pk) == ["approve", "return"]
    assert post(sup1, pk, "approve").status_code == 200
    assert hr.post(url, json={"reviewer_employee_no": "SUP1", "reason": "再转"}).status_code in (200, 409)


def test_no_reassignment_once_reviewed(app, api_as, fresh, moves):
    with app.app_context():
        moves.to_approved("EMP7")
        pk = moves.id("EMP7")
    r = api_as("hr").post(f"/api/v1/delegation/reassign/{pk}",
                          json={"reviewer_employee_no": "SUP1", "reason": "晚了"})
    assert r.status_code == 409


# --- countersign ------------------------------------------------------------------------------------------

def countersign_table():
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        if row["from"] == "pending_second_review" and row["action"] == "approve":
            row["countersign"] = ["StationManager", "HR"]
    return load_table(data, roles=ROLES)


@pytest.fixture
def countersigned(app, fresh, monkeypatch, api_as):
    """EMP1 in pending_second_review under a table whose second review needs manager1 *and* HR."""
    table = countersign_table()
    monkeypatch.setattr(workflows, "workflow_table", lambda session, version: table)
    pk = ids(app, fresh)["EMP1"]
    hr, sup1 = api_as("hr"), api_as("sup1")
    assert post(hr, pk, "submit").status_code == 200
    r = sup1.post(f"/api/v1/appraisal/{pk}/review", json={"adjustment": 6, "reason": "突出"})
    assert r.status_code == 200
    assert post(sup1, pk, "approve").json == {"state": "pending_second_review"}
    return pk, table


def status(app, pk, table):
    with app.app_context():
        db.session.expire_all()
        _appraisal, facts = appraisals.load(db.session, pk, person(app, "hr"))
        return appraisals.countersign_status(table, facts)


def test_countersign_needs_both(app, api_as, countersigned):
    pk, table = countersigned
    manager1, hr = api_as("manager1"), api_as("hr")
    assert status(app, pk, table) == (0, 2)
    assert post(manager1, pk, "approve", "同意").json == {"state": "pending_second_review"}
    assert status(app, pk, table) == (1, 2)
    r = post(manager1, pk, "approve")
    assert r.status_code == 403 and r.json["code"] == "ALREADY_COUNTERSIGNED"
    assert actions(manager1, pk) == ["return"] and actions(hr, pk) == ["approve", "return"]
    waiting = manager1.get(f"/api/v1/appraisal/{pk}/actions").json["waiting_for"]
    assert [w["relation"] for w in waiting] == ["hr"]
    with app.app_context():
        (event,) = events(pk, "countersign")
        assert (event.from_state, event.to_state, event.comment) == (
            "pending_second_review", "pending_second_review", "同意")
        (seat,) = db.session.scalars(select(CountersignApproval)).all()
        assert (seat.seat, seat.audit_event_id) == ("StationManager", event.id)
    assert post(hr, pk, "approve").json == {"state": "approved"}
    with app.app_context():
        assert db.session.get(Appraisal, pk).state.value == "approved"


def test_a_return_by_either_starts_the_next_visit_at_zero(app, api_as, countersigned):
    pk, table = countersigned
    manager1, hr, sup1 = api_as("manager1"), api_as("hr"), api_as("sup1")
    assert post(manager1, pk, "approve").json == {"state": "pending_second_review"}
    assert post(hr, pk, "return", "再看看").json == {"state": "pending_review"}
    assert post(sup1, pk, "approve").json == {"state": "pending_second_review"}
    assert status(app, pk, table) == (0, 2)
    # the returner approves first this time; the manager, who signed last visit, signs again
    assert post(hr, pk, "approve").json == {"state": "pending_second_review"}
    assert status(app, pk, table) == (1, 2)
    assert post(manager1, pk, "return", "不行").json == {"state": "pending_review"}
    assert post(sup1, pk, "approve").json == {"state": "pending_second_review"}
    assert post(manager1, pk, "approve").json == {"state": "pending_second_review"}
    assert post(hr, pk, "approve").json == {"state": "approved"}


def test_two_seats_at_once_give_one_409_and_never_a_stuck_step(app, countersigned, monkeypatch):
    pk, table = countersigned
    real_load = tr.load
    raced = []

    def load_then_race(session, appraisal_id, caller):
        found = real_load(session, appraisal_id, caller)
        if not raced:  # the manager's seat commits between HR's read and HR's write
            raced.append(True)
            with app.app_context(), Session(db.engine) as other:
                assert tr.transition(other, pk, person(app, "manager1"), "approve") == "pending_second_review"
        return found

    monkeypatch.setattr(tr, "load", load_then_race)
    with app.app_context():
        hr = person(app, "hr")
        with pytest.raises(Conflict):
            tr.transition(db.session, pk, hr, "approve")
        assert status(app, pk, table) == (1, 2)
        assert tr.transition(db.session, pk, hr, "approve") == "approved"
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.appraisal_id == pk, AuditEvent.action == "countersign")).all()) == 1
