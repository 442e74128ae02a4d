"""The indicator form as a new HR user meets it: real values under every formula, errors that lead with their
sentence, and the 常用公式 cookbook.

HR starts a draft and a new indicator. The preview's station S01 is chosen: under the value formula the
live check shows S01's lowest, median and highest first-time-fix rate as the appraisal shows them (88.5%,
not 0.8853 nor "N/A（无数据）"); choosing EMP4 shows hers. A score formula from the cookbook goes in with one
click (and fills the empty target), a misspelt name answers with the Chinese sentence first and
UNKNOWN_NAME as a small mark after it, and the saved indicator's formulas are the cookbook's. In English
the cookbook reads English, on a published version without insert buttons.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.factories import screenshot

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u3400-\u9fff]")


def _rates(app, station_code: str, employee_no: str):
    """S01's first-time-fix rates over the preview's default period, and EMP4's, straight from the metrics."""
    from app.extensions import db
    from app.metrics import compute_metrics
    from app.models import Employee, Station

    with app.app_context():
        try:
            station = db.session.scalar(select(Station).where(Station.code == station_code))
            employee = db.session.scalar(select(Employee).where(Employee.employee_no == employee_no))
            end = dt.date.today()
            metrics = compute_metrics(db.session, end - dt.timedelta(days=89), end, station_ids=[station.id])
            rates = [v["first_fix_rate"] for v in metrics.employees.values()]
            own = metrics.employees[employee.id]["first_fix_rate"]
            return f"{station.code} {station.name}", [r for r in rates if r is not None], own
        finally:
            db.session.remove()


