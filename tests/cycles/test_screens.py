"""The screens: cycles (create and compute with progress), the appraisal page (lines and explanations,
review form, actions, trail), the inbox with bulk approval, the employee's own results."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markupsafe import escape

from app.extensions import db
from app.services.publication import publish
from tests.cycles.conftest import FRESH, Moves, appraisal_ids, current, demo_period, person, wait_job


def token_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_hr_creates_and_computes_a_cycle_on_screen(app, login_as):
    with app.app_context():
        start, end = demo_period()
    browser = login_as("hr")
    page = browser.get("/cycles/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="stations"' in html
    r = browser.post("/cycles/create", data={"csrf_token": token_of(html), "name": "屏幕周期",
                                             "start": start.isoformat(), "end": end.isoformat(),
                                             "stations": ["S02"], "compute": "1"})
    assert r.status_code == 302
    cycle_page = r.headers["Location"]
    assert cycle_page.endswith("?computed=1")  # the page the compute's progress ends on
    pk = int(urlsplit(cycle_page).path.rstrip("/").rsplit("/", 1)[1])
    job_id = browser.get(f"/api/v1/cycle/{pk}/progress").json["job_id"]
    html = browser.get(cycle_page).get_data(as_text=True)
    assert f'data-job-id="{job_id}"' in html  # the job's bar (queued, running, or done by now)
    assert wait_job(app, job_id)["state"] == "done"
    progress = browser.get(f"/api/v1/cycle/{pk}/progress").json
    assert progress["status"] == "computed" and not progress["running"]
    html = browser.get(cycle_page).get_data(as_text=True)
    assert "屏幕周期" in html and "<script>" not in html
    assert f'data-job-id="{job_id}"' in html and 'data-state="done"' in html  # the page the compute ends on
    assert f'data-job-id="{job_id}"' not in browser.get(f"/cycles/{pk}").get_data(as_text=True)
    assert "计算完成" in html and "最近一次计算" in html  # the job's sentence and the result's summary
    assert progress["appraisals"]["draft"] >= 5
    # employees see the cycle but cannot create or compute
    emp = login_as("emp1")
    assert 'name="stations"' not in emp.get("/cycles/").get_data(as_text=True)
    token = token_of(emp.get("/cycles/").get_data(as_text=True))
    assert emp.post(f"/cycles/{pk}/compute", data={"csrf_token": token}).status_code in (302, 403)
    with app.app_context():
        from app.models import Cycle

        assert db.session.get(Cycle, pk).computed_at is not None


def test_the_appraisal_page_shows_lines_review_actions_and_trail(app, login_as, fresh):
    with app.app_context():
        Moves(app, fresh).to_pending_review("EMP1")
        appraisal = current(fresh, "EMP1")
        pk, lines = appraisal.id, appraisal.snapshot["lines"]
    browser = login_as("sup1")
    html = browser.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    for line in lines:
        assert str(escape(line["name"])) in html
        if line["explain"]:
            assert str(escape(line["explain"])) in html
    assert 'name="adjustment"' in html and 'value="approve"' in html and 'value="return"' in html
    token = token_of(html)
    r = browser.post(f"/appraisal/review/{pk}", data={"csrf_token": token, "adjustment": "2",
                                                      "reason": "<b>认真</b>",
                                                      "hash": appraisal.snapshot_hash})
    assert r.status_code == 302
    html = browser.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "&lt;b&gt;认真&lt;/b&gt;" in html and "<b>认真</b>" not in html
    r = browser.post(f"/appraisal/transition/{pk}", data={"csrf_token": token, "action": "return",
                                                          "comment": "", "state": "pending_review"})
    assert r.status_code == 422  # refused: the page again, the form as typed
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "pending_review"  # a return needs a comment
    browser.post(f"/appraisal/transition/{pk}", data={"csrf_token": token, "action": "return",
                                                      "comment": "请补充", "state": "pending_review"})
    with app.app_context():
        assert current(fresh, "EMP1").state.value == "draft"
    html = browser.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert "请补充" in html  # in the trail
    # the employee sees the page but no review form and no action while it is a draft
    mine = login_as("emp1").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert 'name="adjustment"' not in mine and 'name="action"' not in mine


def test_inbox_bulk_approve_on_screen(app, login_as, fresh):
    with app.app_context():
        moves = Moves(app, fresh)
        for no in ("EMP1", "EMP2", "EMP3"):
            moves.to_pending_review(no)
        ids = appraisal_ids(fresh)
    browser = login_as("sup1")
    html = browser.get("/appraisal/inbox/").get_data(as_text=True)
    assert "js/inbox.js" in html and FRESH in html
    for no in ("EMP1", "EMP2", "EMP3"):
        assert f'value="{ids[no]}"' in html
    r = browser.post("/appraisal/bulk/", data={"csrf_token": token_of(html), "confirmed": "1",
                                               "ids": [str(ids["EMP1"]), str(ids["EMP2"]), str(ids["EMP6"])]})
    assert r.status_code == 302
    with app.app_context():
        assert current(fresh, "EMP1").state.value in ("approved", "pending_second_review")
        assert current(fresh, "EMP2").state.value in ("approved", "pending_second_review")
        assert current(fresh, "EMP3").state.value == "pending_review"
        assert current(fresh, "EMP6").state.value == "draft"
    flashed = browser.get("/appraisal/inbox/").get_data(as_text=True)
    assert str(ids["EMP6"]) in flashed  # its failure is reported by id


def test_employee_sees_own_results_and_signs(app, login_as, fresh):
    with app.app_context():
        Moves(app, fresh).to_approved("EMP6")
        pk = appraisal_ids(fresh)["EMP6"]
    browser = login_as("emp6")
    assert FRESH not in browser.get("/appraisal/mine/").get_data(as_text=True)  # not published yet
    with app.app_context():
        publish(db.session, fresh, person(app, "hr"))
    mine = browser.get("/appraisal/mine/").get_data(as_text=True)
    assert FRESH in mine and f"/appraisal/show/{pk}" in mine
    page = browser.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert 'value="sign"' in page and 'value="dispute"' in page
    browser.post(f"/appraisal/transition/{pk}", data={"csrf_token": token_of(page), "action": "dispute",
                                                      "comment": "有疑问", "state": "approved"})
    with app.app_context():
        assert current(fresh, "EMP6").state.value == "disputed"
    assert login_as("emp1").get(f"/appraisal/show/{pk}").status_code == 404


def test_inbox_labels_come_from_each_appraisals_workflow(app, login_as, monkeypatch):
    from app.services import workflows

    text = workflows.default_workflow_file().read_text(encoding="utf-8")
    renamed = text.replace('pending_review = { zh = "待审核"', 'pending_review = { zh = "等候主管评审"', 1)
    assert renamed != text
    monkeypatch.setattr(workflows, "workflow_table",
                        lambda session, version_id: workflows.table_from_text(renamed))
    html = login_as("sup1").get("/appraisal/inbox/").get_data(as_text=True)
    assert "等候主管评审" in html and "待审核" not in html

