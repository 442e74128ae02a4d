"""Shared and internal comments: the defaults of the workflow table, the writer's choice (API and form),
and who reads what: the appraised employee's screen, API answer and PDF carry shared comments only (each
step stays); reviewers and HR read both, the internal ones marked; the PDF is always shared only."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.factories import Moves, csrf_token, events
from tests.publication.conftest import ids_of, in_context, publish_as

SHARED_NOTE = "请站长复核加分"
INTERNAL_NOTE = "复核同意仅内部"
RETURN_NOTE = "退回重算内部说明"


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def visibilities(app, pk: int) -> dict[str, str]:
    """action → visibility of this appraisal's events (the latest of each action)."""
    with app.app_context():
        found = {e.action: e.visibility for e in events(pk)}
        db.session.remove()
    return found


def second_review(app, cycle_id: int) -> int:
    """EMP3 of the cycle: returned once (internal by default), then approved by the supervisor with a
    shared note, through the second review with the default (internal) note; the cycle published."""
    moves = Moves(app, cycle_id)

    def run():
        moves.to_pending_review("EMP3")
        moves.do("sup1", "EMP3", "return", RETURN_NOTE)
        moves.do("hr", "EMP3", "submit", "")
        moves.review("sup1", "EMP3", adjustment=6, reason="技能比武加分")
        assert moves.do("sup1", "EMP3", "approve", SHARED_NOTE) == "pending_second_review"
        assert moves.do("manager1", "EMP3", "approve", INTERNAL_NOTE) == "approved"
        return moves.id("EMP3")

    pk = in_context(app, run)
    publish_as(app, cycle_id)
    return pk


def test_defaults_of_the_table(app, fresh):
    pk = second_review(app, fresh)
    with app.app_context():
        kinds = [(e.action, e.from_state, e.visibility, e.comment) for e in events(pk)]
        db.session.remove()
    assert ("return", "pending_review", "internal", RETURN_NOTE) in kinds
    assert ("approve", "pending_review", "shared", SHARED_NOTE) in kinds
    assert ("approve", "pending_second_review", "internal", INTERNAL_NOTE) in kinds
    reviews = [k for k in kinds if k[0] == "review"]
    assert [k[2] for k in reviews] == ["shared"] and "技能比武加分" in reviews[0][3]  # a review edit: shared
    assert [k[2] for k in kinds if k[0] == "publish"] == ["internal"]
    # the employee disputes (shared), HR resolves (shared)
    moves = Moves(app, fresh)
    assert in_context(app, moves.do, "emp3", "EMP3", "dispute", "我有异议") == "disputed"
    assert in_context(app, moves.do, "hr", "EMP3", "resolve", "重新审核") == "pending_review"
    assert visibilities(app, pk)["dispute"] == "shared" and visibilities(app, pk)["resolve"] == "shared"


def test_the_employee_reads_shared_comments_only_everywhere(app, api_as, login_as, fresh):
    pk = second_review(app, fresh)
    hr_trail = api_as("hr").get(f"/api/v1/appraisal/{pk}").json["result"]["trail"]
    mine = api_as("emp3").get(f"/api/v1/appraisal/{pk}")
    assert mine.status_code == 200
    trail = mine.json["result"]["trail"]
    # every step stays; the internal comments do not
    assert [(e["action"], e["from"], e["to"]) for e in trail] == [
        (e["action"], e["from"], e["to"]) for e in hr_trail]
    said = [e["comment"] for e in trail]
    assert SHARED_NOTE in said and INTERNAL_NOTE not in said and RETURN_NOTE not in said
    assert all("visibility" not in e for e in trail)
    # reviewers and HR read both, each marked
    marked = {e["comment"]: e["visibility"] for e in hr_trail if e["comment"]}
    assert marked[INTERNAL_NOTE] == "internal" and marked[RETURN_NOTE] == "internal"
    assert marked[SHARED_NOTE] == "shared"
    assert {e["comment"]: e["visibility"] for e in api_as("sup1").get(
        f"/api/v1/appraisal/{pk}").json["result"]["trail"] if e["comment"]} == marked
    # the screens
    page = login_as("emp3").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert SHARED_NOTE in page and INTERNAL_NOTE not in page and RETURN_NOTE not in page
    assert "jx-internal" not in page and 'name="visibility"' not in page
    reviewer = login_as("manager1").get(f"/appraisal/show/{pk}").get_data(as_text=True)
    assert INTERNAL_NOTE in reviewer and RETURN_NOTE in reviewer and "jx-internal" in reviewer
    assert "内部" in reviewer
    english = login_as("hr").get(f"/appraisal/show/{pk}?_l_=en").get_data(as_text=True)
    assert ">Internal</span> " + INTERNAL_NOTE in english
    # the PDF carries the shared comments only, whoever downloads it
    for username in ("emp3", "hr", "manager1"):
        response = api_as(username).get(f"/api/v1/appraisal/{pk}/pdf")
        assert response.status_code == 200
        text = pdf_text(response.data)
        assert SHARED_NOTE in text, username
        assert INTERNAL_NOTE not in text and RETURN_NOTE not in text, username


