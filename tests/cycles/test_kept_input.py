"""A refused form answers with the page again, showing what was typed (nothing is lost to an error): the
review form, an action's comment, an amendment's reason, a reassignment."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.extensions import db
from app.workflow import MAX_COMMENT
from tests.factories import appraisal_of


def token_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def field(html: str, name: str) -> str:
    """The value an input or a textarea named ``name`` shows."""
    found = (re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html, re.S)
             or re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html, re.S))
    assert found, f"no field {name}"
    return unescape(found.group(1))


def form_of(html: str, marker: str) -> str:
    """The HTML of the form containing ``marker``."""
    at = html.index(marker)
    return html[html.rindex("<form", 0, at):html.index("</form>", at)]


@pytest.fixture
def emp4(app):
    """EMP4's appraisal, pending the review of sup1 in the demo: (id, hash, its manual indicator codes)."""
    with app.app_context():
        a = appraisal_of("EMP4")
        assert a.state.value == "pending_review"
        found = a.id, a.snapshot_hash, [line["code"] for line in a.snapshot["lines"] if line["manual"]]
        db.session.remove()
    return found


def test_a_refused_review_keeps_the_typed_score_adjustment_and_reason(app, login_as, emp4):
    pk, digest, manual = emp4
    assert manual, "the technician template has an indicator entered by hand"
    sup1 = login_as("sup1")
    token = token_of(sup1.get(f"/appraisal/show/{pk}").get_data(as_text=True))
    r = sup1.post(f"/appraisal/review/{pk}", data={
        "csrf_token": token, "hash": digest, f"manual-{manual[0]}": "85", "adjustment": "3", "reason": " "})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "调整分需要填写原因" in html or "An adjustment needs a reason" in html
    assert field(html, f"manual-{manual[0]}") == "85" and field(html, "adjustment") == "3"
    assert 'class="form-group has-error"' in form_of(html, 'name="reason"')
    with app.app_context():
        assert appraisal_of("EMP4").adjustment in (None, 0)  # nothing stored

    # an invalid number stays as typed too, beside a reason already written
    r = sup1.post(f"/appraisal/review/{pk}", data={
        "csrf_token": token, "hash": digest, "adjustment": "99", "reason": "<b>现场</b>检查"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and field(html, "adjustment") == "99"
    assert field(html, "reason") == "<b>现场</b>检查" and "<b>现场</b>" not in html


def test_a_refused_action_keeps_its_comment_in_its_own_form(app, login_as, emp4):
    pk = emp4[0]
    sup1 = login_as("sup1")
    token = token_of(sup1.get(f"/appraisal/show/{pk}").get_data(as_text=True))
    too_long = "请补充现场照片。" * (MAX_COMMENT // 8 + 1)
    r = sup1.post(f"/appraisal/transition/{pk}", data={
        "csrf_token": token, "action": "return", "state": "pending_review", "comment": too_long,
        "visibility": "shared"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    returning = form_of(html, 'name="action" value="return"')
    assert field(returning, "comment") == too_long
    assert re.search(r'<option value="shared" selected>', returning)  # the chosen reader, not the default
    assert field(form_of(html, 'name="action" value="approve"'), "comment") == ""
    with app.app_context():
        assert appraisal_of("EMP4").state.value == "pending_review"


def test_a_refused_sign_off_keeps_the_employees_comment(app, login_as):
    with app.app_context():
        pk = appraisal_of("EMP1").id
        db.session.remove()
    emp1 = login_as("emp1")
    html = emp1.get(f"/appraisal/show/{pk}").get_data(as_text=True)
    too_long = "我认可结果。" * (MAX_COMMENT // 6 + 1)
    r = emp1.post(f"/appraisal/transition/{pk}", data={
        "csrf_token": token_of(html), "action": "sign", "state": "approved", "comment": too_long})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and field(form_of(html, 'value="sign"'), "comment") == too_long
    with app.app_context():
        assert appraisal_of("EMP1").state.value == "approved"


def test_a_refused_reassignment_keeps_the_number_and_the_reason(app, login_as, emp4):
    pk = emp4[0]
    hr = login_as("hr")
    token = token_of(hr.get(f"/appraisal/show/{pk}").get_data(as_text=True))
    r = hr.post(f"/appraisal/reassign/{pk}", data={
        "csrf_token": token, "reviewer_employee_no": "NOBODY9", "reason": "主管休假"})
    html = r.get_data(as_text=True)
    assert r.status_code in (409, 422)
    reassigning = form_of(html, 'name="reviewer_employee_no"')
    assert field(reassigning, "reviewer_employee_no") == "NOBODY9"
    assert field(reassigning, "reason") == "主管休假"


def test_a_refused_new_cycle_keeps_its_name_dates_and_stations(app, login_as):
    hr = login_as("hr")
    token = token_of(hr.get("/cycles/").get_data(as_text=True))
    r = hr.post("/cycles/create", data={"csrf_token": token, "name": "<i>十二月</i>", "start": "2026-12-31",
                                        "end": "2026-12-01", "stations": ["S02"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "alert-danger" in html
    assert field(html, "name") == "<i>十二月</i>" and "<i>十二月</i>" not in html
    assert field(html, "start") == "2026-12-31" and field(html, "end") == "2026-12-01"
    assert re.search(r'name="stations" value="S02" checked', html)
    assert not re.search(r'name="stations" value="S01" checked', html)
    assert not re.search(r'name="compute" value="1" checked', html)  # left unticked, as sent
