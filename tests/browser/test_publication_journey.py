"""Journey: publication. A new cycle breaks the policy's A quota (at most 20 % network-wide); HR sees
the breach on the calibration screen, moves one person from A to B with a reason, publishes over the
breach that remains with an override reason and downloads the Excel. The employee sees nothing of the
cycle before publication and the calibrated result after it, with the shared comment of the trail and
none of its internal ones."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal
from app.services.calibration import calibrate, number_text
from app.services.compute import compute_cycle
from app.services.cycles import create_cycle
from tests.browser.conftest import screenshot
from tests.factories import Moves, appraisal_ids, caller, current, demo_period

pytestmark = pytest.mark.browser

NAME = "2026 年第四季度考核（公示）"
ADJUSTED = "季度工单量全站第一，酌情加分。"
SHARED = "表现突出，同意。"                       # sup1's approval: the employee reads it
INTERNAL = "加分偏高，公示前请人力资源部留意。"    # manager1's second review: internal by default
EARLIER = "区域大客户项目贡献突出。"               # HR's earlier calibration of EMP2
REASON = "A 级名额有限，与同站同级人员比较后调为 B。"
OVERRIDE = "S02 大客户项目已经总经理批准，A 级超额一人。"
RAISED_TO = 91  # EMP1's and EMP5's totals after their supervisor's adjustment: A, near its minimum
A_MINIMUM = 90
TEAMWORK = 100  # the teamwork score (团队协作, entered by hand) a supervisor may give


def breaking_cycle(app) -> tuple[int, dict[str, int], set[str]]:
    """A computed, unpublished cycle over the demo period with more A grades among its 13 people than
    the policy allows (two): those A as computed, EMP1 and EMP5 raised by their supervisor to just over
    A's minimum (by more than 5 points: approved through the second review), EMP2 approved and
    calibrated to A by HR. Its id, the current appraisals' ids and the employees A as computed."""
    with app.app_context():
        start, end = demo_period()
        cycle = create_cycle(db.session, NAME, start, end)
        compute_cycle(db.session, cycle)
        moves = Moves(app, cycle.id)
        computed = {no: current(cycle.id, no) for no in appraisal_ids(cycle.id)}
        natural = {no for no, a in computed.items() if a.grade == "A"}
        for no in ("EMP1", "EMP5"):
            moves.to_pending_review(no)
            manual = {}
            if computed[no].subtotal + 10 < RAISED_TO:
                # too far below for the largest adjustment: the supervisor first enters the teamwork
                # score they saw, then adjusts from that subtotal
                manual = {"kpi_teamwork": TEAMWORK}
                moves.review("sup1", no, manual=manual, adjustment=0, reason=ADJUSTED)
            subtotal = current(cycle.id, no).subtotal
            adjustment = min(10, max(6, round(RAISED_TO - subtotal)))  # over 5: the second review
            assert subtotal + adjustment >= A_MINIMUM, (no, computed[no].subtotal, subtotal)
            moves.review("sup1", no, manual=manual, adjustment=adjustment, reason=ADJUSTED)
            assert moves.do("sup1", no, "approve", SHARED) == "pending_second_review"
            assert moves.do("manager1", no, "approve", INTERNAL) == "approved"
        moves.to_approved("EMP2")
        calibrate(db.session, moves.id("EMP2"), caller(app, "hr"), total=92.5, reason=EARLIER)
        ids = appraisal_ids(cycle.id)
        cycle_id = cycle.id
        db.session.remove()
    return cycle_id, ids, natural


def current_grades(app, cycle_id: int) -> dict[str, tuple[int, str | None, float | None]]:
    """employee number → (id, grade, total) of the current appraisals."""
    with app.app_context():
        ids = appraisal_ids(cycle_id)
        rows = {pk: (grade, total) for pk, grade, total in db.session.execute(
            select(Appraisal.id, Appraisal.grade, Appraisal.total).where(Appraisal.id.in_(ids.values())))}
        found = {no: (pk, *rows[pk]) for no, pk in ids.items()}
        db.session.remove()
    return found


