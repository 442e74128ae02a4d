"""The trail, the PDF and the verify page read as people write, not as the code stores: indicator names
and formatted values instead of ``kpi_teamwork = 90.0``, labels instead of codes (the API gives both), who
approved in the manager's box, and times in the configured zone."""

from __future__ import annotations

import io
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Employee, SignedPdf
from app.pdf import render_html
from app.services.calibration import calibrate, number_text
from app.services.document import document_snapshot, named_lines
from app.services.review_note import read_note, write_note
from app.services.signoff import render_live
from app.workflow import State
from tests.conftest import csrf_token
from tests.factories import appraisal_of, caller, current_id
from tests.pdf.test_pdf_render import squeeze, text_of

TEAMWORK_ZH, TEAMWORK_EN = "团队协作（主管评分）", "Teamwork (supervisor's rating)"


def approved_of(employee_no: str) -> Appraisal:
    """The employee's approved appraisal (the demo's earlier, monthly cycle)."""
    return db.session.scalar(
        select(Appraisal).join(Employee, Employee.id == Appraisal.employee_id)
        .where(Employee.employee_no == employee_no, Appraisal.is_current.is_(True),
               Appraisal.state == State.approved))


def review_comment(snapshot: dict) -> str:
    (comment,) = [step["comment"] for step in snapshot["trail"] if step["action_code"] == "review"]
    return comment


def test_a_review_note_is_stored_in_codes_whatever_the_language():
    assert write_note({"kpi_teamwork": 90.0, "kpi_other": None}, 6.0, "技能比武") == \
        "kpi_other = N/A; kpi_teamwork = 90.0; adjustment = +6: 技能比武"
    assert write_note({}, None, "只有原因") == "只有原因"
    assert write_note({"kpi_teamwork": 85.5}, None, "") == "kpi_teamwork = 85.5"


@pytest.mark.parametrize("locale, expected", [
    ("zh_CN", f"{TEAMWORK_ZH} 90 分；调整分 +6：季度技能比武第一名，加 6 分。"),
    ("en", f"{TEAMWORK_EN} 90 points; Adjustment +6: 季度技能比武第一名，加 6 分。"),
])
def test_the_trail_names_the_indicator_and_formats_its_value(appctx, locale, expected):
    """EMP3's supervisor set teamwork to 90 and added 6 points in the demo."""
    snapshot = document_snapshot(db.session, appraisal_of("EMP3"), locale)
    assert review_comment(snapshot) == expected
    html = render_html([snapshot], locale)
    assert "kpi_teamwork" not in html and "kpi_" not in html


def test_notes_written_before_read_the_same(appctx):
    lines = named_lines(db.session, appraisal_of("EMP1"), "zh_CN")
    with force_locale("zh_CN"):
        assert read_note("kpi_teamwork = 88.0; 调整分 -2.5: 原因", lines, "zh_CN") == \
            f"{TEAMWORK_ZH} 88 分；调整分 -2.5：原因"
        assert read_note("kpi_teamwork = N/A", lines, "zh_CN") == f"{TEAMWORK_ZH} 不适用"
        # What is no note (or names no indicator of this appraisal) stays as written.
        for text in ("同意。", "kpi_unknown = 3", "x = 1: y", "kpi_teamwork = abc"):
            assert read_note(text, lines, "zh_CN") == text


@pytest.mark.parametrize("locale, segment, approved", [
    ("zh_CN", "个人客户", "由 李明 审核批准"),
    ("en", "Consumer", "Approved by 李明 at"),
])
def test_the_pdf_prints_the_segment_label_and_who_approved(appctx, locale, segment, approved):
    snapshot = document_snapshot(db.session, appraisal_of("EMP1"), locale)
    assert snapshot["station"]["segment"] == "consumer"
    html = render_html([snapshot], locale)
    assert f"<td>{segment}</td>" in html and ">consumer<" not in html
    box = html.split('class="signature"', 1)[1]
    assert approved in box
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", box)


def test_the_manager_box_lists_the_approvals_of_the_current_round(appctx):
    """EMP4 was returned once, then approved by the supervisor and at the second review."""
    snapshot = document_snapshot(db.session, approved_of("EMP4"), "zh_CN")
    assert [step["by"] for step in snapshot["approved"]] == ["李明", "王建国"]
    draft = document_snapshot(db.session, appraisal_of("EMP9"), "zh_CN")
    assert draft["approved"] == []
    assert '<div class="line">日期：</div>' in render_html([draft], "zh_CN").split('class="signature"', 1)[1]


def test_the_api_trail_gives_the_codes_beside_the_labels(app, api_as):
    pk = current_id(app, "EMP1")
    trail = api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]["trail"]
    approve = next(step for step in trail if step["action_code"] == "approve")
    assert (approve["action"], approve["from"], approve["to"]) == ("批准", "待审核", "已批准")
    assert (approve["from_code"], approve["to_code"]) == ("pending_review", "approved")
    assert (trail[0]["action_code"], trail[0]["from_code"], trail[0]["to_code"]) == ("compute", None, "draft")
    review = next(step for step in trail if step["action_code"] == "review")
    assert review["comment"] == f"{TEAMWORK_ZH} 88 分"
    mine = api_as("emp1").get(f"/api/v1/appraisal/{pk}").json["result"]["trail"]
    assert all({"action_code", "from_code", "to_code"} <= set(step) for step in mine)


def test_the_verify_page_names_the_employee_and_the_cycle_in_local_time(login_as, signed):
    browser = login_as("emp1")
    with browser.application.app_context():
        data = db.session.scalar(select(SignedPdf.pdf).where(SignedPdf.appraisal_id == signed))
    token = csrf_token(browser, "/verify/")
    page = browser.post("/verify/", data={"csrf_token": token, "file": (io.BytesIO(data), "a.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    answer = page.split('id="jx-verify-result"', 1)[1]
    assert f'<a href="/appraisal/show/{signed}" title="打开考核页面">张伟 (EMP1)</a>' in answer
    assert "<dt>考核</dt>" not in answer and f">{signed}</a>" not in answer
    assert re.search(r"<dt>签字时间</dt><dd>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</dd>", answer)
    assert "+08:00" not in answer and "演示考核" in answer


@pytest.mark.parametrize("locale, expected", [
    ("zh_CN", ["个人客户", "由李明审核批准", f"{TEAMWORK_ZH}88分"]),
    ("en", ["Consumer", "Approvedby李明at", f"{TEAMWORK_EN}88points".replace(" ", "")]),
])
def test_the_pdf_itself_reads_in_its_language(appctx, locale, expected):
    text = squeeze(text_of(render_live(db.session, appraisal_of("EMP1"), locale)))
    for shown in expected:
        assert shown in text
    assert "kpi_" not in text and "consumer" not in text


def test_a_calibration_reads_in_the_readers_language(app, appctx):
    """Its comment is written in the configured language (Chinese); an English reader reads English."""
    old = appraisal_of("EMP1")
    grade, total = old.grade, number_text(old.total)
    new = calibrate(db.session, old.id, caller(app, "hr"), total=99, reason="依据：复核", visibility="shared")
    assert new.grade != grade

    def said(locale):
        trail = document_snapshot(db.session, new, locale)["trail"]
        return [step["comment"] for step in trail if step["action_code"] == "calibrate"]

    assert said("zh_CN") == [f"等级 {grade} → {new.grade}；总分 {total} → 99：依据：复核"]
    assert said("en") == [f"Grade {grade} → {new.grade}; Total {total} → 99: 依据：复核"]
