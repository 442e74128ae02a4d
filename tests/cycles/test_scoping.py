"""Every appraisal endpoint, API and screen, with every role, against appraisals outside the caller's
scope: 404, and nothing changes. The expected scope is worked out here from the scoping rule (HR: all;
manager: own station; supervisor: own reports; employee: self, once published and approved, signed or
disputed; a manager's station and a supervisor's reports leave themselves out), not from app.scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import clock
from app import permissions as p
from app.extensions import db
from app.models import Appraisal, AuditEvent, Cycle, Employee, Station, Substitute
from tests.conftest import DEMO_USERS

SAMPLE = 6  # out-of-scope appraisals tried per user (ids spread over the stations)


def visible(username: str) -> tuple[set[int], set[int]]:
    """(visible ids, all ids) of appraisals by the scoping rule, with what the user sees standing in for a
    principal today (the principal's rows, never the substitute's own nor the principal's own)."""
    from flask import current_app

    user = current_app.appbuilder.sm.find_user(username=username)
    rows = db.session.execute(
        select(Appraisal.id, Appraisal.employee_id, Appraisal.station_id, Appraisal.state, Cycle.published_at)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)).all()
    everything = {r.id for r in rows}
    seen = own_visible(user, rows, everything)
    today = clock.local_today()
    principals = db.session.scalars(select(Substitute.principal_id).where(
        Substitute.substitute_id == user.id, Substitute.revoked_at.is_(None),
        Substitute.starts_on <= today, Substitute.ends_on >= today)).all()
    employee_of = dict(db.session.execute(select(Employee.user_id, Employee.id)).all())
    for principal_id in principals:
        skip = {employee_of.get(user.id), employee_of.get(principal_id)}
        theirs = own_visible(db.session.get(type(user), principal_id), rows, everything)
        seen |= {r.id for r in rows if r.id in theirs and r.employee_id not in skip}
    return seen, everything


def own_visible(user, rows, everything: set[int]) -> set[int]:
    roles = {r.name for r in user.roles}
    if roles & {p.ADMIN, p.HR}:
        return everything
    me = db.session.scalar(select(Employee).where(Employee.user_id == user.id))
    if me is None:
        return set()
    reports = set(db.session.scalars(select(Employee.id).where(Employee.supervisor_id == me.id)))
    managed = set(db.session.scalars(select(Station.id).where(Station.manager_id == me.id))) \
        if p.STATION_MANAGER in roles else set()
    def own_seen(r) -> bool:  # one's own result: once published and approved (or later)
        return r.published_at is not None and r.state.value in ("approved", "signed", "disputed")

    return {r.id for r in rows if (own_seen(r) if r.employee_id == me.id else (
            (p.SUPERVISOR in roles and r.employee_id in reports) or r.station_id in managed))}


def spread(ids: set[int], n: int) -> list[int]:
    ordered = sorted(ids)
    step = max(1, len(ordered) // n)
    return ordered[::step][:n]


API_CALLS = [
    ("get", "/api/v1/appraisal/{pk}", None),
    ("get", "/api/v1/appraisal/{pk}/actions", None),
    ("post", "/api/v1/appraisal/{pk}/transition", {"action": "approve", "comment": "x"}),
    ("post", "/api/v1/appraisal/{pk}/transition", {"action": "submit"}),
    ("post", "/api/v1/appraisal/{pk}/review", {"adjustment": 1, "reason": "x"}),
    ("post", "/api/v1/appraisal/{pk}/amend", {"reason": "x"}),
    ("put", "/api/v1/appraisal/{pk}", {"total": 100}),
    ("delete", "/api/v1/appraisal/{pk}", None),
]
SCREEN_CALLS = [
    ("get", "/appraisal/show/{pk}", None),
    ("post", "/appraisal/transition/{pk}", {"action": "approve", "comment": "x"}),
    ("post", "/appraisal/review/{pk}", {"adjustment": "1", "reason": "x"}),
    ("post", "/appraisal/amend/{pk}", {"reason": "x"}),
]


def changes(app) -> tuple:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                db.session.scalar(select(func.sum(Appraisal.version))),
                tuple(db.session.scalars(select(Appraisal.state).order_by(Appraisal.id))))


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_api_endpoint_answers_404_outside_the_scope(app, api_as, fresh, username):
    with app.app_context():
        seen, everything = visible(username)
    outside = spread(everything - seen, SAMPLE)
    api = api_as(username)
    listed = api.get("/api/v1/appraisal/?q=(page_size:500)")
    assert set(listed.json["ids"]) == seen
    before = changes(app)
    for pk in outside:
        for method, url, body in API_CALLS:
            kwargs = {"json": body} if body is not None else {}
            r = getattr(api, method)(url.format(pk=pk), **kwargs)
            assert r.status_code == 404, (username, method, url, pk, r.status_code, r.get_data(as_text=True))
    if outside:
        bulk = api.post("/api/v1/appraisal/bulk-transition", json={"ids": outside, "action": "approve"})
        assert {e["status"] for e in bulk.json["results"]} == {404}
    inbox = {e["id"] for e in api.get("/api/v1/appraisal/inbox").json["result"]}
    assert inbox <= seen
    assert changes(app) == before
    for pk in spread(seen, 2):
        assert api.get(f"/api/v1/appraisal/{pk}").status_code == 200
        assert api.get(f"/api/v1/appraisal/{pk}/actions").status_code == 200


@pytest.mark.parametrize("username", ["hr", "manager1", "sup1", "sup2", "emp1", "emp6"])
def test_every_screen_answers_404_outside_the_scope(app, login_as, fresh, username):
    with app.app_context():
        seen, everything = visible(username)
    browser = login_as(username)
    html = browser.get("/appraisal/inbox/").get_data(as_text=True)
    import re

    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    before = changes(app)
    for pk in spread(everything - seen, SAMPLE):
        for method, url, body in SCREEN_CALLS:
            data = dict(body or {}, csrf_token=token)
            target = url.format(pk=pk)
            r = browser.get(target) if method == "get" else browser.post(target, data=data)
            assert r.status_code == 404, (username, url, pk, r.status_code)
    assert changes(app) == before
    for pk in spread(seen, 2):
        assert browser.get(f"/appraisal/show/{pk}").status_code == 200
