"""Journey 1: HR, in Chinese, creates a SWOT indicator for station S01 in the rules editor.

From the menu (规则 → 规则集) HR starts a draft, opens S01's SWOT screen and creates a new SWOT
indicator from there. The value formula is typed with a misspelt variable; the live check marks the
misspelt name at its character with the Chinese message and a one-click replacement, before anything
is sent. HR fixes it, previews the indicator on a real demo employee (the explanation shows her real
first-time-fix rate), adds a test case (a wrong expectation is refused with a Chinese reason; a
failing test case also blocks publishing), picks the indicator in a new SWOT item with a weight,
reviews the diff and publishes. The new version is current and holds the indicator and the item,
on the page and in the database.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.factories import screenshot

pytestmark = pytest.mark.browser

CODE = "swot_first_fix"
NAME = "一次修复率提升"
TYPO = "100 * 一次修复律"
FIXED = "100 * 一次修复率"
TITLE = "一次修复率偏低"


def _db(app, fn):
    from app.extensions import db

    with app.app_context():
        try:
            return fn(db.session)
        finally:
            db.session.remove()


def _indicator_rows(session, code):
    from app.models import RuleIndicator

    return list(session.scalars(select(RuleIndicator).where(RuleIndicator.code == code)))


def _first_fix_rate(session, employee_no: str) -> float:
    """The employee's first-time-fix rate over the preview's default period, straight from the metrics."""
    from app.models import Employee
    from app.services.rules import employee_variables

    employee = session.scalar(select(Employee).where(Employee.employee_no == employee_no))
    end = dt.date.today()
    variables, _ = employee_variables(session, employee, end - dt.timedelta(days=89), end)
    return variables["first_fix_rate"]


def test_hr_creates_checks_previews_tests_and_publishes_a_swot_indicator_for_s01(served, as_user):
    page = as_user("hr")

    # -- the menu, a draft, S01's SWOT screen -------------------------------------------------
    page.goto("/")
    page.locator(".navbar a.dropdown-toggle", has_text="规则").click()
    page.locator(".navbar a[href='/rules/']").click()
    expect(page.locator("h2")).to_have_text("规则集")
    page.get_by_role("button", name="从当前版本新建草稿").click()
    expect(page.locator(".alert-success")).to_contain_text("已创建草稿 v2")
    draft_url = page.url
    # coming back later through the menu, the open draft is offered first
    page.locator(".navbar a.dropdown-toggle", has_text="规则").click()
    page.locator(".navbar a[href='/rules/']").click()
    page.locator(".jx-open-drafts").get_by_role("link", name="继续编辑 v2").click()
    assert page.url == draft_url
    page.get_by_role("link", name=re.compile(r"^S01 ")).click()
    expect(page.locator("h2")).to_contain_text("SWOT · S01")

    # -- a new SWOT indicator, opened from the SWOT screen ------------------------------------
    page.get_by_role("link", name="新建 SWOT 指标").click()
    expect(page.locator("#category")).to_have_value("SWOT自定义")
    expect(page.locator(".breadcrumb")).to_contain_text("SWOT S01")
    page.fill("#code", CODE)
    page.fill("#name", NAME)

    value = page.locator("textarea[name=value]")
    value.click()
    value.press_sequentially(TYPO, delay=15)
    feedback = page.locator(".jx-formula:has(textarea[name=value]) .jx-formula-feedback")
    mark = feedback.locator("mark.jx-err-at")
    expect(mark).to_have_text("一次修复律")
    # the marked span sits where the name starts: character 7 of "100 * 一次修复律"
    assert feedback.locator(".jx-err-text").get_attribute("data-position") == str(TYPO.index("一次修复律"))
    assert feedback.locator(".jx-err-text").inner_text() == TYPO
    assert mark.evaluate("m => m.previousSibling.textContent") == "100 * "
    assert mark.evaluate("m => getComputedStyle(m).textDecorationLine") == "underline"
    message = feedback.locator(".jx-err-message")
    expect(message).to_contain_text("未知的名称“一次修复律”")
    expect(message).to_contain_text("第 7 个字符")
    expect(feedback.locator(".jx-suggest")).to_contain_text("点击替换为")
    expect(page.locator(".jx-formula:has(textarea[name=value])")).to_have_class(re.compile("has-error"))
    swot_custom = "SWOT%E8%87%AA%E5%AE%9A%E4%B9%89"  # SWOT自定义, URL-encoded
    assert page.url.endswith(f"/indicator/new?category={swot_custom}&swot=S01&year=2026"), page.url
    assert _db(served.app, lambda s: _indicator_rows(s, CODE)) == [], "nothing is sent while typing"
    screenshot(page, "journey1-1-live-error")

    feedback.locator(".jx-suggest button", has_text="一次修复率").click()
    expect(value).to_have_value(FIXED)
    expect(feedback.locator(".jx-ok")).to_contain_text("正确")
    expect(mark).to_have_count(0)

    palette = page.locator("[data-palette]")
    expect(palette.get_by_role("button", name="一次修复率", exact=True)).to_be_visible()
    # 总分 (the total) is no name a value formula may use
    expect(palette.get_by_role("button", name="总分", exact=True)).to_have_count(0)

    page.fill("textarea[name=target]", "90")
    score = page.locator("textarea[name=score]")
    score.fill("MIN(100, value / target * 100)")
    expect(palette.get_by_role("button", name="实际值", exact=True)).to_be_visible()
    expect(page.locator(".jx-formula:has(textarea[name=score]) .jx-ok")).to_be_visible()

    # -- preview on a real employee -----------------------------------------------------------
    rate = _db(served.app, lambda s: _first_fix_rate(s, "EMP4"))
    assert rate is not None and 0 < rate < 1
    page.select_option("#preview-subject", label="EMP4 孙丽")
    page.get_by_role("button", name="预览", exact=True).click()
    explain = page.locator("[data-out=explain]")
    shown = f"{rate:.4f}".rstrip("0").rstrip(".")
    figure = f"{rate * 100:.4f}".rstrip("0").rstrip(".")
    expect(explain).to_contain_text(f"100 × 一次修复率 {shown} = {figure}")
    expect(explain).to_contain_text(f"= {round(min(100, rate * 100 / 90 * 100), 4):g}")
    # the value as the appraisal shows it: two decimals
    expect(page.locator("td[data-out=value]")).to_have_text(f"{rate * 100:.2f}".rstrip("0").rstrip("."))
    expect(page.locator(".jx-preview-error")).to_be_hidden()
    screenshot(page, "journey1-2-preview")

    # -- a test case: a wrong expectation is refused with a Chinese reason, then fixed ----------
    page.fill("input[name=test_inputs]", "一次修复率=0.9")
    page.fill("input[name=test_value]", "90")
    page.fill("input[name=test_score]", "90")
    page.get_by_role("button", name="保存并运行测试用例").click()
    expect(page.locator(".alert-danger")).to_contain_text("未保存")
    expect(page.locator(".jx-test-error")).to_contain_text("期望得分 90，实际为 100")
    assert _db(served.app, lambda s: _indicator_rows(s, CODE)) == []
    expect(page.locator("textarea[name=value]")).to_have_value(FIXED)
    page.locator("input[name=test_score]").first.fill("100")
    page.get_by_role("button", name="保存并运行测试用例").click()

    # -- back on the SWOT screen: pick it in a new W item with a weight ------------------------
    expect(page.locator(".alert-success")).to_contain_text(f"指标 {CODE} 已保存，测试用例全部通过")
    expect(page.locator("h2")).to_contain_text("SWOT · S01")
    expect(page.locator(".jx-swot-indicators")).to_contain_text(NAME)
    quadrant = page.locator(".jx-quadrant-W")
    quadrant.locator("details.jx-swot-new summary").click()
    new_item = quadrant.locator("details.jx-swot-new form")
    new_item.get_by_label("标题").fill(TITLE)
    expect(new_item.get_by_label("适用岗位（不填：本站所有人）")).to_have_value("维修技师")
    new_item.get_by_label("说明").fill("一次修复率低于站点目标，本年度逐月提升。")
    new_item.locator("select[name=line_indicator]").select_option(label=NAME)
    # the live check says of a weight what saving would: a negative number refused, a personal metric warned
    weight = new_item.locator("textarea[name=line_weight]")
    weight.fill("-5")
    expect(new_item.locator(".jx-err-message")).to_contain_text("权重不能为负数")
    weight.fill("一次修复率 * 10")
    expect(new_item.locator(".jx-ok")).to_be_visible()
    expect(new_item.locator(".jx-warn")).to_contain_text("权重公式使用了个人变量 一次修复率")
    expect(new_item.locator(".jx-warn .jx-code")).to_have_text("PERSONAL_WEIGHT")
    weight.fill("5")
    expect(new_item.locator(".jx-ok")).to_be_visible()
    expect(new_item.locator(".jx-warn")).to_have_count(0)
    new_item.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("SWOT")
    card = page.locator(".jx-quadrant-W .jx-swot-card").filter(
        has=page.locator(f"input[name=title][value='{TITLE}']"))
    expect(card.locator("select[name=line_indicator]").first).to_have_value(CODE)
    screenshot(page, "journey1-3-swot")

    # -- a failing test case blocks publishing -------------------------------------------------
    def break_test(session, score):
        row = _indicator_rows(session, CODE)[0]
        tests = json.loads(row.tests)
        tests[0]["score"] = score
        row.tests = json.dumps(tests, ensure_ascii=False)
        session.commit()

    _db(served.app, lambda s: break_test(s, 90))  # as if stored by an older release
    page.goto(draft_url)
    page.get_by_role("link", name="检查并发布").click()
    expect(page.locator(".jx-problems")).to_contain_text("期望得分 90，实际为 100")
    expect(page.get_by_role("button", name="发布", exact=True)).to_be_disabled()
    expect(page.locator("form")).to_contain_text("测试用例失败会阻止发布")
    _db(served.app, lambda s: break_test(s, 100))

    # -- review the diff and publish -------------------------------------------------------------
    page.reload()
    expect(page.locator("text=没有问题")).to_be_visible()
    diff = page.locator("table.jx-diff")
    expect(diff.locator("tbody", has=page.locator("th", has_text=CODE))).to_contain_text("新增")
    expect(diff.locator("tbody", has=page.locator("th", has_text=TITLE))).to_contain_text("新增")
    page.fill("#note", "S01 新增 SWOT 指标：一次修复率提升")
    screenshot(page, "journey1-4-publish")
    # publishing says what it does and waits for the tick
    expect(page.locator(".jx-publish-confirm")).to_contain_text("它将成为当前规则集")
    page.locator(".jx-publish-confirm input[name=confirm]").check()
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("版本 v2 已发布")
    expect(page.locator("h2")).to_contain_text("当前")
    expect(page.locator("table.jx-indicators tr", has_text=CODE)).to_contain_text(NAME)
    page.locator(".navbar a.dropdown-toggle", has_text="规则").click()
    page.locator(".navbar a[href='/rules/']").click()
    expect(page.locator(".jx-open-drafts")).to_have_count(0)
    current_row = page.locator("table.jx-versions tr", has_text="当前")
    expect(current_row).to_have_count(1)
    expect(current_row).to_contain_text("v2")
    screenshot(page, "journey1-5-published")

    def stored(session):
        from app.services import rules as service

        version = service.current_version(session)
        ruleset = service.ruleset_from_version(version)
        indicator = ruleset.indicator(CODE)
        items = [s for s in ruleset.swot if s.station == "S01" and s.title == TITLE]
        lines = [(i.kind, [(ln.indicator, ln.weight) for ln in i.lines]) for i in items]
        return (version.number, version.is_published, indicator and indicator.category,
                indicator and indicator.value, lines, len(indicator.tests))

    number, published, category, formula, items, tests = _db(served.app, stored)
    assert (number, published, category, tests) == (2, True, "SWOT自定义", 1)
    assert str(formula).replace(" ", "") == FIXED.replace(" ", "")
    assert items == [("W", [(CODE, 5)])]
