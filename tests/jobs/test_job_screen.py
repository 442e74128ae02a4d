"""The "My jobs" screen: one's own jobs (HR everybody's, with who started them), bars for the unfinished
ones, downloads while kept, labels in Chinese and English; and the progress macro others include."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import render_template_string

from app.extensions import db
from app.jobs import job_dict, storage
from app.models import Job, JobKind, JobState
from tests.browser import conftest as browser_fixtures
from tests.factories import screenshot
from tests.jobs import test_job_api
from tests.jobs.test_job_api import done_export, make_job

app = test_job_api.app  # the same fixture: its own jobs folder, nobody running jobs
browser, served, new_page, as_user = (browser_fixtures.browser, browser_fixtures.served,
                                      browser_fixtures.new_page, browser_fixtures.as_user)


def rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-job-row="(\d+)"', html)]


def test_the_screen_lists_ones_own_jobs_newest_first(app, login_as):
    first = make_job(app, "emp1", state=JobState.FAILED, message_zh="计算失败（公式错误）。",
                     message_en="The compute failed (a formula error).")
    second = make_job(app, "emp1", state=JobState.RUNNING, stage="score", progress_done=3, progress_total=10,
                      claim="t", heartbeat_at=dt.datetime.now(dt.UTC))
    make_job(app, "emp2")
    page = login_as("emp1").get("/jobs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert rows(html) == [second, first]
    assert "我的任务" in html and "计算考核" in html and "计算失败（公式错误）。" in html
    # the unfinished one has a bar its script polls; the finished one only its state
    assert html.count('class="jx-job"') == 1 and f'data-job-url="/api/v1/job/{second}"' in html
    assert "运行中" in html and "计分" in html and "3 / 10" in html and "width: 30%" in html
    assert "发起人" not in html  # nobody else's jobs, so no column saying whose


def test_hr_sees_every_job_and_who_started_it(app, login_as):
    mine = make_job(app, "emp1")
    system = make_job(app, None, kind=JobKind.CLEANUP, state=JobState.DONE)
    html = login_as("hr").get("/jobs/").get_data(as_text=True)
    assert rows(html)[:2] == [system, mine]
    assert "发起人" in html and "系统" in html and "清理" in html
    with app.app_context():
        from app.extensions import db
        from app.models import Employee
        name = db.session.query(Employee.name).filter(Employee.employee_no == "EMP1").scalar()
    assert name in html


def test_a_kept_result_has_its_download_and_an_expired_one_says_so(app, login_as):
    kept = done_export(app)
    gone = done_export(app, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    html = login_as("hr").get("/jobs/").get_data(as_text=True)
    assert f'href="/api/v1/job/{kept}/result"' in html and "保留至" in html
    assert f'href="/api/v1/job/{gone}/result"' not in html and "已于" in html
    assert "导出 PDF" in html and "已生成 3 份 PDF。" in html


def test_an_import_names_its_data_and_file(app, login_as):
    make_job(app, "hr", kind=JobKind.IMPORT, subject_id=None,
             params={"kind": "surveys", "name": "<b>回访</b>.csv", "upload": "uploads/x.csv"})
    html = login_as("hr").get("/jobs/").get_data(as_text=True)
    assert "导入" in html and "回访 · &lt;b&gt;回访&lt;/b&gt;.csv" in html


def test_the_screen_speaks_english(app, login_as):
    make_job(app, "emp1", state=JobState.QUEUED, message_zh="排队等待。", message_en="Waiting in the queue.")
    browser = login_as("emp1")
    browser.get("/lang/en")
    html = browser.get("/jobs/").get_data(as_text=True)
    assert "My jobs" in html and "Cycle compute" in html and "Queued" in html
    assert "Waiting in the queue." in html and "排队" not in html


def test_nobody_elses_jobs_and_an_empty_screen_says_so(app, login_as):
    make_job(app, "emp1")
    html = login_as("emp2").get("/jobs/").get_data(as_text=True)
    assert rows(html) == [] and "jx-jobs-empty" in html


def test_the_screen_pages_by_fifty(app, login_as):
    ids = [make_job(app, "emp1", state=JobState.DONE) for _ in range(51)]
    browser = login_as("emp1")
    assert rows(browser.get("/jobs/").get_data(as_text=True)) == ids[::-1][:50]
    assert rows(browser.get("/jobs/?page=1").get_data(as_text=True)) == [ids[0]]
    assert rows(browser.get("/jobs/?page=oops").get_data(as_text=True)) == ids[::-1][:50]


def test_everyone_has_the_menu_entry(app, login_as):
    for user in ("emp1", "sup1", "manager1", "hr", "admin"):
        assert 'href="/jobs/"' in login_as(user).get("/").get_data(as_text=True), user


MACRO = ("{% from 'jobs/_progress.html' import job_progress %}"
         "{{ job_progress(job, reload=reload, done_url=done_url) }}")


def render(app, job: Job, **options) -> str:
    with app.test_request_context("/cycle/show/1"):
        return render_template_string(MACRO, job=job_dict(job, "zh_CN"), reload=options.get("reload", False),
                                      done_url=options.get("done_url"))


def test_the_macro_renders_each_state_for_the_script_and_without_it(app):
    with app.app_context():
        queued = render(app, Job(id=7, kind="export", state=JobState.QUEUED, message_zh="<b>排队</b>"),
                        reload=True)
        assert 'data-state="queued"' in queued and 'data-reload="true"' in queued and "width: 0%" in queued
        assert "&lt;b&gt;排队&lt;/b&gt;" in queued  # a sentence is text, never markup
        assert 'class="jx-job-refresh" href="/cycle/show/1"' in queued  # without scripts: look again
        assert 'data-label-stage-render="生成 PDF"' in queued and 'data-label-state-done="已完成"' in queued
        done = render(app, Job(id=8, kind="export", state=JobState.DONE, stage="assemble", progress_done=4,
                               progress_total=4, result_path="results/job-8.zip"), done_url="/jobs/")
        assert "progress-bar-success" in done and "width: 100%" in done and 'data-done-url="/jobs/"' in done
        assert 'href="/api/v1/job/8/result"' in done and "jx-job-refresh" not in done
        failed = render(app, Job(id=9, kind="compute", state=JobState.FAILED, message_en="It broke."))
        assert "progress-bar-danger" in failed and "失败" in failed and "It broke." in failed


def test_every_page_loads_the_jobs_script(app, login_as):
    assert "js/jobs.js" in login_as("emp1").get("/jobs/").get_data(as_text=True)


def _update(app, job_id: int, **values) -> None:
    with app.app_context():
        job = db.session.get(Job, job_id)
        for name, value in values.items():
            setattr(job, name, value)
        job.heartbeat_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        db.session.remove()


@pytest.mark.browser
def test_the_bar_follows_the_job_and_the_page_shows_it_done(served, as_user):
    """In Chromium: the bar moves as the job row does, and once the job is done the screen shows its
    download (the bar asked for a reload)."""
    from playwright.sync_api import expect  # late: only the browser tests need Playwright
    job_id = make_job(served.app, "emp1", state=JobState.RUNNING, stage="score", progress_done=1,
                      progress_total=4, claim="t", heartbeat_at=dt.datetime.now(dt.UTC),
                      message_zh="正在计分。", message_en="Scoring.")
    page = as_user("emp1")
    page.goto("/jobs/")
    box = page.locator(".jx-job")
    assert box.locator(".jx-job-state").inner_text() == "运行中"
    assert not page.locator(".jx-job-refresh").is_visible()  # the script keeps the bar current
    _update(served.app, job_id, progress_done=3)
    expect(box.locator(".jx-job-count")).to_have_text("3 / 4")
    assert "width: 75%" in box.locator(".progress-bar").get_attribute("style")
    screenshot(page, "jobs-running")
    with served.app.app_context():
        path = storage.result_path(job_id, ".zip")
        path.write_bytes(b"PK result")
        stored = storage.relative(path)
    at = dt.datetime.now(dt.UTC)
    with page.expect_navigation():
        _update(served.app, job_id, state=JobState.DONE, claim=None, progress_done=4,
                finished_at=at, expires_at=at + dt.timedelta(hours=2),
                result_path=stored, result_name="结果.zip", message_zh="计算完成。", message_en="Computed.")
    page.wait_for_selector(".jx-job-result-link")
    assert page.locator(".jx-job").count() == 0 and "计算完成。" in page.content()
    with page.expect_download() as download:
        page.click(".jx-job-result-link")
    assert download.value.suggested_filename == "结果.zip"
    screenshot(page, "jobs-done")
