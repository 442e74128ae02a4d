"""Journeys 6 and 7: an employee reads their result, downloads the PDF and signs; anyone, without
logging in, checks a signed PDF on the verify page, and a modified PDF does not match."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser.conftest import screenshot
from tests.signoff.conftest import appraisal_of, signing

pytestmark = pytest.mark.browser


def stored_pdf(app, appraisal_id: int) -> bytes:
    from app.extensions import db
    from app.models import SignedPdf

    with app.app_context():
        data = db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == appraisal_id))
        db.session.remove()
    return data


def current_state(app, employee_no: str) -> str:
    from app.extensions import db

    with app.app_context():
        state = appraisal_of(employee_no).state.value
        db.session.remove()
    return state


def verify(page, name: str, data: bytes) -> tuple[bool, str]:
    """Drops ``data`` on the verify page; (matched, the text shown)."""
    page.set_input_files("#jx-file", files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])
    result = page.locator("#jx-verify-result .alert:not(.alert-info)")
    result.wait_for()
    classes = result.get_attribute("class")
    assert "alert-danger" not in classes, result.inner_text()
    return "alert-success" in classes, result.inner_text()


def test_anonymous_verify_matches_the_signed_pdf_and_rejects_a_changed_one(served, new_page):
    appraisal_id = signing(served.app, "EMP1")[0]
    signed = stored_pdf(served.app, appraisal_id)
    assert signed.startswith(b"%PDF-")

    page = new_page()
    page.goto("/verify/")
    assert "/login" not in page.url
    matched, text = verify(page, "签字绩效.pdf", signed)
    assert matched and "核验通过" in text, text
    assert "张*" in text and "演示考核" in text, text  # a stranger learns that it matches, not who
    assert "张伟" not in text and "EMP1" not in text, text
    screenshot(page, "7-verify-match")

    changed = bytearray(signed)
    changed[len(changed) // 2] ^= 0x20
    page.goto("/verify/")
    matched, text = verify(page, "改过的.pdf", bytes(changed))
    assert not matched and "核验通过" not in text and "张伟" not in text, text
    screenshot(page, "7-verify-changed-no-match")


def test_the_employee_signed_in_sees_which_appraisal_it_is(served, as_user):
    appraisal_id = signing(served.app, "EMP1")[0]
    page = as_user("emp1")
    page.goto("/verify/")
    matched, text = verify(page, "签字绩效.pdf", stored_pdf(served.app, appraisal_id))
    assert matched and "张伟 (EMP1)" in text, text
    page.locator("#jx-verify-result a").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/appraisal/show/{appraisal_id}")


def test_employee_reads_the_result_downloads_the_pdf_and_signs(served, as_user):
    assert current_state(served.app, "EMP1") == "approved"
    page = as_user("emp1")
    page.goto("/appraisal/mine/")
    page.locator("a.jx-card-link").first.click()
    page.wait_for_load_state()
    assert "/appraisal/show/" in page.url
    explanations = [t.strip() for t in page.locator("td.jx-explain").all_inner_texts()]
    assert explanations and all(explanations), explanations

    with page.expect_download() as info:
        page.locator("a.jx-pdf").click()
    assert info.value.suggested_filename.endswith(".pdf")
    with open(info.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    sign = page.locator("form.jx-action:has(input[name=action][value=sign])")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    sign.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert current_state(served.app, "EMP1") == "signed"
    assert asked and "签字确认" in asked[0] and "不能再提出异议" in asked[0], asked  # asked first
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "6-employee-signed")

    # the PDF downloaded after signing is the stored, signed one: the verify page recognises it
    page.goto("/appraisal/mine/")
    page.locator("a.jx-card-link").first.click()
    with page.expect_download() as info:
        page.locator("a.jx-pdf").click()
    with open(info.value.path(), "rb") as fh:
        downloaded = fh.read()
    page.goto("/verify/")
    matched, text = verify(page, "mine.pdf", downloaded)
    assert matched and "张伟 (EMP1)" in text, text
