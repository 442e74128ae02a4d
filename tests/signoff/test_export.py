"""A cycle's PDFs as one zip: ``flask --app run pdf export NAME ZIPFILE`` (in the calling process) and
HR's zip from the cycle page or the API (a background job; no request renders the PDFs)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Appraisal, Job, JobKind, JobState, SignedPdf
from tests.factories import ApiClient, csrf_token, jwt_token
from tests.jobs.conftest import drain
from tests.signoff.conftest import demo_cycle


def cycle_facts(app) -> tuple[int, str, int]:
    with app.app_context():
        cycle = demo_cycle()
        count = db.session.scalar(select(func.count()).select_from(Appraisal)
                                  .where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))
        return cycle.id, cycle.name, count


def stored_pdf(app, appraisal_id: int) -> bytes:
    with app.app_context():
        return db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == appraisal_id))


def test_cli_exports_every_appraisal_on_several_processes(app, signed, tmp_path):
    _, name, count = cycle_facts(app)
    target = tmp_path / "cycle.zip"
    result = app.test_cli_runner().invoke(args=["pdf", "export", name, str(target), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert f"{count} PDFs" in result.output
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert len(names) == count and len(set(names)) == count
        assert all(n.endswith(".pdf") and "/" not in n for n in names)
        assert all(archive.read(n).startswith(b"%PDF-") for n in names)
        # the signed appraisal is its stored document, byte for byte
        assert archive.read("EMP1_张伟.pdf") == stored_pdf(app, signed)
    assert not list(tmp_path.glob("*.rendering*")) and not list(tmp_path.glob("*.part"))


def test_cli_refuses_an_unknown_cycle(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["pdf", "export", "no such cycle", str(tmp_path / "x.zip")])
    assert result.exit_code != 0 and "no such cycle" in result.output
    assert not (tmp_path / "x.zip").exists()


def export_jobs(app, cycle_id: int) -> list[Job]:
    with app.app_context():
        jobs = list(db.session.scalars(select(Job).order_by(Job.id).where(
            Job.kind == JobKind.EXPORT, Job.subject_id == cycle_id)))
        db.session.expunge_all()
        return jobs


@pytest.fixture
def by_hand(app):
    """Jobs wait until the test runs them (``drain``): what a request does is seen alone."""
    app.config.update(JIXIAO_JOB_RUNNER="none", JIXIAO_EXPORT_PART_SIZE=4)
    return app


def test_hr_makes_the_zip_on_the_cycle_page_and_downloads_it_when_ready(by_hand, login_as, signed):
    app = by_hand
    cycle_id, _, count = cycle_facts(app)
    browser = login_as("hr")
    page = browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f'action="/cycle-export/{cycle_id}"' in page and "jx-job" not in page
    response = browser.post(f"/cycle-export/{cycle_id}",
                            data={"csrf_token": csrf_token(browser, f"/cycles/{cycle_id}")})
    assert response.status_code == 302 and f"/cycles/{cycle_id}" in response.headers["Location"]
    [job] = export_jobs(app, cycle_id)
    assert job.state == JobState.QUEUED and job.progress_done is None  # nothing rendered in the request
    page = browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f'data-job-id="{job.id}"' in page and f"/api/v1/job/{job.id}/result" not in page
    # A second click (or the old link) joins the running export.
    browser.post(f"/cycle-export/{cycle_id}", data={"csrf_token": csrf_token(browser, f"/cycles/{cycle_id}")})
    assert browser.get(f"/cycle-export/{cycle_id}.zip").status_code == 302
    assert [j.id for j in export_jobs(app, cycle_id)] == [job.id]

    drain(app)
    [job] = export_jobs(app, cycle_id)
    assert job.state == JobState.DONE and job.progress_done == job.progress_total == count
    page = browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f"/api/v1/job/{job.id}/result" in page
    response = browser.get(f"/cycle-export/{cycle_id}.zip")  # the old link: the finished zip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/api/v1/job/{job.id}/result")
    response = browser.get(f"/api/v1/job/{job.id}/result")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == count == len(set(names))
        assert all(archive.read(n).startswith(b"%PDF-") for n in names)
        assert archive.read("EMP1_张伟.pdf") == stored_pdf(app, signed)


def test_hr_starts_the_zip_through_the_api(by_hand, client):
    app = by_hand
    cycle_id, _, _ = cycle_facts(app)
    api = ApiClient(client, jwt_token(client, "hr"))
    first = api.post(f"/api/v1/cycle/{cycle_id}/pdfs")
    assert first.status_code == 202 and set(first.json) == {"job_id"}
    assert api.post(f"/api/v1/cycle/{cycle_id}/pdfs").json == first.json  # joined while unfinished
    assert api.get(f"/api/v1/job/{first.json['job_id']}").json["state"] == "queued"
    assert api.post("/api/v1/cycle/999999/pdfs").status_code == 404


@pytest.mark.parametrize("username", ["manager1", "sup1", "emp1"])
def test_only_hr_makes_or_downloads_a_cycle_zip(by_hand, login_as, client, username):
    app = by_hand
    cycle_id, _, _ = cycle_facts(app)
    hr_job = ApiClient(client, jwt_token(client, "hr")).post(f"/api/v1/cycle/{cycle_id}/pdfs").json["job_id"]
    drain(app)
    browser = login_as(username)
    page = browser.get(f"/cycles/{cycle_id}").get_data(as_text=True)
    assert f"/cycle-export/{cycle_id}" not in page and "jx-pdf-export" not in page
    token = csrf_token(browser, "/appraisal/inbox/")
    for response in (browser.get(f"/cycle-export/{cycle_id}.zip"),
                     browser.post(f"/cycle-export/{cycle_id}", data={"csrf_token": token})):
        assert response.status_code in (302, 403) and response.mimetype != "application/zip"
        assert "/api/v1/job/" not in response.headers.get("Location", "")
    api = ApiClient(app.test_client(), jwt_token(app.test_client(), username))
    assert api.post(f"/api/v1/cycle/{cycle_id}/pdfs").status_code == 403
    assert api.get(f"/api/v1/job/{hr_job}/result").status_code == 404
    assert [j.id for j in export_jobs(app, cycle_id)] == [hr_job]


def test_unknown_cycle_is_404(login_as):
    browser = login_as("hr")
    assert browser.get("/cycle-export/999999.zip").status_code == 404
    token = csrf_token(browser, "/appraisal/inbox/")
    assert browser.post("/cycle-export/999999", data={"csrf_token": token}).status_code == 404