def test_live_values_on_real_data_errors_sentence_first_and_the_cookbook(served, as_user):
    from app.pdf.numbers import measure

    station, rates, own = _rates(served.app, "S01", "EMP4")
    assert len(rates) >= 2 and own is not None
    page = as_user("hr")
    page.goto("/rules/")
    page.get_by_role("button", name="从当前版本新建草稿").click()
    vid = re.search(r"/rules/v/(\d+)/", page.url).group(1)
    page.goto(f"/rules/v/{vid}/indicator/new")
    page.fill("#code", "kpi_cookbook_fix")
    page.fill("#name", "一次修复率（示例）")
    page.fill("#unit", "%")
    expect(page.locator("#preview-subject")).to_have_value(re.compile(r"^station:"))
    expect(page.locator("#preview-subject option:checked")).to_have_text(station)

    # -- the cookbook: about a dozen worked examples, one click puts one in its field --------------------
    cookbook = page.locator("#cookbook")
    expect(cookbook.locator(".panel-heading")).to_contain_text("常用公式")
    assert cookbook.locator(".jx-recipe").count() >= 12
    recipe = cookbook.locator(".jx-recipe", has=page.locator(".jx-recipe-title", has_text="一次修复率"))
    expect(recipe.locator(".jx-recipe-explanation")).to_contain_text("达到目标得 90 分")
    recipe.get_by_role("button", name="填入得分公式").click()
    score = page.locator("textarea[name=score]")
    expect(score).to_have_value("PIECEWISE(value, 0.6, 0, target, 90, 1, 100)")
    expect(page.locator("textarea[name=target]")).to_have_value("0.9")  # it was empty

    # -- the live check shows the station's spread, rounded as the appraisal shows it ------------------
    value = page.locator("textarea[name=value]")
    value.click()
    value.press_sequentially("一次修复率", delay=10)
    feedback = page.locator(".jx-formula:has(textarea[name=value]) .jx-formula-feedback")
    spread = (f"最低 {measure(min(rates), '%')} · 中位 {measure(statistics.median(rates), '%')} · "
              f"最高 {measure(max(rates), '%')}")
    expect(feedback.locator(".jx-live")).to_have_text(f" · {station}：{spread}")
    expect(feedback).to_contain_text("✓ 正确")
    expect(feedback).not_to_contain_text("N/A")  # neither the value nor a data-less explanation
    target_live = page.locator(".jx-formula:has(textarea[name=target]) .jx-live")
    expect(target_live).to_contain_text("最低 90% · 中位 90% · 最高 90%")
    expect(page.locator(".jx-formula:has(textarea[name=score]) .jx-live")).to_contain_text("最高")
    expect(page.locator(".jx-preview-table td[data-out=value]")).to_have_count(3)
    screenshot(page, "cookbook-1-station-spread")

    # -- an employee: her own value, and the explanation as information, not as red code --------------
    page.select_option("#preview-subject", label="EMP4 孙丽")
    expect(feedback.locator(".jx-live")).to_have_text(f" · EMP4 孙丽：{measure(own, '%')}")
    explain = page.locator("[data-out=explain]")
    expect(explain).to_contain_text("一次修复率")
    assert explain.evaluate("e => e.tagName") == "P"
    assert explain.evaluate("e => getComputedStyle(e).color") != "rgb(199, 37, 78)"  # Bootstrap's <code> pink
    expect(page.locator(".jx-preview-error")).to_be_hidden()

    # -- an error leads with its sentence; the code is a small mark after it ----------------------------
    score.fill("PIECEWISE(valu, 0.6, 0, target, 90, 1, 100)")
    message = page.locator(".jx-formula:has(textarea[name=score]) .jx-err-message")
    expect(message).to_contain_text("未知的名称“valu”")
    assert message.inner_text().startswith("未知的名称")
    mark = message.locator(".jx-code")
    expect(mark).to_have_text("UNKNOWN_NAME")
    assert mark.evaluate("m => parseFloat(getComputedStyle(m).fontSize)") < message.evaluate(
        "m => parseFloat(getComputedStyle(m).fontSize)")
    screenshot(page, "cookbook-2-error-sentence-first")

    # -- another example replaces the score formula; saved, it is the cookbook's ----------------------
    rework = cookbook.locator(".jx-recipe", has=page.locator(".jx-recipe-title", has_text="返修扣分"))
    rework.get_by_role("button", name="填入得分公式").click()
    expect(score).to_have_value("CLAMP(100 - 500 * value, 0, 100)")
    expect(page.locator(".jx-formula:has(textarea[name=score]) .jx-ok")).to_be_visible()
    expect(page.locator("textarea[name=target]")).to_have_value("0.9")  # a filled target stays
    page.get_by_role("button", name="保存并运行测试用例").click()
    expect(page.locator(".alert-success")).to_contain_text("kpi_cookbook_fix")
    expect(page.locator("textarea[name=score]")).to_have_value("CLAMP(100 - 500 * value, 0, 100)")


def test_the_cookbook_reads_english_and_a_published_version_offers_no_insert(served, new_page):
    from tests.factories import login

    page = new_page(locale="en-US")
    login(page, "hr")
    page.goto("/lang/en")
    page.goto("/rules/v/1/indicator/1")
    cookbook = page.locator("#cookbook")
    expect(cookbook.locator(".panel-heading")).to_contain_text("Common formulas")
    titles = cookbook.locator(".jx-recipe-title").all_inner_texts()
    explanations = cookbook.locator(".jx-recipe-explanation").all_inner_texts()
    assert len(titles) >= 12 and "Rework penalty" in titles
    assert not [t for t in titles if CJK.search(t)]
    assert not [t for t in explanations if CJK.search(t.replace("新技术", ""))]  # the tag word is data
    formulas = cookbook.locator(".jx-recipe-formula").all_inner_texts()
    assert "AVG(attitude, repair_quality, speed_rating)" in formulas
    assert not [f for f in formulas if CJK.search(f.replace('"新技术"', ""))]
    expect(cookbook.locator("[data-recipe]")).to_have_count(0)
    live = page.locator(".jx-formula:has(textarea[name=value]) .jx-live")
    expect(live).to_contain_text(re.compile(r"lowest .+ · median .+ · highest "))
