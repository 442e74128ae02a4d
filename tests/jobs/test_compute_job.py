"""A cycle's compute as a background job: started through the API (202 with the job at once, 409 while
one is unfinished), run by a worker with the same result as a direct compute, taken over after its
worker vanished without a duplicate, failed with the service's reason in both languages, and only HR's.
No runner thread here: ``drain`` runs the queued messages in the test's thread."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jobs.compute import WHATIF
from app.jobs.embedded import claim_message
from app.jobs.runtime import LostClaim, claim_job
from app.jobs.ticker import tick
from app.models import Appraisal, AuditEvent, Cycle, Employee, Job, JobKind, JobState, RuleSetVersion
from app.services import rules as service
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.factories import ApiClient, csrf_token, demo_cycle, demo_period, jwt_token
from tests.jobs.conftest import drain


def api(app, username: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, jwt_token(client, username))


def new_cycle(name: str, stations: list[str] | None = None) -> int:
    start, end = demo_period()
    cycle = create_cycle(db.session, name, start, end, stations or [])
    db.session.commit()
    return cycle.id


def job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def totals(cycle_id: int) -> dict[str, tuple]:
    """Each employee's current appraisal of the cycle: (total, grade, snapshot hash)."""
    db.session.expire_all()
    rows = db.session.execute(select(Employee.employee_no, Appraisal.total, Appraisal.grade,
                                     Appraisal.snapshot_hash)
                              .join(Appraisal, Appraisal.employee_id == Employee.id)
                              .where(Appraisal.cycle_id == cycle_id, Appraisal.is_current.is_(True))).all()
    return {no: (total, grade, digest) for no, total, grade, digest in rows}


def totals_only(cycle_id: int) -> dict[str, tuple]:
    # The snapshot names its cycle: two cycles' hashes differ, their totals and grades do not.
    return {no: (total, grade) for no, (total, grade, _digest) in totals(cycle_id).items()}


def counts(cycle_id: int) -> tuple[int, int, int]:
    """Appraisals, distinct employees among them, and their audit events."""
    appraisals = db.session.scalar(select(func.count()).select_from(Appraisal)
                                   .where(Appraisal.cycle_id == cycle_id))
    people = db.session.scalar(select(func.count(func.distinct(Appraisal.employee_id)))
                               .where(Appraisal.cycle_id == cycle_id))
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).join(Appraisal)
                               .where(Appraisal.cycle_id == cycle_id))
    return appraisals, people, events


def test_the_api_answers_202_with_the_job_and_the_job_computes_the_cycle(jobctx):
    cycle_id = new_cycle("作业计算", ["S01"])
    hr = api(jobctx, "hr")
    started = hr.post(f"/api/v1/cycle/{cycle_id}/compute", json={"rebind": False})
    assert started.status_code == 202 and set(started.json) == {"job_id"}
    job_id = started.json["job_id"]
    queued = job(job_id)
    assert (queued.kind, queued.state, queued.subject_id) == (JobKind.COMPUTE, JobState.QUEUED, cycle_id)
    assert queued.owner_id == jobctx.appbuilder.sm.find_user(username="hr").id
    assert queued.params["actor"]["user_id"] == queued.owner_id and "HR" in queued.params["actor"]["roles"]
    assert counts(cycle_id) == (0, 0, 0)  # nothing computed inside the request
    db.session.rollback()
    progress = hr.get(f"/api/v1/cycle/{cycle_id}/progress").json
    assert progress["running"] and progress["state"] == "queued" and progress["job"]["id"] == job_id
    drain(jobctx)
    done = job(job_id)
    assert done.state == JobState.DONE and done.active_key is None and done.attempts == 1
    assert done.stage == "write" and done.progress_done == done.progress_total
    appraisals, people, events = counts(cycle_id)
    assert done.result["created"] == appraisals == people == events >= 5
    assert done.message_zh.startswith("计算完成") and done.message_en.startswith("Computed:")
    # the audit trail names the person who started it
    who = set(db.session.scalars(select(AuditEvent.user_id).join(Appraisal)
                                 .where(Appraisal.cycle_id == cycle_id)))
    assert who == {done.owner_id}
    assert db.session.get(Cycle, cycle_id).last_result == done.result
    shown = hr.get(f"/api/v1/job/{job_id}")
    assert shown.status_code == 200 and shown.json["state"] == "done"


