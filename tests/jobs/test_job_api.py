"""GET /api/v1/job/<id>, the list and the result download: the shape, who sees which job, paging, and
a result only while it is kept and only from inside the job folder."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs import storage
from app.models import Cycle, Job, JobKind, JobState
from tests.factories import make_app

ZIP_NAME = "考核 2026-11.zip"


@pytest.fixture
def app(database_url, tmp_path):
    """The demo app with its own jobs folder and nobody running jobs (the rows are made by hand)."""
    application = make_app(database_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"), JIXIAO_JOB_RUNNER="none",
                           JIXIAO_JOB_TICK_SECONDS=0)
    yield application
    application.extensions["jixiao_jobs"].stop(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def make_job(app, owner: str | None, **values) -> int:
    """A job row of the demo user ``owner``, on the demo cycle unless told; ``content`` writes its result."""
    content = values.pop("content", None)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=owner) if owner else None
        cycle_id = db.session.scalar(select(Cycle.id).order_by(Cycle.id).limit(1))
        job = Job(kind=values.pop("kind", JobKind.COMPUTE), owner_id=user.id if user else None,
                  subject_id=values.pop("subject_id", cycle_id), params=values.pop("params", {}),
                  state=values.pop("state", JobState.QUEUED), **values)
        db.session.add(job)
        db.session.commit()
        if content is not None:
            path = storage.result_path(job.id, ".zip")
            path.write_bytes(content)
            job.result_path, job.result_name = storage.relative(path), ZIP_NAME
            job.expires_at = job.expires_at or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
            db.session.commit()
        job_id = job.id
        db.session.remove()
        return job_id


def done_export(app, owner: str = "hr", **values) -> int:
    now = dt.datetime.now(dt.UTC)
    return make_job(app, owner, kind=JobKind.EXPORT, state=JobState.DONE, stage="assemble", progress_done=3,
                    progress_total=3, started_at=now, finished_at=now, content=b"PK zip bytes",
                    message_zh="已生成 3 份 PDF。", message_en="3 PDFs made.", **values)


def test_a_job_reads_as_the_fixed_interface_says(app, api_as):
    job_id = make_job(app, "emp1", state=JobState.RUNNING, stage="score", progress_done=2, progress_total=8,
                      claim="token", heartbeat_at=dt.datetime.now(dt.UTC),
                      message_zh="正在计分。", message_en="Scoring.")
    r = api_as("emp1").get(f"/api/v1/job/{job_id}")
    assert r.status_code == 200
    body = r.json
    assert {"state", "progress", "message", "result_url"} <= set(body)
    assert body["state"] == "running" and body["id"] == job_id and body["kind"] == "compute"
    assert body["progress"] == {"done": 2, "total": 8, "stage": "score", "percent": 25}
    assert body["message"] == "正在计分。"  # a JWT caller reads the configured language
    assert body["result_url"] is None


def test_the_owner_and_hr_see_a_job_another_employee_gets_404(app, api_as):
    job_id = make_job(app, "emp1")
    assert api_as("emp1").get(f"/api/v1/job/{job_id}").status_code == 200
    assert api_as("hr").get(f"/api/v1/job/{job_id}").status_code == 200
    assert api_as("admin").get(f"/api/v1/job/{job_id}").status_code == 200
    for other in ("emp2", "sup1", "manager1"):
        r = api_as(other).get(f"/api/v1/job/{job_id}")
        assert r.status_code == 404 and r.json["message"], other
    assert api_as("emp1").get("/api/v1/job/999999").status_code == 404


def test_without_a_login_there_is_no_job(app, client):
    job_id = make_job(app, "emp1")
    assert client.get(f"/api/v1/job/{job_id}").status_code == 401


def test_a_404_speaks_the_callers_language(app, login_as):
    english = login_as("emp2")
    english.get("/lang/en")
    job_id = make_job(app, "emp1")
    assert english.get(f"/api/v1/job/{job_id}").json == {"message": "Not found."}
    assert login_as("emp2").get(f"/api/v1/job/{job_id}").json == {"message": "未找到。"}


def test_a_browser_reads_the_sentence_in_its_language(app, login_as):
    job_id = make_job(app, "emp1", message_zh="正在排队。", message_en="Waiting in the queue.")
    browser = login_as("emp1")
    assert browser.get(f"/api/v1/job/{job_id}").json["message"] == "正在排队。"
    browser.get("/lang/en")
    assert browser.get(f"/api/v1/job/{job_id}").json["message"] == "Waiting in the queue."


def test_a_running_job_whose_worker_vanished_reads_retrying(app, api_as):
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    job_id = make_job(app, "emp1", state=JobState.RUNNING, claim="gone", heartbeat_at=stale, started_at=stale)
    assert api_as("emp1").get(f"/api/v1/job/{job_id}").json["state"] == "retrying"


def test_the_list_is_the_callers_jobs_newest_first_a_page_at_a_time(app, api_as):
    mine = [make_job(app, "emp1") for _ in range(5)]
    theirs = make_job(app, "emp2")
    emp1 = api_as("emp1")
    r = emp1.get("/api/v1/job/?page_size=2")
    assert r.status_code == 200 and r.json["count"] == 5
    assert [j["id"] for j in r.json["result"]] == mine[::-1][:2]
    assert [j["id"] for j in emp1.get("/api/v1/job/?page=2&page_size=2").json["result"]] == [mine[0]]
    assert emp1.get("/api/v1/job/?page=3&page_size=2").json["result"] == []
    everything = api_as("hr").get("/api/v1/job/?page_size=100").json
    assert everything["count"] == 6 and everything["result"][0]["id"] == theirs
    assert api_as("emp3").get("/api/v1/job/").json == {"count": 0, "result": []}


@pytest.mark.parametrize("query", ["page=-1", "page=x", "page_size=0", "page_size=101", "page_size=1e3",
                                   "page=１"])
def test_bad_paging_is_a_400_that_says_why(app, api_as, query):
    r = api_as("emp1").get(f"/api/v1/job/?{query}")
    assert r.status_code == 400 and "page_size" in r.json["message"]


def test_a_kept_result_downloads_with_its_name(app, api_as):
    job_id = done_export(app)
    body = api_as("hr").get(f"/api/v1/job/{job_id}").json
    assert body["state"] == "done" and body["result_url"] == f"/api/v1/job/{job_id}/result"
    assert body["message"] == "已生成 3 份 PDF。" and body["progress"]["percent"] == 100
    r = api_as("hr").get(body["result_url"])
    assert r.status_code == 200 and r.data == b"PK zip bytes"
    assert r.headers["Content-Type"] == "application/zip"
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=\"job-{job_id}.zip\"; filename*=UTF-8''{quote(ZIP_NAME, safe='')}")


def test_only_who_sees_the_job_downloads_its_result(app, api_as):
    job_id = done_export(app, owner="manager1")
    assert api_as("manager1").get(f"/api/v1/job/{job_id}/result").status_code == 200
    assert api_as("hr").get(f"/api/v1/job/{job_id}/result").status_code == 200
    assert api_as("emp1").get(f"/api/v1/job/{job_id}/result").status_code == 404


def test_an_expired_result_is_gone(app, api_as):
    job_id = done_export(app, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    hr = api_as("hr")
    assert hr.get(f"/api/v1/job/{job_id}").json["result_url"] is None
    r = hr.get(f"/api/v1/job/{job_id}/result")
    assert r.status_code == 404 and r.json["message"]


def test_a_job_without_a_result_or_whose_file_is_gone_answers_404(app, api_as):
    no_file = make_job(app, "hr", state=JobState.DONE)
    assert api_as("hr").get(f"/api/v1/job/{no_file}/result").status_code == 404
    removed = done_export(app)
    with app.app_context():
        storage.absolute(db.session.get(Job, removed).result_path).unlink()
    assert api_as("hr").get(f"/api/v1/job/{removed}/result").status_code == 404


@pytest.mark.parametrize("stored", ["../../etc/passwd", "/etc/passwd", "results/../../outside.zip", ".", ""])
def test_a_stored_path_outside_the_job_folder_is_never_served(app, api_as, tmp_path, stored):
    (tmp_path / "outside.zip").write_bytes(b"secret")
    job_id = done_export(app)
    with app.app_context():
        db.session.get(Job, job_id).result_path = stored
        db.session.commit()
    r = api_as("hr").get(f"/api/v1/job/{job_id}/result")
    assert r.status_code == 404 and b"secret" not in r.data and b"root:" not in r.data


def test_the_openapi_document_describes_the_job_api(app, api_as):
    paths = api_as("hr").get("/api/v1/_openapi").json["paths"]
    assert {"/job/{pk}", "/job/", "/job/{pk}/result"} <= {p.removeprefix("/api/v1") for p in paths}