def test_the_writer_chooses_in_the_api(app, api_as, fresh):
    ids = ids_of(app, fresh)
    in_context(app, Moves(app, fresh).to_pending_review, "EMP1")
    sup1 = api_as("sup1")
    url = f"/api/v1/appraisal/{ids['EMP1']}/transition"
    bad = sup1.post(url, json={"action": "approve", "comment": "好", "visibility": "secret"})
    assert bad.status_code == 422 and bad.json["code"] == "BAD_VISIBILITY"
    assert sup1.post(url, json={"action": "approve", "comment": "好", "visibility": 3}).status_code == 422
    with app.app_context():
        assert [e.action for e in events(ids["EMP1"])] == ["compute", "submit"]  # nothing happened
        db.session.remove()
    done = sup1.post(url, json={"action": "return", "comment": "请补充数据", "visibility": "shared"})
    assert done.status_code == 200 and done.json["state"] == "draft"
    assert visibilities(app, ids["EMP1"])["return"] == "shared"  # the default is internal
    actions = api_as("hr").get(f"/api/v1/appraisal/{ids['EMP1']}/actions").json["actions"]
    assert [(a["action"], a["comment_visibility"]) for a in actions] == [("submit", "shared")]
    api_as("hr").post(url, json={"action": "submit", "comment": "HR 备注", "visibility": "internal"})
    assert visibilities(app, ids["EMP1"])["submit"] == "internal"


def test_the_writer_chooses_on_the_form(app, login_as, fresh):
    ids = ids_of(app, fresh)
    in_context(app, Moves(app, fresh).to_pending_review, "EMP4")
    browser = login_as("sup1")
    page = browser.get(f"/appraisal/show/{ids['EMP4']}").get_data(as_text=True)
    assert 'name="visibility"' in page and '<option value="internal" selected>' in page  # return's default
    browser.post(f"/appraisal/transition/{ids['EMP4']}", data={
        "action": "approve", "comment": "主管内部意见", "visibility": "internal", "state": "pending_review",
        "csrf_token": csrf_token(browser, f"/appraisal/show/{ids['EMP4']}")})
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.appraisal_id == ids["EMP4"],
                                                           AuditEvent.action == "approve"))
        assert (event.comment, event.visibility) == ("主管内部意见", "internal")
        db.session.remove()


def test_the_publish_step_shows_without_its_reason(app, api_as, fresh):
    in_context(app, Moves(app, fresh).to_approved, "EMP1")
    ids = ids_of(app, fresh)
    publish_as(app, fresh, reason="例外说明只给人力资源看")
    trail = api_as("emp1").get(f"/api/v1/appraisal/{ids['EMP1']}").json["result"]["trail"]
    published = [e for e in trail if e["action"] == "结果公示"]
    assert len(published) == 1 and published[0]["comment"] == ""
    hr = api_as("hr").get(f"/api/v1/appraisal/{ids['EMP1']}").json["result"]["trail"]
    assert [e["comment"] for e in hr if e["action"] == "结果公示"] == ["例外说明只给人力资源看"]
