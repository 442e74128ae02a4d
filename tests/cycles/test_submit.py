"""HR submits a whole cycle: every draft goes to review through the transition service, each with its
own checks; the answer names which went and why the others did not. Screen, API and service."""

from __future__ import annotations

import re

from app.extensions import db
from app.services.cycles import drafts_of, submit_drafts
from tests.cycles.conftest import Moves, appraisal_ids, current, events, person


def test_service_submits_the_drafts_in_scope_and_reports_refusals(app, fresh):
    with app.app_context():
        Moves(app, fresh).to_pending_review("EMP1")
        sup2 = person(app, "sup2")
        drafts_of_sup2 = drafts_of(db.session, fresh, sup2.scope)
        outcomes, remaining = submit_drafts(db.session, fresh, sup2)
        assert remaining == 0 and [o.id for o in outcomes] == drafts_of_sup2 and drafts_of_sup2
        # only HR submits
        assert all(not o.ok and o.refusal.kind == "refused" and o.refusal.code for o in outcomes)
        assert current(fresh, "EMP6").state.value == "draft"

        hr = person(app, "hr")
        outcomes, remaining = submit_drafts(db.session, fresh, hr, "本期数据已核对", limit=5)
        assert len(outcomes) == 5 and all(o.ok and o.state == "pending_review" for o in outcomes)
        total = len(appraisal_ids(fresh))
        assert remaining == total - 1 - 5
        outcomes, remaining = submit_drafts(db.session, fresh, hr)
        assert len(outcomes) == total - 6 and remaining == 0
        assert submit_drafts(db.session, fresh, hr) == ([], 0)
        emp6 = current(fresh, "EMP6")
        assert emp6.state.value == "pending_review"
        (event,) = events(emp6.id, "submit")
        assert (event.from_state, event.to_state) == ("draft", "pending_review")


def test_api_submits_a_cycle(app, fresh, api_as):
    hr = api_as("hr")
    r = hr.post(f"/api/v1/cycle/{fresh}/submit", json={"comment": "提交审核"})
    assert r.status_code == 200, r.json
    with app.app_context():
        total = len(appraisal_ids(fresh))
        assert r.json["succeeded"] == total and r.json["failed"] == 0 and r.json["remaining"] == 0
        assert {e["state"] for e in r.json["results"]} == {"pending_review"}
        assert events(current(fresh, "EMP1").id, "submit")[0].comment == "提交审核"
    again = hr.post(f"/api/v1/cycle/{fresh}/submit")
    assert again.status_code == 200 and again.json["results"] == []
    assert hr.post("/api/v1/cycle/999999/submit").status_code == 404
    assert hr.post(f"/api/v1/cycle/{fresh}/submit", json={"comment": 5}).status_code == 400
    assert api_as("sup1").post(f"/api/v1/cycle/{fresh}/submit").status_code in (401, 403)


def test_screen_submits_the_cycle_and_lists_what_failed(app, fresh, login_as):
    browser = login_as("hr")
    html = browser.get(f"/cycles/{fresh}").get_data(as_text=True)
    with app.app_context():
        total = len(appraisal_ids(fresh))
    assert f"全部提交审核（{total} 份草稿）" in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    r = browser.post(f"/cycles/{fresh}/submit", data={"csrf_token": token})
    assert r.status_code == 302
    page = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert f"{total} 份考核中 {total} 份已完成" in page and "jx-submit-drafts" not in page
    with app.app_context():
        assert current(fresh, "EMP9").state.value == "pending_review"
    r = browser.post(f"/cycles/{fresh}/submit", data={"csrf_token": token})
    assert "本周期没有可提交的草稿" in browser.get(r.headers["Location"]).get_data(as_text=True)
    # only HR may: a supervisor's post is refused
    sup = login_as("sup1")
    page = sup.get("/cycles/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert sup.post(f"/cycles/{fresh}/submit", data={"csrf_token": token}).status_code in (302, 403)
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "pending_review"


def test_inbox_offers_bulk_submit_to_hr_and_explains_refusals(app, fresh, login_as):
    with app.app_context():
        ids = appraisal_ids(fresh)
        Moves(app, fresh).to_pending_review("EMP2")
    browser = login_as("hr")
    html = browser.get("/appraisal/inbox/").get_data(as_text=True)
    assert 'name="action" value="submit"' in html and f'value="{ids["EMP1"]}"' in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    r = browser.post("/appraisal/bulk/", data={"csrf_token": token, "action": "submit", "confirmed": "1",
                                               "ids": [str(ids["EMP1"]), str(ids["EMP2"])]})
    assert r.status_code == 302
    page = browser.get("/appraisal/inbox/").get_data(as_text=True)
    assert "2 份考核中 1 份已完成" in page
    assert f"#{ids['EMP2']} EMP2 刘洋" in page  # the refusal names the appraisal and its employee
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "pending_review"
    assert browser.post("/appraisal/bulk/", data={"csrf_token": token, "action": "sign",
                                                  "ids": [str(ids["EMP3"])]}).status_code == 400
