"""Irreversible actions ask first, and a refused form keeps what was typed. HR's "submit all drafts" names
how many and, dismissed, changes nothing; the employee's sign-off asks and, dismissed, leaves the result
unsigned; the supervisor's review refused for a missing reason still shows the typed score and adjustment.
The inbox offers its actions as buttons; the tab names the page; the language switch is plain text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from tests.browser.conftest import screenshot
from tests.factories import appraisal_of

pytestmark = pytest.mark.browser


def in_app(app, work):
    """``work()`` in an app context of its own (none stays pushed: the served requests have their own)."""
    from app.extensions import db

    with app.app_context():
        found = work()
        db.session.remove()
    return found


@pytest.fixture
def drafts(served):
    """A new cycle over the demo period, computed: (its id, how many drafts)."""
    from app.extensions import db
    from app.models import Appraisal, Substitute
    from app.services.compute import compute_cycle
    from app.services.cycles import create_cycle
    from tests.factories import demo_period

    def make():
        db.session.execute(delete(Substitute))
        start, end = demo_period()
        cycle = create_cycle(db.session, "确认周期", start, end)
        compute_cycle(db.session, cycle)
        count = db.session.scalar(select(func.count()).select_from(Appraisal).where(
            Appraisal.cycle_id == cycle.id, Appraisal.state == "draft"))
        return cycle.id, count

    return in_app(served.app, make)


def draft_count(app, cycle_id: int) -> int:
    from app.extensions import db
    from app.models import Appraisal

    return in_app(app, lambda: db.session.scalar(select(func.count()).select_from(Appraisal).where(
        Appraisal.cycle_id == cycle_id, Appraisal.state == "draft")))


def state_of(app, employee_no: str) -> str:
    return in_app(app, lambda: appraisal_of(employee_no).state.value)


def test_submitting_all_drafts_asks_with_the_count_and_dismissed_changes_nothing(served, as_user, drafts):
    cycle_id, count = drafts
    assert count > 1
    hr = as_user("hr")
    hr.goto(f"/cycles/{cycle_id}")
    assert hr.title() == "考核周期 · 确认周期 — 绩效 Jixiao"
    asked = []
    hr.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    hr.locator("form.jx-submit-drafts button[type=submit]").click()
    expect(hr.locator("form.jx-submit-drafts")).to_be_visible()
    assert asked == [f"提交 {count} 份考核审核？每份考核将进入其审核人的待办。"], asked
    assert hr.url.endswith(f"/cycles/{cycle_id}") and draft_count(served.app, cycle_id) == count

    hr.once("dialog", lambda dialog: dialog.accept())
    hr.locator("form.jx-submit-drafts button[type=submit]").click()
    expect(hr.locator(".alert", has_text=f"{count} 份考核中 {count} 份已完成")).to_be_visible()
    assert draft_count(served.app, cycle_id) == 0
    screenshot(hr, "confirm-submit-all")


def test_signing_asks_first_and_dismissed_leaves_the_result_unsigned(served, as_user):
    assert state_of(served.app, "EMP1") == "approved"
    page = as_user("emp1")
    pk = in_app(served.app, lambda: appraisal_of("EMP1").id)
    page.goto(f"/appraisal/show/{pk}")
    assert page.title().startswith("考核 · 张伟 — ")
    sign = page.locator("form.jx-action:has(input[name=action][value=sign])")
    sign.locator("textarea[name=comment]").fill("<b>认可</b>")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    sign.locator("button[type=submit]").click()
    expect(sign).to_be_visible()
    assert len(asked) == 1 and "签字确认" in asked[0] and "不能再提出异议" in asked[0], asked
    assert "<b>" not in asked[0]  # the attribute's text, as text
    assert state_of(served.app, "EMP1") == "approved"
    expect(sign.locator("textarea[name=comment]")).to_have_value("<b>认可</b>")  # nothing lost either


def test_a_review_refused_for_a_missing_reason_keeps_the_typed_values(served, as_user):
    from app.extensions import db

    def pending():
        a = appraisal_of("EMP4")
        assert a.state.value == "pending_review"
        manual = [line["code"] for line in a.snapshot["lines"] if line["manual"]]
        db.session.remove()
        return a.id, manual[0]

    pk, code = in_app(served.app, pending)
    page = as_user("sup1")
    page.goto("/appraisal/inbox/")
    row = page.locator(f"tr.jx-item[data-id='{pk}']")
    approve = row.locator("button.jx-act-approve")
    expect(approve).to_be_visible()  # a button, not a label
    screenshot(page, "inbox-action-buttons")
    expect(row.locator("a.jx-act-return")).to_have_attribute("href", f"/appraisal/show/{pk}#jx-act-return")
    row.locator("a.jx-act-return").click()
    page.wait_for_load_state()
    page.fill(f"#manual-{code}", "85")
    page.fill("#adjustment", "3")
    page.locator("form.jx-review button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-danger", has_text="调整分需要填写原因")).to_be_visible()
    expect(page.locator(f"#manual-{code}")).to_have_value("85")
    expect(page.locator("#adjustment")).to_have_value("3")
    screenshot(page, "review-refused-kept")
    page.fill("#reason", "现场检查")
    page.locator("form.jx-review button[type=submit]").click()
    expect(page.locator(".alert-success", has_text="已保存")).to_be_visible()
    assert in_app(served.app, lambda: appraisal_of("EMP4").adjustment) == 3


def test_the_language_switch_is_plain_text(served, as_user):
    page = as_user("emp1")
    page.goto("/")
    switch = page.locator(".jx-language")
    expect(switch).to_have_text("中文 / English")
    expect(switch.locator("strong")).to_have_text("中文")  # the page's language, not a flag
    expect(switch.locator(".flag")).to_have_count(0)
    switch.locator("a", has_text="English").click()
    page.wait_for_load_state()
    expect(page.locator(".jx-language strong")).to_have_text("English")
    expect(page.locator(".jx-language a")).to_have_text("中文")
