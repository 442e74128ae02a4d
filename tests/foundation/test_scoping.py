"""Every role over every scoped screen and API: exactly its scope is visible, the rest is 404.

The expected visibility is worked out here in Python from the rows themselves (an oracle
independent of the SQL in app.scoping), so new scoped views and APIs are covered automatically.
"""

import pytest
from sqlalchemy import select

from app import clock
from app import permissions as p
from app.api.base import JixiaoModelRestApi
from app.extensions import db
from app.models import Appraisal, Employee, Station, Substitute
from app.views.base import JixiaoModelView
from tests.conftest import DEMO_USERS


def scoped(app, base):
    return [v for v in app.appbuilder.baseviews
            if isinstance(v, base) and hasattr(v.datamodel.obj, "__scope__")]


def may_read(user, view) -> bool:
    """Whether app.permissions grants this user's roles read on the view's resource."""
    roles = {r.name for r in user.roles}
    if p.ADMIN in roles:
        return True
    return bool(roles & set(p.GRANTS.get(view.class_permission_name, {}).get(p.READ, ())))


def published_result(row) -> bool:
    """An appraisal its employee may see: its cycle published, itself approved, signed or disputed."""
    return row.cycle.published_at is not None and row.state.value in ("approved", "signed", "disputed")


def visible_ids(user, model) -> set[int]:
    """``own_visible_ids``, plus for appraisals what the user sees standing in for a principal today (the
    principal's rows, never the substitute's own nor the principal's own)."""
    seen = own_visible_ids(user, model)
    if model is not Appraisal:
        return seen
    today = clock.local_today()
    principals = db.session.scalars(select(Substitute.principal_id).where(
        Substitute.substitute_id == user.id, Substitute.revoked_at.is_(None),
        Substitute.starts_on <= today, Substitute.ends_on >= today)).all()
    employee_of = dict(db.session.execute(select(Employee.user_id, Employee.id)).all())
    for principal_id in principals:
        principal = db.session.get(type(user), principal_id)
        skip = {employee_of.get(user.id), employee_of.get(principal_id)}
        rows = {r.id: r.employee_id for r in db.session.scalars(select(Appraisal))}
        seen |= {i for i in own_visible_ids(principal, model) if rows[i] not in skip}
    return seen


def own_visible_ids(user, model) -> set[int]:
    """The rows of ``model`` this user should see, by the scoping rule (HR all, a manager their station,
    a supervisor their reports, an employee themself), worked out here. Appraisals are results: one's own
    only once published (and approved, signed or disputed), and a manager's station and a supervisor's
    reports leave themselves out."""
    rows = db.session.scalars(select(model)).all()
    roles = {r.name for r in user.roles}
    if roles & {p.ADMIN, p.HR}:
        return {r.id for r in rows}
    me = db.session.scalar(select(Employee).where(Employee.user_id == user.id))
    if me is None:
        return set()
    managed = {s.id for s in db.session.scalars(select(Station))
               if s.manager_id == me.id} if p.STATION_MANAGER in roles else set()
    employee_attr, station_attr = model.__scope__
    supervisors = {e.id: e.supervisor_id for e in db.session.scalars(select(Employee))}
    seen = set()
    for row in rows:
        emp = getattr(row, employee_attr) if employee_attr else None
        station = getattr(row, station_attr) if station_attr else None
        if model is Appraisal and emp == me.id:
            if published_result(row):
                seen.add(row.id)
        elif employee_attr and emp == me.id:
            seen.add(row.id)
        elif employee_attr and p.SUPERVISOR in roles and supervisors.get(emp) == me.id:
            seen.add(row.id)
        elif station is not None and station in managed:
            seen.add(row.id)
        elif not employee_attr and station == me.station_id:
            seen.add(row.id)
    return seen


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_scoped_api_shows_exactly_the_scope(app, api_as, username):
    api = api_as(username)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        apis = scoped(app, JixiaoModelRestApi)
        assert apis, "no scoped API registered"
        for view in apis:
            model = view.datamodel.obj
            expected = visible_ids(user, model)
            everything = {r.id for r in db.session.scalars(select(model))}
            base = f"/api/v1/{view.resource_name}/"
            listed = api.get(base + "?q=(page_size:500)")
            if listed.status_code in (401, 403):
                assert not may_read(user, view), (username, base)
                continue
            assert listed.status_code == 200, (base, listed.get_data(as_text=True))
            assert set(listed.json["ids"]) == expected, (username, base)
            for pk in sorted(everything - expected)[:20]:
                assert api.get(f"{base}{pk}").status_code == 404, (username, base, pk)
                assert api.put(f"{base}{pk}", json={}).status_code in (403, 404)
                assert api.delete(f"{base}{pk}").status_code in (403, 404)
            for pk in sorted(expected)[:3]:
                assert api.get(f"{base}{pk}").status_code == 200


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_scoped_screen_shows_exactly_the_scope(app, login_as, username):
    browser = login_as(username)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        views = scoped(app, JixiaoModelView)
        assert views, "no scoped screen registered"
        for view in views:
            model = view.datamodel.obj
            expected = visible_ids(user, model)
            everything = {r.id for r in db.session.scalars(select(model))}
            route = view.route_base
            listing = browser.get(f"{route}/list/?psize_{view.__class__.__name__}=500")
            if listing.status_code in (302, 403):  # no permission on the whole resource
                assert not may_read(user, view), (username, route)
                continue
            assert listing.status_code == 200
            for pk in sorted(everything - expected)[:20]:
                assert browser.get(f"{route}/show/{pk}").status_code == 404, (username, route, pk)
                # without write permission FAB refuses the edit form for any id alike (leaks nothing)
                assert browser.get(f"{route}/edit/{pk}").status_code in (302, 403, 404)
            for pk in sorted(expected)[:3]:
                assert browser.get(f"{route}/show/{pk}").status_code == 200, (username, route, pk)


def test_employee_scope_in_numbers(app, api_as):
    counts = {u: api_as(u).get("/api/v1/employee/").json["count"] for u in
              ("emp1", "sup1", "sup2", "manager1", "hr", "admin")}
    assert counts == {"emp1": 1, "sup1": 6, "sup2": 6, "manager1": 7, "hr": 13, "admin": 13}
