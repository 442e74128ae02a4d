"""The verify page's script answers as people read: the employee and the cycle (the name a link to the
appraisal), the signing time in the configured zone as 2026-12-02 10:42, no appraisal id, no ISO text."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_signoff import stored_pdf, verify
from tests.signoff.conftest import signing

pytestmark = pytest.mark.browser


def test_the_script_shows_who_which_cycle_and_the_local_time(served, as_user):
    appraisal_id = signing(served.app, "EMP1")[0]
    page = as_user("emp1")
    page.goto("/verify/")
    matched, text = verify(page, "签字绩效.pdf", stored_pdf(served.app, appraisal_id))
    assert matched and "张伟 (EMP1)" in text and "演示考核" in text, text
    assert re.search(r"签字时间\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s", text), text
    assert "+08:00" not in text and not re.search(r"\d{2}T\d{2}", text), text
    labels = page.locator("#jx-verify-result dt").all_inner_texts()
    assert labels[:3] == ["员工", "考核周期", "签字时间"], labels  # no "考核 <id>" row
    link = page.locator("#jx-verify-result dd a")
    assert link.inner_text() == "张伟 (EMP1)"
    assert link.get_attribute("href") == f"/appraisal/show/{appraisal_id}"
