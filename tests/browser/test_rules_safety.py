"""HR, in Chinese, on the rule sets: discarding a draft asks first and says what would be lost (Cancel keeps
it), a discarded draft waits on the rule sets page and 恢复 brings it back as it was; publishing waits for a
tick that says what publishing does; the TOML files come as a download."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.factories import screenshot

pytestmark = pytest.mark.browser


def _version(app, vid: int):
    from app.extensions import db
    from app.models import RuleSetVersion

    with app.app_context():
        try:
            version = db.session.get(RuleSetVersion, vid)
            return version.is_published, version.discarded_at, len(version.indicators)
        finally:
            db.session.remove()


def test_hr_discards_a_draft_after_a_question_and_restores_it(served, as_user):
    page = as_user("hr")
    page.goto("/rules/")
    page.get_by_role("button", name="从当前版本新建草稿").click()
    expect(page.locator(".alert-success")).to_contain_text("已创建草稿 v2")
    vid = int(re.search(r"/rules/v/(\d+)/", page.url).group(1))
    draft_url = page.url
    _, _, indicators = _version(served.app, vid)

    # -- Cancel keeps the draft ----------------------------------------------------------------------
    questions: list[str] = []

    def answer(accept: bool):
        def _answer(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return _answer

    page.once("dialog", answer(False))
    page.get_by_role("button", name="丢弃此草稿").click()
    expect(page.locator("h2")).to_contain_text("v2")
    assert page.url == draft_url and len(questions) == 1
    assert "丢弃草稿 v2" in questions[0] and f"{indicators} 个指标" in questions[0]
    assert "30 天内可在规则集页面恢复" in questions[0]
    assert _version(served.app, vid)[1] is None

    # -- OK discards it: it leaves the drafts and waits among the discarded ones -----------------------
    page.once("dialog", answer(True))
    page.get_by_role("button", name="丢弃此草稿").click()
    expect(page.locator(".alert-info")).to_contain_text("已丢弃草稿 v2")
    assert len(questions) == 2  # asked once
    assert page.url.endswith("/rules/")
    expect(page.locator(".jx-open-drafts")).to_have_count(0)
    discarded = page.locator("table.jx-discarded-drafts")
    expect(discarded).to_contain_text("v2")
    assert _version(served.app, vid)[1] is not None
    screenshot(page, "rules-safety-1-discarded")

    # -- 恢复 brings it back as it was ----------------------------------------------------------------
    discarded.get_by_role("button", name="恢复 v2").click()
    expect(page.locator(".alert-success")).to_contain_text("已恢复草稿 v2")
    assert page.url == draft_url
    expect(page.get_by_role("button", name="丢弃此草稿")).to_be_visible()
    assert _version(served.app, vid) == (False, None, indicators)
    page.goto("/rules/")
    expect(page.locator(".jx-open-drafts")).to_contain_text("继续编辑 v2")
    expect(page.locator("table.jx-discarded-drafts")).to_have_count(0)

    # -- publishing waits for the tick that says what it does -----------------------------------------
    page.goto(draft_url)
    page.get_by_role("link", name="检查并发布").click()
    confirm = page.locator(".jx-publish-confirm")
    expect(confirm).to_contain_text("发布 v2：它将成为当前规则集")
    page.get_by_role("button", name="发布", exact=True).click()  # not ticked: the browser holds the form
    expect(page.locator(".alert-success")).to_have_count(0)
    assert page.url.endswith("/publish") and _version(served.app, vid)[0] is False
    confirm.locator("input[name=confirm]").check()
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("版本 v2 已发布")
    assert _version(served.app, vid)[0] is True


def test_the_toml_files_come_as_a_download(served, as_user):
    page = as_user("manager1")  # whoever may read the rules
    page.goto("/rules/v/1/")
    page.get_by_role("link", name="TOML 文件").click()
    expect(page.locator("body")).not_to_contain_text("rules export DIR")
    with page.expect_download() as caught:
        page.locator("a.jx-export-zip").click()
    download = caught.value
    assert download.suggested_filename == "rules-v1.zip"
    with open(download.path(), "rb") as fh:
        names = zipfile.ZipFile(io.BytesIO(fh.read())).namelist()
    assert "rules-v1/indicators.toml" in names and "rules-v1/templates.toml" in names
