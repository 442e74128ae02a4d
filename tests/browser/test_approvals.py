"""Journeys 4 and 5: the supervisor adjusts with a reason and approves one appraisal (routed to second
review by its total), bulk-approves another from the inbox; the station manager approves a second
review and returns another with a comment."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser


def state_of(app, employee_no: str) -> tuple[int, str, float | None]:
    from app.extensions import db

    with app.app_context():
        appraisal = appraisal_of(employee_no)
        found = (appraisal.id, appraisal.state.value, appraisal.adjustment)
        db.session.remove()
    return found


def act(page, action: str, comment: str = "") -> None:
    form = page.locator(f"form.jx-action:has(input[name=action][value={action}])")
    if comment:
        form.locator("textarea[name=comment]").fill(comment)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Traceback" not in page.inner_text("body")


def test_supervisor_adjusts_approves_and_bulk_approves_then_manager_reviews(served, as_user):
    app = served.app
    emp4, state, _ = state_of(app, "EMP4")          # the demo's weakest technician: below 60
    assert state == "pending_review"
    assert state_of(app, "EMP5")[1] == "pending_review"   # between 60 and 95
    assert state_of(app, "EMP3")[1] == "pending_second_review"

    sup1 = as_user("sup1")
    sup1.goto("/appraisal/inbox/")
    sup1.locator(f"a[href$='/appraisal/show/{emp4}']").first.click()
    sup1.wait_for_load_state()
    sup1.fill("#adjustment", "2")
    sup1.fill("#reason", "现场服务表现突出")
    sup1.locator("form.jx-review button[type=submit]").click()
    sup1.wait_for_load_state()
    assert state_of(app, "EMP4")[2] == 2
    act(sup1, "approve")
    assert state_of(app, "EMP4")[1] == "pending_second_review"
    screenshot(sup1, "4-supervisor-approved-to-second-review")

    sup1.goto("/appraisal/inbox/")
    emp5 = state_of(app, "EMP5")[0]
    sup1.check(f"input.jx-pick[value='{emp5}']")
    sup1.locator("#jx-bulk button.jx-bulk-approve").click()
    sup1.wait_for_load_state()
    sup1.locator("#jx-bulk-confirm button.jx-confirm").click()  # the confirmation names EMP5
    sup1.wait_for_load_state()
    assert state_of(app, "EMP5")[1] == "approved"
    screenshot(sup1, "4-supervisor-bulk-approved")

    manager = as_user("manager1")
    emp3 = state_of(app, "EMP3")[0]
    manager.goto("/appraisal/inbox/")
    manager.locator(f"a[href$='/appraisal/show/{emp3}']").first.click()
    manager.wait_for_load_state()
    act(manager, "approve")
    assert state_of(app, "EMP3")[1] == "approved"

    manager.goto(f"/appraisal/show/{emp4}")
    act(manager, "return", "扣分依据不足，请补充说明")
    assert state_of(app, "EMP4")[1] in ("pending_review", "draft")
    assert "扣分依据不足" in manager.inner_text("body")
    screenshot(manager, "5-manager-returned")
