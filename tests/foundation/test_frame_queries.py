"""What every request pays: the signed-in user (with roles and stamp) is one statement and what the user
may do another, whatever the number of menu entries, permissions and roles; every check of the request
(the view's, each menu entry's, each button's) is answered from those. And the checks answer as FAB's
own: a missing permission refuses, a revoked one or a changed role counts from the next request, a
deactivated account is signed out."""

from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import PermissionView, User
from sqlalchemy import select

from app import permissions as p
from app.extensions import db
from tests.factories import DEMO_USERS, counted, statements_for

FLOOR = "/api/v1/formula/catalogue"
SCREEN = "/stationview/list/"
HR_ONLY_SCREEN = "/laborcostview/list/"  # HR and station managers
HR_ONLY_API = "/api/v1/laborcost/"


def security_statements(statements: list[str]) -> list[str]:
    """The statements on FAB's security tables (users, roles, permissions)."""
    return [s for s in statements if "ab_" in s]


def test_the_floor_runs_two_statements(app, login_as):
    """The session's user with its roles and stamp token, then the permissions: nothing else."""
    statements = statements_for(app, login_as("hr"), FLOOR)
    assert len(statements) == 2, "\n".join(statements)


def test_the_floor_with_a_token_runs_three_statements(app, api_as):
    """With a JWT: the public permissions (checked first, before the token is read), the token's user,
    its permissions."""
    api = api_as("hr")
    api.get(FLOOR)
    with counted(app) as statements:
        assert api.get(FLOOR).status_code == 200
    assert len(statements) == 3, "\n".join(statements)


def _add_menu_entries(app, count: int, role_names: list[str]) -> None:
    """``count`` more menu entries, each granted (menu_access) to ``role_names``."""
    sm = app.appbuilder.sm
    for i in range(count):
        app.appbuilder.add_link(f"Extra {i}", href="/", category="Extra")
    with app.app_context():
        for name in ["Extra"] + [f"Extra {i}" for i in range(count)]:
            pv = sm.add_permission_view_menu("menu_access", name)
            for role_name in role_names:
                sm.add_permission_role(sm.find_role(role_name), pv)
        db.session.remove()


def _give_roles(app, username: str, role_names: list[str]) -> None:
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=username)
        user.roles = list(user.roles) + [sm.add_role(name) for name in role_names]
        db.session.commit()
        db.session.remove()


def test_a_screen_frame_reads_the_user_and_the_permissions_once(app, login_as):
    hr = login_as("hr")
    before = statements_for(app, hr, SCREEN)
    assert len(security_statements(before)) == 2, "\n".join(before)
    assert 'href="/laborcostview/list/"' in hr.get(SCREEN).get_data(as_text=True)

    _give_roles(app, "hr", [f"Extra role {i}" for i in range(5)])
    _add_menu_entries(app, 30, [p.HR, "Extra role 0"])
    after = statements_for(app, hr, SCREEN)
    assert len(after) == len(before), "\n".join(after)
    html = hr.get(SCREEN).get_data(as_text=True)
    assert "Extra 29" in html  # the new entries are shown, from the same statements


def test_the_menu_api_reads_the_permissions_once(app, login_as):
    statements = statements_for(app, login_as("admin"), "/api/v1/menu/")
    assert len(security_statements(statements)) == 2, "\n".join(statements)


# --- the answers are FAB's ---


def test_every_check_answers_as_fab_would(app):
    """For every demo user (and nobody), every stored permission and every menu entry: the answer from
    the request's permission set is the answer of FAB's own checks, one query each."""
    sm = app.appbuilder.sm
    with app.test_request_context():
        pairs = [(pv.permission.name, pv.view_menu.name) for pv in db.session.scalars(select(PermissionView))]
        menus = app.appbuilder.menu.get_flat_name_list()
        assert len(pairs) > 100 and len(menus) > 20
        for username in DEMO_USERS:
            user = sm.find_user(username=username)
            for perm, view in pairs:
                assert sm._has_view_access(user, perm, view) == SecurityManager._has_view_access(
                    sm, user, perm, view), (username, perm, view)
            theirs = SecurityManager._get_user_permission_view_menus(sm, user, "menu_access", menus)
            assert sm._get_user_permission_view_menus(user, "menu_access", menus) == theirs, username
        for perm, view in pairs:
            public = SecurityManager.is_item_public(sm, perm, view)
            assert sm.is_item_public(perm, view) == public, (perm, view)
        db.session.remove()


def test_a_permission_the_user_lacks_is_refused(app, login_as, api_as):
    employee = login_as("emp1")
    assert employee.get(HR_ONLY_SCREEN).status_code == 403
    assert api_as("emp1").get(HR_ONLY_API).status_code == 403
    assert 'href="/laborcostview/list/"' not in employee.get(SCREEN).get_data(as_text=True)
    hr = login_as("hr")
    assert hr.get(HR_ONLY_SCREEN).status_code == 200
    assert 'href="/laborcostview/list/"' in hr.get(SCREEN).get_data(as_text=True)


def test_nobody_signed_in_is_sent_to_sign_in(app, client):
    r = client.get(HR_ONLY_SCREEN)
    assert r.status_code == 302 and "/login/" in r.headers["Location"]
    assert client.get(HR_ONLY_API).status_code == 401


def test_a_revoked_permission_counts_from_the_next_request(app, login_as, api_as):
    hr, api = login_as("hr"), api_as("hr")
    assert hr.get(HR_ONLY_SCREEN).status_code == 200
    assert api.get(HR_ONLY_API).status_code == 200
    assert 'href="/laborcostview/list/"' in hr.get(SCREEN).get_data(as_text=True)
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role(p.HR)
        sm.del_permission_role(role, sm.find_permission_view_menu(p.permission(p.READ), p.LABOR_COST))
        sm.del_permission_role(role, sm.find_permission_view_menu("menu_access", "Labour costs"))
        db.session.remove()
    assert hr.get(HR_ONLY_SCREEN).status_code == 403
    assert api.get(HR_ONLY_API).status_code == 403
    assert 'href="/laborcostview/list/"' not in hr.get(SCREEN).get_data(as_text=True)


def test_a_role_change_counts_from_the_next_request(app, login_as):
    employee = login_as("emp1")
    assert employee.get(HR_ONLY_SCREEN).status_code == 403
    _give_roles(app, "emp1", [p.HR])
    assert employee.get(HR_ONLY_SCREEN).status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "emp1"))
        user.roles = [role for role in user.roles if role.name != p.HR]
        db.session.commit()
        db.session.remove()
    assert employee.get(HR_ONLY_SCREEN).status_code == 403


def test_a_deactivated_account_is_signed_out(app, login_as, api_as):
    hr, api = login_as("hr"), api_as("hr")
    assert hr.get(SCREEN).status_code == 200
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "hr")).active = False
        db.session.commit()
        db.session.remove()
    r = hr.get(SCREEN)
    assert r.status_code == 302 and "/login/" in r.headers["Location"]
    assert hr.get(FLOOR).status_code == 401
    assert api.get(FLOOR).status_code == 401