def test_a_second_start_while_unfinished_answers_409_with_the_first_job(jobctx):
    cycle_id = new_cycle("两次计算")
    hr = api(jobctx, "hr")
    first = hr.post(f"/api/v1/cycle/{cycle_id}/compute")
    second = hr.post(f"/api/v1/cycle/{cycle_id}/compute", json={"rebind": True})
    assert first.status_code == 202
    assert second.status_code == 409 and second.json["job_id"] == first.json["job_id"]
    assert second.json["message"]
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == JobKind.COMPUTE)) == 1
    db.session.rollback()
    drain(jobctx)
    assert job(first.json["job_id"]).state == JobState.DONE
    db.session.rollback()
    again = hr.post(f"/api/v1/cycle/{cycle_id}/compute")  # the first has ended: a new one starts
    assert again.status_code == 202 and again.json["job_id"] != first.json["job_id"]


def test_the_screen_starts_the_job_and_a_second_press_warns(jobctx):
    cycle_id = new_cycle("屏幕作业")
    browser = jobctx.test_client()
    token = csrf_token(browser)
    browser.post("/login/", data={"username": "hr", "password": "demo123", "csrf_token": token})
    token = csrf_token(browser, "/cycles/")
    first = browser.post(f"/cycles/{cycle_id}/compute", data={"csrf_token": token})
    assert first.status_code == 302 and first.headers["Location"].endswith(f"/cycles/{cycle_id}?computed=1")
    page = browser.get(first.headers["Location"]).get_data(as_text=True)
    job_id = db.session.scalar(select(Job.id).where(Job.subject_id == cycle_id))
    db.session.rollback()
    assert f'data-job-id="{job_id}"' in page and 'data-state="queued"' in page
    assert "计算中" in browser.get("/cycles/").get_data(as_text=True)
    browser.post(f"/cycles/{cycle_id}/compute", data={"csrf_token": token})
    assert "该考核周期正在计算中" in browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    drain(jobctx)
    db.session.expire_all()  # the screen's requests share this test's session: what they loaded is stale now
    page = browser.get(f"/cycles/{cycle_id}?computed=1").get_data(as_text=True)
    body = page[page.find('<div class="col-md-12">'):][:3000]
    assert 'data-state="done"' in page and "计算完成" in page and "最近一次计算" in page, body


def test_a_job_computes_what_a_direct_compute_computes(jobctx):
    direct, queued = new_cycle("直接计算"), new_cycle("作业计算二")
    reference = compute_cycle(db.session, db.session.get(Cycle, direct))
    hr = api(jobctx, "hr")
    job_id = hr.post(f"/api/v1/cycle/{queued}/compute").json["job_id"]
    drain(jobctx)
    result = job(job_id).result
    assert result["created"] == reference.created and result["skipped"] == reference.skipped
    assert totals_only(queued) == totals_only(direct) and len(totals(queued)) == reference.created


def test_a_job_whose_worker_vanished_is_sent_again_and_ends_as_an_uninterrupted_one(jobctx):
    reference_cycle, cycle_id = new_cycle("参照周期"), new_cycle("被杀周期")
    compute_cycle(db.session, db.session.get(Cycle, reference_cycle))
    hr = api(jobctx, "hr")
    job_id = hr.post(f"/api/v1/cycle/{cycle_id}/compute").json["job_id"]
    # A worker takes the message and claims the job, then dies (kill -9): no heartbeat, no ack, no commit.
    assert claim_message(db.engine, "dead-worker", 3600) is not None
    dead = claim_job(job_id)
    assert dead is not None and job(job_id).state == JobState.RUNNING
    db.session.rollback()
    drain(jobctx)  # its message is invisible (claimed by the dead worker): nothing runs
    assert job(job_id).state == JobState.RUNNING and counts(cycle_id) == (0, 0, 0)
    db.session.rollback()
    time.sleep(float(jobctx.config["JIXIAO_JOB_STALE_SECONDS"]) + 0.5)
    shown = hr.get(f"/api/v1/job/{job_id}").json
    assert shown["state"] == "retrying"  # the worker vanished: shown as retrying, not running for ever
    assert hr.get(f"/api/v1/cycle/{cycle_id}/progress").json["interrupted"] is True
    browser = jobctx.test_client()
    browser.post("/login/", data={"username": "hr", "password": "demo123", "csrf_token": csrf_token(browser)})
    page = browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f'data-job-id="{job_id}"' in page and 'data-state="retrying"' in page and "重试中" in page
    assert tick()["reaped"] == 1
    db.session.rollback()
    drain(jobctx)
    done = job(job_id)
    assert done.state == JobState.DONE and done.attempts == 2
    appraisals, people, events = counts(cycle_id)
    assert appraisals == people == events == done.result["created"] > 0  # no duplicate
    assert totals_only(cycle_id) == totals_only(reference_cycle)
    # the dead delivery's writes, had it lived on, are refused: the job is somebody else's now
    with pytest.raises(LostClaim):
        dead.finish_in(db.session, result={}, message=None)
    db.session.rollback()
    assert job(job_id).result == done.result


