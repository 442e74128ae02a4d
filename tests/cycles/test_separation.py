"""Separation of duties and routing through the real services and the API: nobody takes two approval steps
of one appraisal, appraisals of people without a supervisor go to the station manager else HR, and the
actions offered, the inbox and the refusals agree."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from tests.conftest import csrf_token
from tests.cycles.conftest import appraisal_ids, current


def ids(app, cycle_id):
    with app.app_context():
        return appraisal_ids(cycle_id)


def event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def post(api, pk, action, comment=None):
    return api.post(f"/api/v1/appraisal/{pk}/transition", json={"action": action, "comment": comment})


def actions(api, pk) -> list[str]:
    return [a["action"] for a in api.get(f"/api/v1/appraisal/{pk}/actions").json["actions"]]


def inbox(api, cycle="测试周期") -> dict[str, dict]:
    items = api.get("/api/v1/appraisal/inbox").json["result"]
    return {e["employee_no"]: e for e in items if e["cycle"] == cycle}


def test_one_person_never_decides_both_levels(app, api_as, login_as, fresh):
    pk = ids(app, fresh)["SUP1"]  # manager1 supervises sup1 and manages S01
    hr, manager1 = api_as("hr"), api_as("manager1")
    assert post(hr, pk, "submit").json == {"state": "pending_review"}
    r = manager1.post(f"/api/v1/appraisal/{pk}/review", json={"adjustment": 6, "reason": "表现突出"})
    assert r.status_code == 200
    assert post(manager1, pk, "approve").json == {"state": "pending_second_review"}

    assert actions(manager1, pk) == []
    assert "SUP1" not in inbox(manager1)
    before = event_count(app)
    r = post(manager1, pk, "approve")
    assert r.status_code == 403 and r.json["code"] == "SEPARATION_OF_DUTIES"
    assert "两级" in r.json["message"] and "人力资源" in r.json["message"]
    assert post(manager1, pk, "return", "撤回").status_code == 403
    english = login_as("manager1")
    english.get("/lang/en")
    r = english.post(f"/api/v1/appraisal/{pk}/transition", json={"action": "approve"},
                     headers={"X-CSRFToken": csrf_token(english, "/appraisal/inbox/")})
    assert r.status_code == 403 and "two approval steps" in r.json["message"]
    assert event_count(app) == before
    with app.app_context():
        assert current(fresh, "SUP1").state.value == "pending_second_review"

    # The second review is HR's, and the screen says so.
    waiting = manager1.get(f"/api/v1/appraisal/{pk}/actions").json["waiting_for"]
    assert [w["relation"] for w in waiting] == ["hr"]
    page = login_as("manager1").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "jx-waiting" in page and "人力资源" in page and 'value="approve"' not in page
    assert "jx-not-twice" in page and "两级" in page
    assert actions(hr, pk) == ["approve", "return"] and "SUP1" in inbox(hr)
    # Returned from the second review, a new round starts: manager1 approves the first level again.
    assert post(hr, pk, "return", "请复核调整分").json == {"state": "pending_review"}
    assert post(manager1, pk, "approve").json == {"state": "pending_second_review"}
    assert post(manager1, pk, "approve").status_code == 403
    assert post(hr, pk, "approve").json == {"state": "approved"}


def test_an_ordinary_second_review_is_unchanged(app, api_as, fresh):
    pk = ids(app, fresh)["EMP1"]
    post(api_as("hr"), pk, "submit")
    sup1, manager1 = api_as("sup1"), api_as("manager1")
    review = {"adjustment": -6, "reason": "投诉"}
    assert sup1.post(f"/api/v1/appraisal/{pk}/review", json=review).status_code == 200
    assert post(sup1, pk, "approve").json == {"state": "pending_second_review"}
    assert actions(manager1, pk) == ["approve", "return"]
    waiting = {w["relation"]: w for w in manager1.get(f"/api/v1/appraisal/{pk}/actions").json["waiting_for"]}
    assert waiting["station_manager"]["name"] == "王建国" and "hr" in waiting
    assert post(manager1, pk, "approve").json == {"state": "approved"}


def test_appraisals_without_a_supervisor_are_never_stuck(app, api_as, login_as, fresh):
    every = ids(app, fresh)
    hr, admin, manager1, sup2 = api_as("hr"), api_as("admin"), api_as("manager1"), api_as("sup2")
    for no in ("MANAGER1", "SUP2"):
        assert post(hr, every[no], "submit").status_code == 200
    # MANAGER1 manages their own station: HR stands in. SUP2's station has no manager: HR too.
    for no in ("MANAGER1", "SUP2"):
        pk = every[no]
        assert actions(hr, pk) == ["approve", "return"], no
        (waiting,) = hr.get(f"/api/v1/appraisal/{pk}/actions").json["waiting_for"]
        assert waiting["relation"] == "hr" and waiting["stands_in"] and "没有主管" in waiting["text"]
        assert inbox(hr)[no]["actions"] == ["approve", "return"]
    # their own appraisal under review does not exist for them (their station and reports leave them out)
    assert manager1.get(f"/api/v1/appraisal/{every['MANAGER1']}/actions").status_code == 404
    assert post(manager1, every["MANAGER1"], "approve").status_code == 404
    assert sup2.get(f"/api/v1/appraisal/{every['SUP2']}/actions").status_code == 404
    page = login_as("hr").get(f"/appraisal/show/{every['SUP2']}").get_data(as_text=True)
    assert "jx-waiting" in page and "没有主管" in page and 'value="approve"' in page

    # HR reviews as the stand-in; the second level is then another person's (the admin, as HR).
    pk = every["SUP2"]
    review = {"adjustment": 7, "reason": "项目突出"}
    assert hr.post(f"/api/v1/appraisal/{pk}/review", json=review).status_code == 200
    assert post(hr, pk, "approve").json == {"state": "pending_second_review"}
    r = post(hr, pk, "approve")
    assert r.status_code == 403 and r.json["code"] == "SEPARATION_OF_DUTIES"
    assert "SUP2" not in inbox(hr) and "SUP2" in inbox(admin)
    assert post(admin, pk, "approve").json == {"state": "approved"}
    assert post(api_as("hr"), every["MANAGER1"], "approve").status_code == 200


def test_an_employee_without_a_supervisor_goes_to_the_station_manager(app, api_as, fresh):
    from app.models import Employee

    with app.app_context():
        emp1 = db.session.scalar(select(Employee).where(Employee.employee_no == "EMP1"))
        emp1.supervisor_id = None
        db.session.commit()
    pk = ids(app, fresh)["EMP1"]
    post(api_as("hr"), pk, "submit")
    assert api_as("sup1").get(f"/api/v1/appraisal/{pk}/actions").status_code == 404  # no longer theirs
    assert actions(api_as("hr"), pk) == []
    manager1 = api_as("manager1")
    assert actions(manager1, pk) == ["approve", "return"]
    (waiting,) = manager1.get(f"/api/v1/appraisal/{pk}/actions").json["waiting_for"]
    assert waiting["relation"] == "station_manager" and waiting["name"] == "王建国" and waiting["stands_in"]
    assert "EMP1" in inbox(manager1)


def test_over_long_comments_are_refused_with_nothing_stored(app, api_as, login_as, fresh):
    from app.workflow import MAX_COMMENT

    pk = ids(app, fresh)["EMP2"]
    hr, sup1 = api_as("hr"), api_as("sup1")
    long = "很" * (MAX_COMMENT + 1)
    before = event_count(app)
    r = post(hr, pk, "submit", long)
    assert r.status_code == 422 and r.json["code"] == "COMMENT_TOO_LONG"
    assert str(MAX_COMMENT) in r.json["message"]
    assert event_count(app) == before
    assert post(hr, pk, "submit", "x" * MAX_COMMENT).status_code == 200
    r = sup1.post(f"/api/v1/appraisal/{pk}/review", json={"adjustment": 3, "reason": long})
    assert r.status_code == 422 and str(MAX_COMMENT) in r.json["errors"]["reason"]
    # The form refuses too: nothing stored, the reason shown.
    browser = login_as("sup1")
    token = csrf_token(browser, f"/appraisal/show/{pk}")
    before = event_count(app)
    r = browser.post(f"/appraisal/transition/{pk}", data={"action": "return", "comment": long,
                                                           "state": "pending_review", "csrf_token": token},
                     follow_redirects=True)
    assert "意见过长" in r.get_data(as_text=True)
    r = browser.post(f"/appraisal/review/{pk}", data={"adjustment": "3", "reason": long, "csrf_token": token},
                     follow_redirects=True)
    assert "意见过长" in r.get_data(as_text=True)
    assert event_count(app) == before
    with app.app_context():
        appraisal = current(fresh, "EMP2")
        assert appraisal.state.value == "pending_review" and appraisal.adjustment == 0


def test_review_edits_per_step_are_bounded(app, api_as, login_as, fresh):
    from app.services.workflows import default_table

    limit = default_table().max_edits
    pk = ids(app, fresh)["EMP3"]
    sup1 = api_as("sup1")
    post(api_as("hr"), pk, "submit")
    url = f"/api/v1/appraisal/{pk}/review"
    for i in range(limit):
        assert sup1.post(url, json={"adjustment": 1 + i % 2, "reason": f"第 {i} 次"}).status_code == 200
    before = event_count(app)
    r = sup1.post(url, json={"adjustment": 4, "reason": "再改一次"})
    assert r.status_code == 422 and "上限" in r.json["errors"]["review"]
    assert event_count(app) == before
    page = login_as("sup1").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "jx-review-closed" in page and "jx-review\"" not in page
    # The step is decided; a new step (returned to draft, submitted again) has its own edits.
    assert post(sup1, pk, "return", "重算").status_code == 200
    post(api_as("hr"), pk, "submit")
    assert sup1.post(url, json={"adjustment": 4, "reason": "新一轮"}).status_code == 200
