"""Transitions through the API: 200 / 403 with the reason / 404 / 409 / 422, one audit event each, review
edits, bulk approval, the inbox, the list and the show endpoints."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from tests.conftest import csrf_token
from tests.cycles.conftest import Moves, appraisal_ids, current, events

SECOND = {"S01": "manager1", "S02": "hr"}


def ids(app, cycle_id):
    with app.app_context():
        return appraisal_ids(cycle_id)


def event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def post(api, pk, action, comment=None, **extra):
    return api.post(f"/api/v1/appraisal/{pk}/transition",
                    json={"action": action, "comment": comment, **extra})


def test_the_whole_journey_writes_one_event_per_step(app, api_as, fresh):
    pk = ids(app, fresh)["EMP1"]
    hr, sup1, emp1 = api_as("hr"), api_as("sup1"), api_as("emp1")
    steps = [(hr, "submit", None, "pending_review")]
    for api, action, comment, expected in steps:
        r = post(api, pk, action, comment)
        assert r.status_code == 200 and r.json == {"state": expected}
    r = post(sup1, pk, "approve")
    assert r.status_code == 200
    if r.json["state"] == "pending_second_review":
        assert post(api_as("manager1"), pk, "approve").json == {"state": "approved"}
    assert post(emp1, pk, "dispute", "返修单不是我的").status_code == 404  # not published yet
    assert hr.post(f"/api/v1/cycle/{fresh}/publish").status_code == 200
    r = post(emp1, pk, "dispute", "返修单不是我的")
    assert r.json == {"state": "disputed"}
    assert post(hr, pk, "uphold", "核实无误").json == {"state": "approved"}
    with app.app_context():
        trail = events(pk)
        assert [e.action for e in trail][:3] == ["compute", "submit", "approve"]
        assert [e.action for e in trail][-3:] == ["publish", "dispute", "uphold"]
        for before, after in zip(trail, trail[1:], strict=False):
            assert after.from_state == before.to_state
        assert trail[-1].comment == "核实无误" and trail[-1].who == "人力资源"
        assert all(e.snapshot_hash == current(fresh, "EMP1").snapshot_hash for e in trail)
    shown = emp1.get(f"/api/v1/appraisal/{pk}").json["result"]
    assert [t["comment"] for t in shown["trail"]][-1] == "核实无误"


def test_refusals_answer_403_with_the_reason_and_change_nothing(app, api_as, fresh):
    pk = ids(app, fresh)["EMP1"]
    before = event_count(app)
    r = post(api_as("sup1"), pk, "approve")  # still a draft
    assert r.status_code == 403 and "草稿" in r.json["message"] and r.json["code"] == "NOT_IN_STATE"
    post(api_as("hr"), pk, "submit")
    r = post(api_as("emp1"), pk, "approve")  # their own result under review does not exist for them
    assert r.status_code == 404
    r = post(api_as("manager1"), pk, "approve")  # sees the station, but is not the supervisor
    assert r.status_code == 403 and r.json["code"] == "NOT_PERMITTED" and "主管" in r.json["message"]
    r = post(api_as("hr"), pk, "fly")
    assert r.status_code == 403 and r.json["code"] == "UNKNOWN_ACTION"
    assert event_count(app) == before + 1  # only the submit
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "pending_review"


def test_the_reason_comes_in_english_to_an_english_user(app, login_as, fresh):
    pk = ids(app, fresh)["EMP1"]
    browser = login_as("sup1")
    browser.get("/lang/en")
    token = csrf_token(browser, "/appraisal/inbox/")
    r = browser.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "approve"},
                     headers={"X-CSRFToken": token})
    assert r.status_code == 403 and "draft" in r.json["message"].lower()


def test_missing_comment_is_422_and_changes_nothing(app, api_as, fresh):
    pk = ids(app, fresh)["EMP2"]
    post(api_as("hr"), pk, "submit")
    before = event_count(app)
    for comment in (None, "", "   "):
        r = post(api_as("sup1"), pk, "return", comment)
        assert r.status_code == 422 and r.json["message"]
    assert event_count(app) == before
    assert post(api_as("sup1"), pk, "return", "请补充工单").json == {"state": "draft"}


def test_a_state_changed_under_the_caller_is_409(app, api_as, fresh):
    pk = ids(app, fresh)["EMP3"]
    sup1 = api_as("sup1")
    post(api_as("hr"), pk, "submit")
    assert post(sup1, pk, "approve", state="draft").status_code == 409  # the caller saw a draft
    first = post(sup1, pk, "approve", state="pending_review")
    assert first.status_code == 200
    before = event_count(app)
    assert post(sup1, pk, "approve", state="pending_review").status_code == 409
    assert post(sup1, pk, "approve").status_code == 409  # it was possible a moment ago
    assert event_count(app) == before


def test_bad_requests_are_400(api_as, app, fresh):
    pk = ids(app, fresh)["EMP1"]
    hr = api_as("hr")
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", json=["submit"]).status_code == 400
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", json={"action": 3}).status_code == 400
    body = {"action": "submit", "comment": 5}
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", json=body).status_code == 400
    assert hr.post(f"/api/v1/appraisal/{pk}/transition", data="x").status_code == 400


def test_actions_per_caller(app, api_as, fresh):
    pk = ids(app, fresh)["EMP4"]
    actions = api_as("hr").get(f"/api/v1/appraisal/{pk}/actions").json["actions"]
    assert [a["action"] for a in actions] == ["submit"]
    assert api_as("sup1").get(f"/api/v1/appraisal/{pk}/actions").json["actions"] == []
    post(api_as("hr"), pk, "submit")
    answer = api_as("sup1").get(f"/api/v1/appraisal/{pk}/actions").json
    assert answer["state"] == "pending_review"
    assert [(a["action"], a["comment_required"]) for a in answer["actions"]] == [("approve", False),
                                                                                ("return", True)]
    assert api_as("emp4").get(f"/api/v1/appraisal/{pk}/actions").status_code == 404  # not published


def test_review_recomputes_the_total_and_feeds_the_guard(app, api_as, fresh):
    pk = ids(app, fresh)["EMP1"]
    sup1 = api_as("sup1")
    url = f"/api/v1/appraisal/{pk}/review"
    assert sup1.post(url, json={"adjustment": 2, "reason": "好"}).status_code == 403  # still a draft
    post(api_as("hr"), pk, "submit")
    assert sup1.post(url, json={"adjustment": 10.5, "reason": "太多"}).status_code == 422
    assert sup1.post(url, json={"adjustment": 3}).json["errors"].keys() == {"reason"}
    assert sup1.post(url, json={"adjustment": "abc", "reason": "x"}).status_code == 422
    assert sup1.post(url, json={"manual": {"first_fix_rate": 1}}).status_code == 422  # not a manual one
    assert api_as("emp1").post(url, json={"adjustment": 1, "reason": "我"}).status_code == 404
    assert api_as("manager1").post(url, json={"adjustment": 1, "reason": "站长"}).status_code == 403
    assert api_as("sup2").post(url, json={"adjustment": 1, "reason": "别人"}).status_code == 404
    before = api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]
    r = sup1.post(url, json={"adjustment": -6, "reason": "客户投诉"})
    assert r.status_code == 200
    if before["subtotal"] is not None:
        assert r.json["total"] == pytest.approx(max(0, before["subtotal"] - 6), abs=0.01)
    assert r.json["adjustment"] == -6
    assert post(sup1, pk, "approve").json == {"state": "pending_second_review"}  # |adjustment| > 5
    with app.app_context():
        (review,) = events(pk, "review")
        assert "客户投诉" in review.comment and review.snapshot_hash == current(fresh, "EMP1").snapshot_hash
        assert current(fresh, "EMP1").snapshot["adjustment_reason"] == "客户投诉"


def test_manual_indicator_values_enter_the_total(app, api_as, fresh):
    with app.app_context():
        pk = appraisal_ids(fresh)["EMP1"]
        manual = [line["code"] for line in current(fresh, "EMP1").snapshot["lines"] if line["manual"]]
    assert manual, "the default technician template has a manual indicator"
    code = manual[0]
    sup1 = api_as("sup1")
    post(api_as("hr"), pk, "submit")
    url = f"/api/v1/appraisal/{pk}/review"
    assert sup1.post(url, json={"manual": {code: "x"}}).status_code == 422
    before = sup1.get(f"/api/v1/appraisal/{pk}").json["result"]
    r = sup1.post(url, json={"manual": {code: 95}, "reason": "现场检查"})
    assert r.status_code == 200
    with app.app_context():
        appraisal = current(fresh, "EMP1")
        line = next(line for line in appraisal.snapshot["lines"] if line["code"] == code)
        assert line["value"] == 95 and not line["na"] and line["manual"]
        assert appraisal.manual == {code: 95}
        assert appraisal.adjustment_reason is None and appraisal.snapshot["adjustment_reason"] == ""
        assert "现场检查" in events(pk, "review")[-1].comment
        assert appraisal.subtotal != before["subtotal"]  # a line that was N/A now counts
    cleared = sup1.post(url, json={"manual": {code: None}})
    assert cleared.status_code == 200 and cleared.json["subtotal"] == before["subtotal"]


def test_bulk_approve_answers_per_appraisal(app, api_as, fresh):
    every = ids(app, fresh)
    hr, sup1 = api_as("hr"), api_as("sup1")
    for no in ("EMP1", "EMP2", "EMP3", "EMP6"):
        post(hr, every[no], "submit")
    wanted = [every["EMP1"], every["EMP2"], every["EMP3"], every["EMP4"], every["EMP6"], 987654]
    r = sup1.post("/api/v1/appraisal/bulk-transition", json={"ids": wanted, "action": "approve"})
    assert r.status_code == 200
    status = {entry["id"]: entry["status"] for entry in r.json["results"]}
    assert [status[every[n]] for n in ("EMP1", "EMP2", "EMP3")] == [200, 200, 200]
    assert status[every["EMP4"]] == 403  # a draft
    assert status[every["EMP6"]] == 404 and status[987654] == 404  # not theirs / not there
    assert r.json["succeeded"] == 3 and r.json["failed"] == 3
    reasons = {e["id"]: e.get("message") for e in r.json["results"]}
    assert reasons[every["EMP4"]]
    assert sup1.post("/api/v1/appraisal/bulk-transition", json={"ids": []}).status_code == 400
    assert sup1.post("/api/v1/appraisal/bulk-transition", json={"ids": ["1"]}).status_code == 400


def test_inbox_per_person(app, api_as, fresh):
    every = ids(app, fresh)
    moves = Moves(app, fresh)
    with app.app_context():
        moves.to_pending_review("EMP1")
        moves.to_pending_review("EMP7")
        moves.to_approved("EMP2")
    assert api_as("hr").post(f"/api/v1/cycle/{fresh}/publish").status_code == 200  # emp2 answers it then

    def inbox(user):
        items = api_as(user).get("/api/v1/appraisal/inbox").json["result"]
        return {(e["employee_no"], tuple(e["actions"])) for e in items if e["cycle"] == "测试周期"}

    assert ("EMP1", ("approve", "return")) in inbox("sup1")
    assert not {n for n, _ in inbox("sup1")} - {"EMP1"}
    assert {n for n, _ in inbox("sup2")} == {"EMP7"}
    assert ("EMP2", ("sign", "dispute")) in inbox("emp2")
    assert inbox("emp1") == set()
    drafts = {n for n, a in inbox("hr") if a == ("submit",)}
    assert drafts == set(every) - {"EMP1", "EMP7", "EMP2"}


def test_list_and_show_have_the_spec_fields_and_scope(app, api_as, fresh):
    with app.app_context():
        Moves(app, fresh).to_approved("EMP1")  # an employee lists a result of their own once it is published
    assert api_as("hr").post(f"/api/v1/cycle/{fresh}/publish").status_code == 200
    listed = api_as("emp1").get("/api/v1/appraisal/?q=(page_size:100)").json
    assert {r["employee_no"] for r in listed["result"]} == {"EMP1"}
    mine = next(r for r in listed["result"] if r["cycle"] == "测试周期")
    assert {"id", "cycle", "employee_no", "state", "total", "grade", "lines"} <= set(mine)
    assert isinstance(mine["lines"], list) and mine["lines"]
    shown = api_as("sup1").get(f"/api/v1/appraisal/{mine['id']}").json
    assert shown["id"] == mine["id"] and shown["result"]["cycle"] == "测试周期"
    assert shown["result"]["employee_no"] == "EMP1" and shown["result"]["lines"] == mine["lines"]
    sup1 = api_as("sup1").get("/api/v1/appraisal/?q=(page_size:100)").json
    assert {r["employee_no"] for r in sup1["result"]} <= {"SUP1", "EMP1", "EMP2", "EMP3", "EMP4", "EMP5"}
    hr = api_as("hr").get("/api/v1/appraisal/?q=(page_size:500)").json
    assert hr["count"] >= 2 * 10
    assert api_as("hr").put(f"/api/v1/appraisal/{mine['id']}", json={"total": 100}).status_code == 403
    assert api_as("hr").delete(f"/api/v1/appraisal/{mine['id']}").status_code == 403