def test_a_compute_refused_by_the_service_fails_the_job_with_its_reason_in_both_languages(jobctx):
    cycle_id = new_cycle("无规则周期")
    db.session.execute(update(RuleSetVersion).values(status="draft"))
    db.session.commit()
    job_id = api(jobctx, "hr").post(f"/api/v1/cycle/{cycle_id}/compute").json["job_id"]
    drain(jobctx)
    failed = job(job_id)
    assert failed.state == JobState.FAILED and failed.active_key is None
    assert failed.message_en == "No rule set is published; load and publish one first."
    assert "规则" in failed.message_zh and failed.message_zh != failed.message_en
    assert counts(cycle_id) == (0, 0, 0)
    db.session.rollback()
    progress = api(jobctx, "hr").get(f"/api/v1/cycle/{cycle_id}/progress").json
    assert progress["state"] == "failed" and not progress["running"] and "规则" in progress["error"]


def test_only_hr_starts_a_compute_and_sees_its_job(jobctx):
    cycle_id = new_cycle("范围周期")
    assert api(jobctx, "sup1").post(f"/api/v1/cycle/{cycle_id}/compute").status_code == 403
    assert api(jobctx, "emp1").post(f"/api/v1/cycle/{cycle_id}/compute").status_code == 403
    hr = api(jobctx, "hr")
    assert hr.post("/api/v1/cycle/999999/compute").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    db.session.rollback()
    job_id = hr.post(f"/api/v1/cycle/{cycle_id}/compute").json["job_id"]
    assert api(jobctx, "sup1").get(f"/api/v1/job/{job_id}").status_code == 404
    progress = api(jobctx, "sup1").get(f"/api/v1/cycle/{cycle_id}/progress").json
    assert progress["job_id"] == job_id and progress["job"] is None
    assert api(jobctx, "admin").get(f"/api/v1/job/{job_id}").status_code == 200


def test_the_whatif_is_a_job_whose_result_is_the_answer_and_changes_nothing(jobctx):
    cycle = demo_cycle()
    name, version = cycle.name, cycle.rule_set_version_id
    before = totals(cycle.id)
    db.session.rollback()
    browser = jobctx.test_client()
    token = csrf_token(browser)
    browser.post("/login/", data={"username": "hr", "password": "demo123", "csrf_token": token})
    token = csrf_token(browser, "/rules/whatif")
    started = browser.post("/rules/whatif", data={"csrf_token": token, "version": version, "cycle": name})
    assert started.status_code == 302 and "job=" in started.headers["Location"]
    again = browser.post("/rules/whatif", data={"csrf_token": token, "version": version, "cycle": name})
    assert again.headers["Location"] == started.headers["Location"]  # the unfinished one, not a second
    waiting = browser.get(started.headers["Location"]).get_data(as_text=True)
    assert 'data-state="queued"' in waiting and "<svg" not in waiting
    drain(jobctx)
    db.session.expire_all()  # the screen's requests shared this session: what they loaded is stale now
    whatif_job = db.session.scalar(select(Job).where(Job.kind == WHATIF))
    assert whatif_job.state == JobState.DONE and whatif_job.subject_id == cycle.id
    assert whatif_job.result == service.whatif(db.session, version, name)
    assert totals(cycle.id) == before  # nothing changed
    db.session.rollback()
    page = browser.get(started.headers["Location"]).get_data(as_text=True)
    assert page.count("<svg") == 2 and "jx-whatif" in page and "EMP1" in page
    # a cycle that is not there is said so, and nothing starts
    missing = browser.post("/rules/whatif", data={"csrf_token": token, "version": version, "cycle": "没有"},
                           follow_redirects=True).get_data(as_text=True)
    assert "没有名为“没有”的考核周期" in missing
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == WHATIF)) == 1
