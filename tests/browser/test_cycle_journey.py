"""Journeys 3 and 6b. HR creates a cycle on the screen, computes it and watches the progress, sees the
drafts and submits the whole cycle for review. Another employee (not emp1, whom the sign-off journey
signs) disputes an approved result with a comment, and HR resolves the dispute from the inbox."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser


def open_menu(page, category: str, entry: str) -> None:
    page.locator(".navbar .dropdown-toggle", has_text=category).first.click()
    page.locator(".navbar .dropdown-menu a", has_text=entry).first.click()
    page.wait_for_load_state()


def demo_period(app):
    """The demo cycle's period: the months the demo's work orders cover."""
    from app.extensions import db
    from tests.signoff.conftest import demo_cycle

    with app.app_context():
        cycle = demo_cycle()
        period = cycle.start, cycle.end
        db.session.remove()
    return period


def hold_compute_while_scoring(monkeypatch) -> threading.Event:
    """The compute stops once it reports its scoring stage, until the returned event is set: the
    progress display is seen mid-way however fast the demo's small data computes."""
    import app.services.compute as compute

    release, real = threading.Event(), compute.compute_cycle

    def paced(session, cycle, progress=None, **kwargs):
        def report(stage, done, total):
            if progress:
                progress(stage, done, total)
            if stage == "appraise" and done == 0:
                release.wait(15)
        return real(session, cycle, report, **kwargs)

    monkeypatch.setattr(compute, "compute_cycle", paced)
    return release


def test_hr_creates_computes_and_submits_a_cycle(served, as_user, monkeypatch):
    from app.extensions import db
    from app.models import Appraisal, AuditEvent, Cycle

    start, end = demo_period(served.app)
    name = f"第二轮考核 {start:%Y-%m}至{end:%Y-%m}"
    release = hold_compute_while_scoring(monkeypatch)
    page = as_user("hr")
    try:
        open_menu(page, "考核", "考核周期")
        assert "/cycles/" in page.url
        page.fill("#name", name)
        page.fill("#start", start.isoformat())
        page.fill("#end", end.isoformat())
        page.uncheck("input[name=compute]")
        page.get_by_role("button", name="创建").click()
        page.wait_for_load_state()
        expect(page.locator(".alert", has_text="已创建")).to_be_visible()
        expect(page.locator("h2")).to_contain_text(name)

        page.get_by_role("button", name="计算", exact=True).click()
        progress = page.locator("#jx-compute .jx-job")  # the compute's job, its bar kept current by jobs.js
        expect(progress).to_be_visible()
        expect(progress).to_have_attribute("data-state", "running")
        expect(progress.locator(".jx-job-stage")).to_have_text(progress.get_attribute("data-label-stage-score"))
        expect(progress.locator(".jx-job-count")).to_have_text("0 / 13")
        cycle_id = int(re.search(r"/cycles/(\d+)", page.url).group(1))
        running = page.request.get(f"{served.url}/api/v1/cycle/{cycle_id}/progress").json()
        assert running["running"] is True and running["stage"] == "score", running
        assert (running["done"], running["total"]) == (0, 13), running
    finally:
        release.set()

    expect(page).to_have_url(re.compile(r"/cycles/\d+\?computed=1$"))
    expect(page.locator("#jx-compute .jx-job[data-state=done]")).to_be_visible()
    expect(page.locator("#jx-compute .jx-job-message")).to_contain_text("计算完成")
    done = page.request.get(f"{served.url}/api/v1/cycle/{cycle_id}/progress").json()
    assert done["running"] is False and done["status"] == "computed" and done["error"] is None, done
    assert done["appraisals"] == {"draft": 13}, done

    # the drafts, through the state card
    page.locator("a.jx-card-link", has_text="草稿").click()
    page.wait_for_load_state()
    rows = page.locator("tr:has(a[href*='/appraisal/show/'])", has_text=name)
    expect(rows).to_have_count(13)
    assert all("草稿" in text for text in rows.all_inner_texts())

    page.go_back()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="全部提交审核（13 份草稿）").click()
    page.wait_for_load_state()
    expect(page.locator(".alert", has_text="13 份考核中 13 份已完成")).to_be_visible()
    assert asked == ["提交 13 份考核审核？每份考核将进入其审核人的待办。"], asked  # asked first: how many
    expect(page.locator("form.jx-submit-drafts")).to_have_count(0)
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "journey3-cycle-submitted")

    with served.app.app_context():
        cycle = db.session.scalar(select(Cycle).where(Cycle.name == name))
        states = db.session.scalars(select(Appraisal.state).where(
            Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True))).all()
        submits = db.session.scalars(
            select(AuditEvent.who).join(Appraisal, Appraisal.id == AuditEvent.appraisal_id)
            .where(Appraisal.cycle_id == cycle.id, AuditEvent.action == "submit")).all()
        db.session.remove()
    assert cycle.status.value == "computed" and cycle.start == start and cycle.end == end
    assert [s.value for s in states] == ["pending_review"] * 13
    assert len(submits) == 13 and set(submits) == {"人力资源"}, submits