def network_a_cell(page):
    """The network row's cell of grade A on the calibration screen."""
    header = page.locator("table.jx-distribution thead th")
    column = [t.split()[0] if t.split() else "" for t in header.all_inner_texts()].index("A")
    return page.locator("table.jx-distribution tr.jx-network td").nth(column)


def comment_cell(page, text: str):
    return page.locator("table.jx-trail tbody td.jx-comment", has_text=text)


def test_hr_calibrates_publishes_over_the_quota_and_the_employee_sees_the_result(served, as_user):
    cycle_id, before, natural = breaking_cycle(served.app)
    grades = current_grades(served.app, cycle_id)
    a_grades = {no for no, (_, grade, _) in grades.items() if grade == "A"}
    assert a_grades == {"EMP1", "EMP2", "EMP5"} | natural, grades
    assert len(grades) == 13
    many = len(a_grades)
    total = grades["EMP1"][2]
    shown = f"{total:.2f}".replace(".00", "")  # as the appraisal page writes a total

    # 1. before publication the employee's approved appraisal does not exist for them
    emp1 = as_user("emp1")
    response = emp1.goto(f"/appraisal/show/{before['EMP1']}")
    assert response.status == 404
    emp1.goto("/appraisal/mine/")
    expect(emp1.locator("h2")).to_contain_text("我的考核")
    expect(emp1.locator("a.jx-card-link").first).to_be_visible()  # the demo's published cycles
    expect(emp1.locator("a.jx-card-link", has_text=NAME)).to_have_count(0)

    # 2. HR: the calibration screen, from the cycle page, shows the breach; EMP1 goes from A to B
    hr = as_user("hr")
    hr.goto(f"/cycles/{cycle_id}")
    expect(hr.locator(".jx-unpublished")).to_be_visible()
    hr.locator("a.jx-calibration-link").click()
    hr.wait_for_load_state()
    assert hr.url.endswith(f"/calibration/{cycle_id}")
    expect(hr.locator(".jx-breaches")).to_contain_text(
        f"全网：A 级 {many}/13 人（{many / 13:.1%}），上限 20%（最多 2 人）")
    cell = network_a_cell(hr)
    expect(cell).to_have_class(re.compile(r"\bjx-breach\b"))
    expect(cell.locator(".jx-count")).to_have_text(str(many))

    link = hr.locator(f"a[href$='/appraisal/show/{before['EMP1']}']")
    row = hr.locator("table.jx-boundary tbody tr", has=link)
    expect(row).to_contain_text(number_text(total))
    form = row.locator("form.jx-calibrate")
    form.locator("select[name=grade]").select_option("B")
    form.locator("input[name=reason]").fill(REASON)
    form.locator("button[type=submit]").click()
    hr.wait_for_load_state()
    change = hr.locator("table.jx-change")
    expect(change.locator("tr", has_text="等级").locator("td.jx-new")).to_contain_text("B")
    expect(change.locator("td.jx-comment")).to_have_text(REASON)
    assert current_grades(served.app, cycle_id)["EMP1"][1] == "A"  # the preview writes nothing
    hr.get_by_role("button", name="确认校准").click()
    hr.wait_for_load_state()
    expect(hr.locator(".alert-success", has_text="已校准 张伟：等级 B")).to_be_visible()
    expect(network_a_cell(hr).locator(".jx-count")).to_have_text(str(many - 1))
    left = many - 1
    expect(hr.locator(".jx-breaches")).to_contain_text(f"全网：A 级 {left}/13 人（{left / 13:.1%}）")
    screenshot(hr, "publication-calibrated")

    after = current_grades(served.app, cycle_id)
    calibrated = after["EMP1"][0]
    assert calibrated != before["EMP1"] and after["EMP1"][1:] == ("B", total), after["EMP1"]

    # HR reads the internal comments, marked as such: the reason on the new version's trail, the second
    # review's comment on the approved version it replaced
    hr.goto(f"/appraisal/show/{calibrated}")
    expect(comment_cell(hr, REASON).locator(".jx-internal")).to_have_count(1)
    hr.goto(f"/appraisal/show/{before['EMP1']}")
    expect(comment_cell(hr, INTERNAL).locator(".jx-internal")).to_have_count(1)
    expect(comment_cell(hr, SHARED).locator(".jx-internal")).to_have_count(0)

    # 3. HR publishes: the breach that remains is listed and asks for a reason
    hr.goto(f"/cycles/{cycle_id}")
    publish = hr.locator("form.jx-publish")
    expect(publish.locator(".jx-breaches")).to_contain_text(f"全网：A 级 {many - 1}/13 人")
    publish.locator("input[name=confirm]").check()
    publish.locator(".jx-publish-button").click()
    override = publish.locator("#override_reason")
    assert override.evaluate("el => el.validity.valueMissing") is True  # the browser keeps the form
    override.fill(OVERRIDE)
    asked = []
    hr.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    publish.locator(".jx-publish-button").click()
    hr.wait_for_load_state()
    expect(hr.locator(".alert-success", has_text="员工从现在起可以看到自己已批准的结果")).to_be_visible()
    expect(hr.locator(".jx-published")).to_be_visible()
    assert len(asked) == 1 and "公示后不能撤回" in asked[0], asked  # asked once the form was complete
    expect(hr.locator(".jx-override")).to_contain_text(OVERRIDE)
    expect(hr.locator(".jx-override")).to_contain_text(f"全网：A 级 {many - 1}/13 人")
    expect(hr.locator("form.jx-publish")).to_have_count(0)
    screenshot(hr, "publication-published")

    # 4. the cycle's Excel: one row per appraisal, EMP1's calibrated grade, the payroll sheet
    with hr.expect_download() as info:
        hr.locator("a.jx-export-xlsx").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as fh:  # the download's path has no extension
        data = fh.read()
    assert data.startswith(b"PK")
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        results = book.worksheets[0]
        assert results.title == "考核结果"
        header, *rows = [list(r) for r in results.iter_rows(values_only=True)]
        number, grade = header.index("工号"), header.index("等级")
        assert sorted(r[number] for r in rows) == sorted(after), rows
        by_no = {r[number]: r[grade] for r in rows}
        assert by_no["EMP1"] == "B" and by_no["EMP5"] == "A" and by_no["EMP2"] == "A", by_no
        assert "薪酬发放" in book.sheetnames
    finally:
        book.close()

    # 5. the employee: the calibrated result, the shared comment, no internal one
    emp1.goto("/appraisal/mine/")
    emp1.locator("a.jx-card-link", has_text=NAME).click()
    emp1.wait_for_load_state()
    assert emp1.url.endswith(f"/appraisal/show/{calibrated}")
    cards = emp1.locator(".jx-cards .jx-card")
    expect(cards.filter(has_text="总分").locator(".jx-big")).to_have_text(shown)
    expect(cards.filter(has_text="等级").locator(".jx-big")).to_contain_text("B")
    expect(emp1.locator("p.jx-calibration")).to_contain_text("A → B")
    # the step is in the trail, its reason is not
    expect(emp1.locator("table.jx-trail tbody tr", has_text="校准")).to_have_count(1)
    expect(emp1.locator(".jx-internal")).to_have_count(0)
    body = emp1.inner_text("body")
    assert REASON not in body and OVERRIDE not in body, body
    screenshot(emp1, "publication-employee-result")

    # the approved version it replaced: the supervisor's shared comment, not the second review's
    emp1.locator("a", has_text=re.compile(r"^v1$")).click()
    emp1.wait_for_load_state()
    assert emp1.url.endswith(f"/appraisal/show/{before['EMP1']}")
    expect(comment_cell(emp1, SHARED)).to_have_count(1)
    expect(emp1.locator("table.jx-trail tbody tr", has_text="待复核")).not_to_have_count(0)
    assert INTERNAL not in emp1.inner_text("body")
    expect(emp1.locator(".jx-internal")).to_have_count(0)
