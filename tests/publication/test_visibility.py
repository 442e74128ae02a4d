"""Who sees an appraisal when: an employee sees one of their own only once its cycle is published and it is
approved, signed or disputed; before that it does not exist for them on any path (API list and show, its
actions and transitions, the PDF, the screens, their results, the dashboards and history, the inbox). A
supervisor's or station manager's own appraisal follows the same rule; HR sees everything."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Appraisal, Cycle, SignedPdf
from tests.factories import FRESH, Moves, demo_cycle, sign
from tests.publication.conftest import ids_of, in_context, publish_as

OWN_STATES_SEEN = {"approved", "signed", "disputed"}


def api_ids(api, cycle: str | None = None) -> set[int]:
    listed = api.get("/api/v1/appraisal/?q=(page_size:500)")
    assert listed.status_code == 200
    return {r["id"] for r in listed.json["result"] if cycle is None or r["cycle"] == cycle}


def page(browser, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def sees_everywhere(app, username: str, pk: int, api, browser) -> list[bool]:
    """Whether ``username`` sees appraisal ``pk`` on each path (all True or all False when consistent)."""
    with app.app_context():
        cycle_name = db.session.get(Appraisal, pk).cycle.name
        db.session.remove()
    seen = [
        pk in api_ids(api),
        api.get(f"/api/v1/appraisal/{pk}").status_code == 200,
        api.get(f"/api/v1/appraisal/{pk}/actions").status_code == 200,
        api.get(f"/api/v1/appraisal/{pk}/pdf").status_code == 200,
        browser.get(f"/appraisal/show/{pk}").status_code == 200,
        f"/appraisal/show/{pk}\"" in page(browser, "/appraisal/list/?psize_AppraisalView=100"),
    ]
    if username.startswith("emp"):
        seen.append(f"/appraisal/show/{pk}\"" in page(browser, "/appraisal/mine/"))
        seen.append(cycle_name in page(browser, "/dashboard/mine/"))
    for status in (api.get(f"/api/v1/appraisal/{pk}").status_code,
                   api.get(f"/api/v1/appraisal/{pk}/pdf").status_code,
                   browser.get(f"/appraisal/show/{pk}").status_code):
        assert status in (200, 404)  # never a 403 that would tell the appraisal exists
    return seen


def test_before_publication_an_approved_result_does_not_exist_for_its_employee(app, api_as, login_as, fresh):
    moves = Moves(app, fresh)
    in_context(app, moves.to_approved, "EMP1")
    in_context(app, moves.to_pending_review, "EMP2")
    ids = ids_of(app, fresh)
    emp1, emp1_browser = api_as("emp1"), login_as("emp1")
    assert sees_everywhere(app, "emp1", ids["EMP1"], emp1, emp1_browser) == [False] * 8
    # nothing to sign: the transition itself is as if the appraisal were not there
    signing = emp1.post(f"/api/v1/appraisal/{ids['EMP1']}/transition", json={"action": "sign"})
    assert signing.status_code == 404
    assert not [i for i in emp1.get("/api/v1/appraisal/inbox").json["result"] if i["cycle"] == FRESH]
    assert FRESH not in emp1_browser.get("/appraisal/inbox/").get_data(as_text=True)
    counts = emp1.get(f"/api/v1/cycle/{fresh}").json["result"]["appraisals"]
    assert counts == {}  # the cycle exists for everyone; none of its results is theirs yet
    # their reviewers and HR see it all along
    assert api_as("sup1").get(f"/api/v1/appraisal/{ids['EMP1']}").status_code == 200
    assert api_as("hr").get(f"/api/v1/appraisal/{ids['EMP2']}").status_code == 200

    publish_as(app, fresh)
    assert sees_everywhere(app, "emp1", ids["EMP1"], emp1, emp1_browser) == [True] * 8
    inbox = [i for i in emp1.get("/api/v1/appraisal/inbox").json["result"] if i["cycle"] == FRESH]
    assert [(i["employee_no"], i["actions"]) for i in inbox] == [("EMP1", ["sign", "dispute"])]
    assert emp1.get(f"/api/v1/cycle/{fresh}").json["result"]["appraisals"] == {"approved": 1}
    # still under review: still nothing for EMP2, until it is approved, then at once
    emp2, emp2_browser = api_as("emp2"), login_as("emp2")
    assert sees_everywhere(app, "emp2", ids["EMP2"], emp2, emp2_browser) == [False] * 8
    assert in_context(app, moves.do, "sup1", "EMP2", "approve") == "approved"
    assert sees_everywhere(app, "emp2", ids["EMP2"], emp2, emp2_browser) == [True] * 8


def test_every_state_of_a_published_cycle(app, api_as, login_as):
    """The demo's cycle is published: its employees see exactly their approved, signed or disputed results."""
    with app.app_context():
        sign(app, "EMP6")
        cycle = demo_cycle()
        rows = {a.employee.employee_no: (a.id, a.state.value) for a in db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))}
        db.session.remove()
    states = {state for _, state in rows.values()}
    assert {"draft", "pending_review", "pending_second_review", "approved", "signed", "disputed"} <= states
    for n in range(1, 11):
        username, (pk, state) = f"emp{n}", rows[f"EMP{n}"]
        api = api_as(username)
        expected = state in OWN_STATES_SEEN
        status = 200 if expected else 404
        assert api.get(f"/api/v1/appraisal/{pk}").status_code == status, (username, state)
        assert api.get(f"/api/v1/appraisal/{pk}/pdf").status_code == status, (username, state)
        assert (pk in api_ids(api)) is expected
    # the same through the screens, for one of each
    for username, seen in (("emp3", False), ("emp9", False), ("emp2", True), ("emp6", True)):
        pk = rows[username.upper()][0]
        assert login_as(username).get(f"/appraisal/show/{pk}").status_code == (200 if seen else 404)


