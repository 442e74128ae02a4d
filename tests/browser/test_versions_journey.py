"""Journey: HR recomputes a cycle on a newly published rule set while part of it is approved. The summary
counts as changed only new totals or grades; the cycle, the list and the appraisal say which version each
appraisal is on and why; the dashboard averages the indicators per version and says whom a mean covers;
the drill-down from an indicator to the orders says for every order whether it counts and why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def two_versions_ahead(app, tmp_path) -> tuple[int, int, dict[str, int]]:
    """A computed cycle with EMP1–EMP3 approved, and v2 (a new S01 indicator) published since:
    (cycle id, S01's id, appraisal ids by employee number)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Station
    from app.services.compute import compute_cycle
    from app.services.cycles import create_cycle
    from tests.cycles.versions import publish_edited, with_s01_indicator
    from tests.factories import Moves, appraisal_ids, demo_period

    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, "版本周期", start, end)
        compute_cycle(db.session, cycle)
        moves = Moves(app, cycle.id)
        for no in ("EMP1", "EMP2", "EMP3"):
            moves.to_approved(no)
        assert publish_edited(tmp_path, with_s01_indicator) == "v2"
        s01 = db.session.scalar(select(Station.id).where(Station.code == "S01"))
        found = cycle.id, s01, appraisal_ids(cycle.id)
        db.session.remove()
    return found


def test_hr_recomputes_on_a_new_rule_set_and_sees_who_is_on_which(served, as_user, tmp_path):
    from tests.cycles.versions import S01_INDICATOR

    cycle_id, s01, ids = two_versions_ahead(served.app, tmp_path)
    page = as_user("hr")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/cycles/{cycle_id}")
    expect(page.locator("p.jx-versions")).to_contain_text("v1")  # one version so far

    # recompute on the rule set published now
    page.locator("input[name=rebind]").check()
    page.get_by_role("button", name="重新计算").click()
    versions = page.locator("div.jx-versions")
    expect(versions).to_be_visible(timeout=30000)  # the page reloads once the compute's job is done
    summary = page.locator(".jx-compute-summary")
    expect(summary).to_contain_text("已锁定、保留计算时规则集 3 份")
    changed = int(re.search(r"总分、等级或奖金有变化 (\d+) 份", summary.inner_text()).group(1))
    assert changed <= 1  # only EMP4 (S01, not approved) gains the indicator; the others move unchanged
    expect(versions.locator('li[data-version="v1"]')).to_contain_text("3 份考核")
    expect(versions.locator('li[data-version="v1"]')).to_contain_text("已锁定")
    expect(page.locator(".jx-versions-note")).to_be_visible()
    screenshot(page, "versions-cycle")

    # the cycle's list names each appraisal's rule set
    page.get_by_role("link", name="本周期的全部考核").click()
    expect(page.locator("th", has_text="规则集")).to_be_visible()
    row = page.locator("tr", has_text="EMP1 ")
    expect(row.locator("td", has_text=re.compile(r"^v1$"))).to_have_count(1)

    # the locked appraisal says why it stays on v1
    page.goto(f"/appraisal/show/{ids['EMP1']}")
    expect(page.locator(".jx-rule-version")).to_contain_text("保留计算时所用的规则集")

    # the dashboard: indicators per version, the new one covering 1 of S01's people
    page.goto(f"/dashboard/?cycle={cycle_id}&station={s01}")
    expect(page.locator(".jx-versions-split")).to_be_visible()
    new_row = page.locator(f'tr[data-code="{S01_INDICATOR}"]')
    expect(new_row).to_have_count(1)
    expect(new_row.locator(".jx-covers")).to_contain_text("中的 1 人")
    expect(page.locator('tr[data-code="kpi_first_fix"]')).to_have_count(2)
    screenshot(page, "versions-dashboard")

    # from an indicator to the orders: every order says whether it counts and why
    page.locator('tr[data-code="kpi_first_fix"][data-version="v2"] a').click()
    expect(page.locator('.jx-versions-split li[data-version="v2"]')).to_be_visible()
    page.locator("a.jx-drill").first.click()
    cells = page.locator("td.jx-counts")
    expect(cells.first).to_be_visible()
    texts = cells.all_inner_texts()
    assert texts and all(len(text.strip()) > 2 for text in texts), texts
    screenshot(page, "versions-drilldown")
