"""The substitutes screen (name, list, end; HR sees and names everybody's), the substitute's inbox marking
whom they act for, HR's reassign form on the appraisal page, and a countersigned step shown as "1 of 2"."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import Appraisal, Employee, Substitute
from app.services import workflows
from app.workflow import load_table
from tests.factories import Moves, appraisal_ids, caller, current
from tests.todo.conftest import token_of
from tests.workflow.test_workflow import DATA, ROLES


def user_id(app, username: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def substitutes_of(app, principal: str) -> list[Substitute]:
    with app.app_context():
        rows = db.session.scalars(select(Substitute).where(
            Substitute.principal_id == user_id(app, principal)).order_by(Substitute.id)).all()
        db.session.expunge_all()
        return rows


def today(app) -> dt.date:
    with app.app_context():
        return app_clock.local_today()


def name(browser, **form):
    page = browser.get("/substitutes/").get_data(as_text=True)
    return browser.post("/substitutes/create", data={"csrf_token": token_of(page), **form},
                        follow_redirects=True)


def test_a_supervisor_names_lists_and_ends_their_substitute(app, login_as):
    before = len(substitutes_of(app, "sup1"))
    sup1 = login_as("sup1")
    first, last = today(app) + dt.timedelta(days=20), today(app) + dt.timedelta(days=30)
    page = name(sup1, substitute_user_id=user_id(app, "manager1"), starts_on=first.isoformat(),
                ends_on=last.isoformat(), reason="<i>出差</i>")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "alert-success" in html
    rows = substitutes_of(app, "sup1")
    assert len(rows) == before + 1 and rows[-1].substitute_id == user_id(app, "manager1")
    assert (rows[-1].starts_on, rows[-1].ends_on) == (first, last)
    mine = re.search(r'jx-mine.*?</table>', html, re.S).group(0)
    assert f'data-id="{rows[-1].id}"' in mine and "&lt;i&gt;出差&lt;/i&gt;" in mine and "<i>出差" not in html
    # the substitute sees it among those they stand in for, and may not end it
    manager = login_as("manager1")
    theirs = manager.get("/substitutes/").get_data(as_text=True)
    assert f'data-id="{rows[-1].id}"' in re.search(r'jx-for-others.*?</table>', theirs, re.S).group(0)
    token = token_of(theirs)
    assert manager.post(f"/substitutes/{rows[-1].id}/revoke", data={"csrf_token": token}).status_code == 404
    assert substitutes_of(app, "sup1")[-1].revoked_at is None
    ended = sup1.post(f"/substitutes/{rows[-1].id}/revoke", data={"csrf_token": token_of(html)},
                      follow_redirects=True)
    assert ended.status_code == 200 and substitutes_of(app, "sup1")[-1].revoked_at is not None


@pytest.mark.parametrize("form, field", [
    ({"starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "ends_on"),
    ({"starts_on": "tomorrow", "ends_on": "2026-12-01"}, "starts_on"),
    ({"substitute_user_id": "self"}, "substitute_user_id"),
])
def test_bad_input_is_explained_and_stores_nothing(app, login_as, form, field):
    before = len(substitutes_of(app, "sup1"))
    start = today(app) + dt.timedelta(days=1)
    data = {"substitute_user_id": user_id(app, "manager1"), "starts_on": start.isoformat(),
            "ends_on": (start + dt.timedelta(days=3)).isoformat(), "reason": "出差一周", **form}
    if data["substitute_user_id"] == "self":
        data["substitute_user_id"] = user_id(app, "sup1")
    page = name(login_as("sup1"), **data)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "alert-danger" in html, field
    assert len(substitutes_of(app, "sup1")) == before
    # the form shows what was typed
    for key in ("starts_on", "ends_on", "reason"):
        assert re.search(rf'name="{key}"[^>]*value="{re.escape(data[key])}"', html), key
    if field != "substitute_user_id":  # oneself is not among the choices
        assert f'<option value="{data["substitute_user_id"]}" selected>' in html


def test_hr_sees_and_names_everybodys_and_employees_have_no_screen(app, login_as):
    hr = login_as("hr")
    html = hr.get("/substitutes/").get_data(as_text=True)
    assert "jx-others" in html and 'name="principal_user_id"' in html
    start = today(app) + dt.timedelta(days=2)
    page = name(hr, principal_user_id=user_id(app, "sup2"), substitute_user_id=user_id(app, "manager1"),
                starts_on=start.isoformat(), ends_on=(start + dt.timedelta(days=5)).isoformat(), reason="")
    assert "alert-success" in page.get_data(as_text=True)
    assert substitutes_of(app, "sup2")[-1].created_by
    assert 'name="principal_user_id"' not in login_as("sup1").get("/substitutes/").get_data(as_text=True)
    assert login_as("emp1").get("/substitutes/").status_code in (302, 403)


def test_the_substitutes_inbox_marks_whom_they_act_for(app, login_as, fresh):
    with app.app_context():
        Moves(app, fresh).to_pending_review("EMP1")
        pk = appraisal_ids(fresh)["EMP1"]
        principal = caller(app, "sup1").actor.name
        db.session.add(Substitute(principal_id=user_id(app, "sup1"), substitute_id=user_id(app, "sup2"),
                                  starts_on=today(app), ends_on=today(app), created_by="test",
                                  created_at=app_clock.now()))
        db.session.commit()
    html = login_as("sup2").get(f"/appraisal/inbox/?cycle={fresh}&q=EMP1").get_data(as_text=True)
    row = re.search(rf'data-id="{pk}".*?</tr>', html, re.S)
    assert row and "jx-acting-for" in row.group(0) and principal in row.group(0)
    own = login_as("sup1").get(f"/appraisal/inbox/?cycle={fresh}&q=EMP1").get_data(as_text=True)
    assert f'data-id="{pk}"' in own and "jx-acting-for" not in own


def test_hr_reassigns_the_reviewer_on_the_appraisal_page(app, login_as, fresh):
    with app.app_context():
        Moves(app, fresh).to_pending_review("EMP1")
        pk = appraisal_ids(fresh)["EMP1"]
        sup2 = db.session.scalar(select(Employee).where(Employee.employee_no == "SUP2"))
        sup2_id, sup2_name = sup2.id, sup2.name
    assert "jx-reassign" not in login_as("sup1").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    hr = login_as("hr")
    page = hr.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "jx-reassign" in page and '<option value="SUP2">' in page
    token = token_of(page)
    # no reason: refused, nothing changes; a supervisor may not reassign
    refused = hr.post(f"/appraisal/reassign/{pk}", data={"csrf_token": token, "reviewer_employee_no": "SUP2",
                                                          "reason": " "}, follow_redirects=True)
    assert "alert-danger" in refused.get_data(as_text=True)
    sup1 = login_as("sup1")
    sup1.post(f"/appraisal/reassign/{pk}", data={"csrf_token": token_of(sup1.get("/").get_data(as_text=True)),
                                                 "reviewer_employee_no": "SUP2", "reason": "我想"})
    with app.app_context():
        assert db.session.get(Appraisal, pk).reviewer_id is None
    done = hr.post(f"/appraisal/reassign/{pk}", data={"csrf_token": token, "reviewer_employee_no": "SUP2",
                                                       "reason": "主管休长假"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "alert-success" in html and "jx-reviewer" in html and sup2_name in html and "主管休长假" in html
    with app.app_context():
        assert current(fresh, "EMP1").reviewer_id == sup2_id


def countersign_table():
    data = copy.deepcopy(DATA)
    for row in data["transitions"]:
        if row["from"] == "pending_second_review" and row["action"] == "approve":
            row["countersign"] = ["StationManager", "HR"]
    return load_table(data, roles=ROLES)


def test_a_countersigned_step_shows_one_of_two(app, login_as, api_as, fresh, monkeypatch):
    table = countersign_table()
    monkeypatch.setattr(workflows, "workflow_table", lambda session, version: table)
    pk = appraisal_ids_of(app, fresh)["EMP1"]
    hr, sup1, manager1 = api_as("hr"), api_as("sup1"), api_as("manager1")
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "submit"}).status_code == 200
    reviewed = sup1.post(f"/api/v1/appraisal/{pk}/review", json={"adjustment": 6, "reason": "突出"})
    assert reviewed.status_code == 200
    assert sup1.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "approve"}).json == {
        "state": "pending_second_review"}
    shown = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert re.search(r'jx-countersign">.*?0\D+2', shown, re.S)
    assert manager1.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "approve"}).json == {
        "state": "pending_second_review"}
    shown = login_as("hr").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert re.search(r'jx-countersign">.*?1\D+2', shown, re.S)
    [item] = [i for i in hr.get(f"/api/v1/appraisal/inbox?cycle={fresh}").json["result"] if i["id"] == pk]
    assert item["countersign"] == {"done": 1, "needed": 2}
    assert hr.get(f"/api/v1/appraisal/{pk}/actions").json["countersign"] == {"done": 1, "needed": 2}
    listed = login_as("hr").get(f"/appraisal/inbox/?cycle={fresh}&state=pending_second_review")
    assert re.search(rf'data-id="{pk}".*?jx-countersign">1\D+2', listed.get_data(as_text=True), re.S)


def appraisal_ids_of(app, cycle_id: int) -> dict[str, int]:
    with app.app_context():
        return appraisal_ids(cycle_id)