def test_a_supervisors_and_a_managers_own_appraisal_follow_the_employees_rule(app, api_as):
    with app.app_context():
        cycle = demo_cycle()
        demo_ids = {a.employee.employee_no: a.id for a in db.session.scalars(
            select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.is_current.is_(True)))}
        demo_id = cycle.id
        db.session.remove()
    sup1, manager1 = api_as("sup1"), api_as("manager1")
    # both are pending review in the demo's cycle: their reports and station leave themselves out
    assert sup1.get(f"/api/v1/appraisal/{demo_ids['SUP1']}").status_code == 404
    assert manager1.get(f"/api/v1/appraisal/{demo_ids['MANAGER1']}").status_code == 404
    listed = {r["employee_no"] for r in sup1.get("/api/v1/appraisal/?q=(page_size:500)").json["result"]
              if r["id"] in demo_ids.values()}
    assert listed == {"EMP1", "EMP2", "EMP3", "EMP4", "EMP5"}
    listed = {r["employee_no"] for r in manager1.get("/api/v1/appraisal/?q=(page_size:500)").json["result"]
              if r["id"] in demo_ids.values()}
    assert listed == {"SUP1", "EMP1", "EMP2", "EMP3", "EMP4", "EMP5"}
    # their earlier monthly results are approved and published: those they see
    own = {r["cycle"] for r in sup1.get("/api/v1/appraisal/?q=(page_size:500)").json["result"]
           if r["employee_no"] == "SUP1"}
    assert own and demo_cycle_name(app) not in own
    # manager1 approves sup1's: sup1 sees it at once (the cycle is published)
    assert manager1.post(f"/api/v1/appraisal/{demo_ids['SUP1']}/transition",
                         json={"action": "approve"}).json["state"] in ("approved", "pending_second_review")
    state = api_as("hr").get(f"/api/v1/appraisal/{demo_ids['SUP1']}").json["result"]["state"]
    status = 200 if state == "approved" else 404
    assert sup1.get(f"/api/v1/appraisal/{demo_ids['SUP1']}").status_code == status
    assert api_as("hr").get(f"/api/v1/cycle/{demo_id}").json["result"]["appraisals"]["pending_review"] >= 1


def demo_cycle_name(app) -> str:
    with app.app_context():
        name = demo_cycle().name
        db.session.remove()
    return name


def test_dashboards_and_history_follow_the_rule(app, login_as):
    with app.app_context():
        demo = demo_cycle()
        history = db.session.scalar(select(Cycle).where(Cycle.id != demo.id).order_by(Cycle.id))
        names = {"demo": demo.name, "history": history.name, "demo_id": demo.id, "history_id": history.id}
        db.session.remove()
    # an employee's history: the demo's cycle only where their result there is approved (or later)
    emp4 = login_as("emp4").get("/dashboard/").get_data(as_text=True)
    assert names["history"] in emp4 and names["demo"] not in emp4
    emp1 = login_as("emp1").get("/dashboard/").get_data(as_text=True)
    assert names["history"] in emp1 and names["demo"] in emp1
    # a supervisor's dashboard: their own pending result is not among their reports'
    sup1 = login_as("sup1").get(f"/dashboard/?cycle={names['demo_id']}").get_data(as_text=True)
    assert "EMP1 张伟" in sup1 and "SUP1 李明" not in sup1
    sup1_history = login_as("sup1").get(f"/dashboard/?cycle={names['history_id']}").get_data(as_text=True)
    assert "SUP1 李明" in sup1_history  # approved and published: theirs to see
    manager1 = login_as("manager1").get(f"/dashboard/?cycle={names['demo_id']}").get_data(as_text=True)
    assert "SUP1 李明" in manager1 and "MANAGER1 王建国" not in manager1
    hr = login_as("hr").get(f"/dashboard/?cycle={names['demo_id']}").get_data(as_text=True)
    assert "SUP1 李明" in hr and "MANAGER1 王建国" in hr
    # the grade distribution of the demo's cycle counts what the reader sees
    titles = re.findall(r"<title>([A-D]|N/A): (\d+)</title>", sup1)
    assert sum(int(n) for _, n in titles) == 5  # EMP1–EMP5, not SUP1 themself


def test_verify_names_a_signed_document_to_its_employee_only(app, api_as):
    """A signed result is published and signed: its employee's scope includes it, a colleague's does not."""
    with app.app_context():
        pk = sign(app, "EMP1")
        digest = db.session.scalar(select(SignedPdf.sha256).where(SignedPdf.appraisal_id == pk))
        db.session.remove()
    assert api_as("emp1").post("/api/v1/verify", json={"sha256": digest}).json["appraisal_id"] == pk
    stranger = api_as("emp2").post("/api/v1/verify", json={"sha256": digest}).json
    assert stranger["match"] is True and stranger["appraisal_id"] is None
