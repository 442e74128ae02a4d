"""The to-do journey with a substitute: sup1 opens the home page's "待审核" card, lands on the filtered inbox
and approves one; sup2, standing in for sup1 in the demo, sees sup1's remaining item marked "代 李明" and
approves it, and the trail says so ("陈静（代 李明）"); the next person's bell counts the news and falls
once it is read. The Chinese texts are read from the catalogs the served app uses."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot
from tests.signoff.conftest import appraisal_of

pytestmark = pytest.mark.browser


def zh(app, text: str, **params) -> str:
    """``text`` as the Chinese pages show it (through the catalogs the served app reads)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh_CN"):
        return gettext(text, **params)


def state_of(app, employee_no: str) -> tuple[int, str]:
    from app.extensions import db

    with app.app_context():
        appraisal = appraisal_of(employee_no)
        found = (appraisal.id, appraisal.state.value)
        db.session.remove()
    return found


def act(page, action: str) -> None:
    page.locator(f"form.jx-action:has(input[name=action][value={action}]) button[type=submit]").click()
    page.wait_for_load_state()
    assert "Traceback" not in page.inner_text("body")


def unread(page) -> int:
    """The bell's count in the menu bar (0 when it shows none)."""
    page.goto("/")
    badge = page.locator(".jx-bell .jx-unread-badge")
    text = badge.inner_text().strip() if badge.count() else ""
    return int(text) if text.isdigit() else 0


def test_home_card_inbox_substitute_trail_and_bell(served, as_user):
    app = served.app
    emp4, _ = state_of(app, "EMP4")   # below 60 in the demo: a second review follows
    emp5, _ = state_of(app, "EMP5")   # between 60 and 95: approved at once
    assert state_of(app, "EMP4")[1] == state_of(app, "EMP5")[1] == "pending_review"

    manager = as_user("manager1")
    before = unread(manager)

    sup1 = as_user("sup1")
    sup1.goto("/")
    card = sup1.locator(".jx-todo a.jx-todo-review")
    assert zh(app, "To review") in card.inner_text()  # 待审核
    assert card.locator(".jx-count").inner_text().strip() == "2"
    card.click()
    sup1.wait_for_load_state()
    assert "state=pending_review" in sup1.url
    rows = sup1.locator("table tbody tr")
    assert rows.count() == 2 and "EMP4" in sup1.inner_text("body") and "EMP5" in sup1.inner_text("body")
    sup1.locator(f"a[href$='/appraisal/show/{emp5}']").first.click()
    sup1.wait_for_load_state()
    act(sup1, "approve")
    assert state_of(app, "EMP5")[1] == "approved"
    screenshot(sup1, "notify-1-supervisor-approved")

    sup2 = as_user("sup2")
    sup2.goto("/appraisal/inbox/")
    row = sup2.locator("table tbody tr", has=sup2.locator(f"a[href$='/appraisal/show/{emp4}']"))
    marked = zh(app, "for %(principal)s", principal="李明")  # 代 李明
    assert row.locator(".jx-acting-for").inner_text().strip() == marked
    row.locator(f"a[href$='/appraisal/show/{emp4}']").first.click()
    sup2.wait_for_load_state()
    act(sup2, "approve")
    assert state_of(app, "EMP4")[1] == "pending_second_review"
    assert zh(app, "%(who)s (for %(principal)s)", who="陈静", principal="李明") in sup2.inner_text("body")
    screenshot(sup2, "notify-2-substitute-approved")

    # The second review is the station manager's turn: one more unread, and one less once opened.
    after = unread(manager)
    assert after == before + 1
    manager.goto("/notifications/")
    newest = manager.locator("tr.jx-notification.jx-unread").first  # newest first: the second review
    newest.locator("button[type=submit]").click()
    manager.wait_for_load_state()
    assert re.search(rf"/appraisal/show/{emp4}$", manager.url)
    assert unread(manager) == after - 1
    screenshot(manager, "notify-3-bell-read")