def state_of(app, employee_no: str) -> tuple[int, str]:
    from app.extensions import db

    with app.app_context():
        appraisal = appraisal_of(employee_no)
        found = appraisal.id, appraisal.state.value
        db.session.remove()
    return found


def action_form(page, action: str):
    return page.locator(f"form.jx-action:has(input[name=action][value={action}])")


def test_employee_disputes_with_a_comment_and_hr_resolves(served, as_user):
    pk, state = state_of(served.app, "EMP6")
    assert state == "approved"

    emp6 = as_user("emp6")
    open_menu(emp6, "考核", "我的考核")
    emp6.locator(f"a.jx-card-link[href$='/appraisal/show/{pk}']").click()
    emp6.wait_for_load_state()
    dispute = action_form(emp6, "dispute")
    comment = dispute.locator("textarea[name=comment]")

    # No comment: the browser keeps the form; only blanks: the server refuses, in Chinese.
    dispute.locator("button[type=submit]").click()
    assert comment.evaluate("el => el.validity.valueMissing") is True
    comment.fill("   ")
    dispute.locator("button[type=submit]").click()
    emp6.wait_for_load_state()
    expect(emp6.locator(".alert-danger", has_text="“提出异议”需要填写意见。")).to_be_visible()
    assert state_of(served.app, "EMP6")[1] == "approved"

    action_form(emp6, "dispute").locator("textarea[name=comment]").fill(
        "SLA 统计漏了我 10 月的两张工单，请核实。")
    action_form(emp6, "dispute").locator("button[type=submit]").click()
    emp6.wait_for_load_state()
    expect(emp6.locator(".alert-success", has_text="有异议")).to_be_visible()
    assert state_of(served.app, "EMP6")[1] == "disputed"

    hr = as_user("hr")
    open_menu(hr, "考核", "待办")
    row = hr.locator("tr", has=hr.locator(f"a[href$='/appraisal/show/{pk}']"))
    expect(row).to_contain_text("有异议")
    row.locator("a").first.click()
    hr.wait_for_load_state()
    resolve = action_form(hr, "resolve")
    resolve.locator("textarea[name=comment]").fill("已核实工单数据，退回主管重新审核。")
    resolve.locator("button[type=submit]").click()
    hr.wait_for_load_state()
    expect(hr.locator(".alert-success", has_text="待审核")).to_be_visible()
    assert state_of(served.app, "EMP6")[1] == "pending_review"

    trail = hr.locator("table.jx-trail tbody tr")
    disputed = trail.filter(has_text="提出异议")
    resolved = trail.filter(has_text="重新审核")
    expect(disputed).to_contain_text("SLA 统计漏了我 10 月的两张工单")
    expect(disputed).to_contain_text("已批准")
    expect(resolved).to_contain_text("已核实工单数据，退回主管重新审核。")
    expect(resolved).to_contain_text("人力资源")
    expect(resolved).to_contain_text("待审核")
    screenshot(hr, "journey6-dispute-resolved")

    from app.extensions import db
    from app.models import AuditEvent

    with served.app.app_context():
        events = db.session.execute(select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state,
                                           AuditEvent.who, AuditEvent.comment)
                                    .where(AuditEvent.appraisal_id == pk).order_by(AuditEvent.id)).all()
        db.session.remove()
    assert [tuple(e[:3]) for e in events[-2:]] == [("dispute", "approved", "disputed"),
                                                   ("resolve", "disputed", "pending_review")]
    assert events[-1].who == "人力资源" and events[-2].comment.startswith("SLA 统计")
