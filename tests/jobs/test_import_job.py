"""Large imports as background jobs: above JIXIAO_IMPORT_BACKGROUND_MB the API answers 202 with a job and
the screen follows it; the job imports the saved upload whole or not at all, reports a refused file's
problems (with a CSV report), removes the upload when it ends, and runs again after its worker vanished.
Employees stay in the request whatever their size. One test runs a real `flask --app run worker`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.importing import import_file
from app.jobs import storage, ticker
from app.jobs.embedded import claim_message, unclaim
from app.jobs.imports import error_report
from app.jobs.runtime import claim_job
from app.models import Employee, Job, JobKind, JobState, Station, WorkOrder
from tests.conftest import BACKEND, csrf_token
from tests.factories import make_app
from tests.jobs.conftest import FAST, drain
from tests.jobs.test_runner import start_worker, stop_worker, wait_acknowledged

HEAD = "order_no,station_code,technician_no,customer_type,reported_at,completed_at\n"
ROWS = ("BG1,S01,EMP1,consumer,2024-05-01 10:00,2024-05-01 12:00\n"
        "BG2,S01,EMP1,consumer,2024-05-02 10:00,2024-05-02 12:00\n"
        "BG3,S01,EMP2,enterprise,2024-05-03 10:00,2024-05-03 12:00\n")
BAD = ROWS + ("BG4,S09,EMP1,consumer,2024-05-04 10:00,2024-05-04 12:00\n"
              "BG5,S01,EMP1,consumer,2024-05-05 10:00,=HYPERLINK(\"x\")\n")


@pytest.fixture
def app(database_url, tmp_path):
    """The demo app with a tiny background threshold (any test file goes through a job) and nobody
    running jobs but the test (``drain``)."""
    application = make_app(database_url, JIXIAO_JOB_DIR=str(tmp_path / "jobs"),
                           JIXIAO_IMPORT_BACKGROUND_MB=0.0001, **FAST)
    yield application
    assert application.extensions["jixiao_jobs"].stop(timeout=30)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def upload(api, kind: str, text: str, query: str = "", name: str = "orders.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8")), name)}
    return api.post(f"/api/v1/import/{kind}{query}", data=data, content_type="multipart/form-data")


def orders(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WorkOrder))


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def uploads(app) -> list[str]:
    folder = storage_dir(app) / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def storage_dir(app):
    with app.app_context():
        return storage.job_dir()


def run_jobs(app) -> None:
    drain(app)


def test_a_large_file_is_imported_by_a_job_with_the_counts_of_an_in_request_import(app, api_as):
    api = api_as("hr")
    before = orders(app)
    r = upload(api, "work-orders", HEAD + ROWS)
    assert r.status_code == 202, r.get_data(as_text=True)
    job_id = r.json["job_id"]
    assert set(r.json) == {"job_id"}
    # Saved under the jobs folder with its own extension; nothing imported yet.
    saved = uploads(app)
    assert len(saved) == 1 and saved[0].endswith(".csv") and "orders" not in saved[0]
    job = job_row(app, job_id)
    assert (job.kind, job.state, job.params["kind"], job.params["name"]) == (
        JobKind.IMPORT, JobState.QUEUED, "work-orders", "orders.csv")
    assert orders(app) == before

    run_jobs(app)
    body = api.get(f"/api/v1/job/{job_id}").json
    assert body["state"] == "done", body
    assert body["result"] == {"kind": "work-orders", "inserted": 3, "updated": 0}
    assert body["message"] == "已导入 orders.csv：新增 3 条，更新 0 条。"
    assert body["progress"]["percent"] == 100 and body["result_url"] is None
    assert orders(app) == before + 3
    assert uploads(app) == []  # the upload has served

    # The same file again, replacing: in the request and through a job, the same counts.
    app.config["JIXIAO_IMPORT_BACKGROUND_MB"] = 10
    in_request = upload(api, "work-orders", HEAD + ROWS, "?update=1")
    assert in_request.status_code == 200 and in_request.json == {"inserted": 0, "updated": 3}
    app.config["JIXIAO_IMPORT_BACKGROUND_MB"] = 0.0001
    r = upload(api, "work-orders", HEAD + ROWS, "?update=1")
    assert r.status_code == 202
    run_jobs(app)
    body = api.get(f"/api/v1/job/{r.json['job_id']}").json
    assert body["state"] == "done" and body["result"]["inserted"] == 0 and body["result"]["updated"] == 3
    assert orders(app) == before + 3


def test_a_small_file_stays_in_the_request(app, api_as):
    app.config["JIXIAO_IMPORT_BACKGROUND_MB"] = 1
    r = upload(api_as("hr"), "work-orders", HEAD + ROWS)
    assert r.status_code == 200 and r.json == {"inserted": 3, "updated": 0}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == JobKind.IMPORT)) == 0


def test_a_refused_file_fails_the_job_with_its_problems_and_a_csv_report(app, api_as):
    api = api_as("hr")
    before = orders(app)
    r = upload(api, "work-orders", HEAD + BAD, "?_l_=en", name="五月.csv")
    assert r.status_code == 202
    job_id = r.json["job_id"]
    run_jobs(app)

    body = api.get(f"/api/v1/job/{job_id}").json
    assert body["state"] == "failed", body
    expected = [
        {"row": 5, "column": "station_code", "message": "Unknown station “S09”."},
        {"row": 6, "column": "completed_at", "message": body["result"]["errors"][1]["message"]},
    ]
    assert body["result"]["errors"] == expected and body["result"]["error_count"] == 2
    assert body["result"]["kind"] == "work-orders"
    assert body["message"] == "五月.csv 未被接受：有 2 个问题，没有导入任何数据。"
    assert orders(app) == before  # nothing imported
    assert uploads(app) == []

    # The report: UTF-8 with a BOM (Excel reads the Chinese), one line per problem, in the uploader's
    # language; a cell a spreadsheet would run stays text.
    job = job_row(app, job_id)
    assert job.result_name == "五月-problems.csv"
    assert job.message_en.startswith("五月.csv was refused: 2 problems")
    with app.app_context():
        stored = storage.absolute(job.result_path).read_bytes()
    assert stored.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(stored.decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Column", "Problem"]
    assert lines[1] == ["5", "station_code", "Unknown station “S09”."]
    assert lines[2][:2] == ["6", "completed_at"] and len(lines) == 3
    download = api.get(body["result_url"])
    assert download.status_code == 200 and download.data == stored
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]


def test_the_report_keeps_formula_looking_cells_as_text(app):
    with app.app_context():
        content = error_report([{"row": 1, "column": "=cmd|' /C calc'!A0", "message": "+x"},
                                {"row": None, "column": None, "message": "… 3 more"}])
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[1] == ["1", "'=cmd|' /C calc'!A0", "'+x"]
    assert lines[2] == ["", "", "… 3 more"]


def test_a_job_whose_worker_vanished_runs_again_and_imports_once(app, api_as):
    api = api_as("hr")
    before = orders(app)
    job_id = upload(api, "work-orders", HEAD + ROWS).json["job_id"]
    with app.app_context():
        # A worker takes the message, claims the job, imports the file and dies just before its commit.
        message = claim_message(db.engine, "dead-worker", 3600)
        run = claim_job(job_id, stage="read")
        assert message is not None and run is not None
        path = storage.absolute(run.params["upload"])
        with pytest.raises(SystemExit):
            import_file(db.session, "work-orders", path, before_commit=die)
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == before
        # Its heartbeat goes stale.
        db.session.execute(update(Job).where(Job.id == job_id).values(
            heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)))
        db.session.commit()
    run_jobs(app)  # no message to take: it is the dead worker's
    assert job_row(app, job_id).state == JobState.RUNNING and orders(app) == before
    assert api.get(f"/api/v1/job/{job_id}").json["state"] == "retrying"

    with app.app_context():
        assert ticker.reap_jobs(dt.datetime.now(dt.UTC)) == 1  # the reaper sends it again
    run_jobs(app)
    job = job_row(app, job_id)
    assert job.state == JobState.DONE and job.attempts == 2
    assert job.result == {"kind": "work-orders", "inserted": 3, "updated": 0}
    assert orders(app) == before + 3 and uploads(app) == []

    with app.app_context():
        unclaim(db.engine, message.id)  # the dead worker's message comes back after its timeout
    run_jobs(app)
    assert orders(app) == before + 3 and job_row(app, job_id).attempts == 2


def die(session, result) -> None:  # noqa: ARG001 - the before_commit hook's signature
    raise SystemExit("killed")


def test_a_job_whose_upload_is_gone_fails_and_says_so(app, api_as):
    api = api_as("hr")
    job_id = upload(api, "work-orders", HEAD + ROWS).json["job_id"]
    for name in uploads(app):
        (storage_dir(app) / "uploads" / name).unlink()
    run_jobs(app)
    body = api.get(f"/api/v1/job/{job_id}").json
    assert body["state"] == "failed" and body["message"] == "上传的文件已不在了，请重新上传。"
    assert body["result"] is None and body["result_url"] is None


def test_employees_stay_in_the_request_whatever_their_size(app, api_as):
    text = "employee_no,name,station_code,username\nNEW1,新人,S01,newbie1\n" + "".join(
        f"NEW{n},新人{n},S01,\n" for n in range(2, 40))
    assert len(text) > 0.0001 * 1024 * 1024
    r = upload(api_as("hr"), "employees", text, name="people.csv")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["inserted"] == 39 and [a["username"] for a in r.json["accounts"]] == ["newbie1"]
    assert uploads(app) == []


@pytest.mark.parametrize("username,status", [("admin", 202), ("manager1", 403), ("sup1", 403), ("emp1", 403)])
def test_only_who_may_import_starts_an_import_job(app, api_as, username, status):
    r = upload(api_as(username), "work-orders", HEAD + ROWS)
    assert r.status_code == status
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.kind == JobKind.IMPORT)).all()
    assert len(jobs) == (1 if status == 202 else 0)
    if status != 202:
        assert uploads(app) == []


def test_an_import_job_is_seen_by_its_owner_and_hr_only(app, api_as, login_as):
    job_id = upload(api_as("admin"), "work-orders", HEAD + ROWS).json["job_id"]
    assert api_as("hr").get(f"/api/v1/job/{job_id}").status_code == 200
    assert api_as("emp1").get(f"/api/v1/job/{job_id}").status_code == 404
    assert login_as("hr").get(f"/import/job/{job_id}/").status_code == 200
    assert login_as("manager1").get(f"/import/job/{job_id}/").status_code in (302, 403)


# -- the screen -------------------------------------------------------------------------------------------

def post_file(browser, text: str, name: str = "orders.csv", kind: str = "work-orders"):
    token = csrf_token(browser, "/import/")
    data = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(text.encode("utf-8")), name)}
    return browser.post("/import/", data=data, content_type="multipart/form-data")


def test_the_screen_says_big_files_go_to_the_background_and_follows_the_job(app, login_as):
    hr = login_as("hr")
    page = hr.get("/import/").get_data(as_text=True)
    assert "大于 0.0001 MB 的文件在后台导入" in page and 'href="/jobs/"' in page
    r = post_file(hr, HEAD + ROWS)
    assert r.status_code == 303
    job_id = int(re.search(r"/import/job/(\d+)/", r.headers["Location"]).group(1))
    page = hr.get(r.headers["Location"]).get_data(as_text=True)
    assert "后台导入 orders.csv" in page and f'data-job-id="{job_id}"' in page
    assert "jx-import-result" not in page

    run_jobs(app)
    page = hr.get(f"/import/job/{job_id}/").get_data(as_text=True)
    assert "已导入 orders.csv：新增 3 条，更新 0 条。" in page and "jx-import-result" in page


def test_the_screen_lists_a_refused_files_problems_and_links_the_report(app, login_as):
    hr = login_as("hr")
    r = post_file(hr, HEAD + BAD, name="bad.csv")
    job_id = int(re.search(r"/import/job/(\d+)/", r.headers["Location"]).group(1))
    run_jobs(app)
    page = hr.get(f"/import/job/{job_id}/").get_data(as_text=True)
    assert "jx-import-errors" in page and "S09" in page
    assert f'class="jx-import-report" href="/api/v1/job/{job_id}/result"' in page
    assert hr.get(f"/api/v1/job/{job_id}/result").data.startswith(b"\xef\xbb\xbf")


def test_the_screen_imports_employees_at_once(app, login_as):
    r = post_file(login_as("hr"), "employee_no,name,station_code,username\nNEW1,新人,S01,newbie1\n",
                  name="people.csv", kind="employees")
    assert r.status_code == 200 and "newbie1" in r.get_data(as_text=True)


# -- a real worker process --------------------------------------------------------------------------------

def big_orders_csv(app, rows: int) -> str:
    with app.app_context():
        stations = db.session.scalars(select(Station.code).order_by(Station.code)).all()
        people = db.session.scalars(select(Employee.employee_no).order_by(Employee.employee_no)).all()
    out = [HEAD]
    start = dt.datetime(2025, 1, 1, 8, 0)
    for n in range(rows):
        reported = start + dt.timedelta(minutes=7 * n)
        out.append(f"BIG{n:06d},{stations[n % len(stations)]},{people[n % len(people)]},consumer,"
                   f"{reported:%Y-%m-%d %H:%M},{reported + dt.timedelta(hours=2):%Y-%m-%d %H:%M}\n")
    return "".join(out)


def test_a_worker_process_imports_a_large_file_and_shows_its_progress(app, api_as, database_url, tmp_path):
    text = big_orders_csv(app, 20_000)
    before = orders(app)
    job_id = upload(api_as("hr"), "work-orders", text, name="big.csv").json["job_id"]
    log = tmp_path / "worker.log"
    worker = start_worker(app, database_url, log, JIXIAO_JOB_HEARTBEAT_SECONDS="0.1")
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while True:
            job = job_row(app, job_id)
            if job.state in (JobState.DONE, JobState.FAILED):
                break
            if job.progress_done:
                seen.add(job.progress_done)
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
            time.sleep(0.05)
        with app.app_context():
            wait_acknowledged()  # the task has returned: the upload is removed after the commit
    finally:
        stop_worker(worker, log)
    assert job.state == JobState.DONE, (job.message_en, log.read_text())
    assert job.result == {"kind": "work-orders", "inserted": 20_000, "updated": 0}
    assert orders(app) == before + 20_000 and uploads(app) == []
    assert job.progress_done == job.progress_total == len(text.encode())
    if BACKEND == "postgresql":
        # SQLite lets one writer at a time: the heartbeat's progress waits for the import's commit.
        assert any(done < len(text.encode()) for done in seen), f"no progress before the end: {seen}"
