"""Accounts, logins and sessions: the lock counts per account whatever is typed, user names are unique
whatever their case, the password policy on every password form, and sessions and tokens that end
with logout, password changes and deactivation."""

import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select, text

from app.extensions import db
from tests.conftest import PASSWORD, csrf_token, jwt_token

GOOD = "Lantern-Orchid-42"


def form_login(client, username, password):
    return client.post("/login/", data={"username": username, "password": password,
                                        "csrf_token": csrf_token(client)})


def api_login(client, username, password):
    return client.post("/api/v1/security/login",
                       json={"username": username, "password": password, "provider": "db"})


def user_id(app, username) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def count_users(app, name) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User)
                                 .where(func.lower(User.username) == name.lower()))


def form_errors(html: str) -> str:
    """The messages the form shows under its fields."""
    return " ".join(m.strip() for m in re.findall(r'<div class="alert alert-danger">([^<]+)</div>', html))


# --- the lock is the account's, whatever is typed ---


@pytest.mark.parametrize("typed", ["EMP3", "Emp3", "emp3@demo.jixiao.local", "EMP3@Demo.Jixiao.Local"])
def test_the_lock_holds_for_every_spelling_of_the_account(app, typed):
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert api_login(attacker, "emp3", "wrong").status_code == 401
    assert api_login(app.test_client(), typed, PASSWORD).status_code == 429
    assert form_login(app.test_client(), typed, PASSWORD).status_code == 429


def test_failures_under_different_spellings_add_up_and_a_success_clears_them(app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert api_login(app.test_client(), "EMP3", "wrong").status_code == 401
    assert api_login(app.test_client(), "emp3@demo.jixiao.local", PASSWORD).status_code == 200
    spellings = ["Emp3", "EMP3", "emp3@demo.jixiao.local", " emp3", "eMP3"]
    assert len(spellings) == app.config["LOGIN_MAX_FAILURES"]
    for typed in spellings:
        assert form_login(app.test_client(), typed, "wrong").status_code == 302
    assert api_login(app.test_client(), "emp3", PASSWORD).status_code == 429
    assert api_login(app.test_client(), "emp4", PASSWORD).status_code == 200


def test_an_unknown_name_is_counted_by_its_normalised_form(app):
    for typed in ["Ghost", "GHOST", "ghost", "gHoSt", "GhOsT"]:
        assert api_login(app.test_client(), typed, "x").status_code == 401
    assert api_login(app.test_client(), "ghost", "x").status_code == 429
    assert api_login(app.test_client(), "ghost2", "x").status_code == 401


# --- user names are unique whatever their case ---


def test_the_database_refuses_a_user_name_differing_only_in_case(app):
    with app.app_context():
        sm = app.appbuilder.sm
        assert sm.add_user("Emp9", "x", "y", "emp9-again@example.invalid", sm.find_role("Employee"),
                           password=GOOD) is False
    assert count_users(app, "emp9") == 1
    assert api_login(app.test_client(), "emp9", PASSWORD).status_code == 200


def _add_user_form(client, username, password, confirm=None, **fields):
    with client.application.app_context():
        role = db.session.scalar(text("SELECT id FROM ab_role WHERE name = 'Employee'"))
    data = {"first_name": "新", "last_name": "人", "username": username, "active": "y",
            "email": f"{username.lower()}-{len(username)}@example.invalid", "roles": str(role),
            "password": password, "conf_password": confirm or password,
            "csrf_token": csrf_token(client, "/users/add")}
    data.update(fields)
    return client.post("/users/add", data=data)


@pytest.mark.parametrize("name", ["EMP9", "Hr", "ADMIN"])
def test_the_user_screen_refuses_a_name_taken_in_another_case(login_as, app, name):
    admin = login_as("admin")
    r = _add_user_form(admin, name, GOOD)
    assert r.status_code == 200
    assert "已被占用" in form_errors(r.get_data(as_text=True))
    assert count_users(app, name) == 1


def test_the_edit_screen_refuses_a_rename_onto_another_case(login_as, app):
    admin = login_as("admin")
    pk = user_id(app, "emp8")
    form = admin.get(f"/users/edit/{pk}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    with app.app_context():
        role = db.session.scalar(text("SELECT id FROM ab_role WHERE name = 'Employee'"))
    r = admin.post(f"/users/edit/{pk}", data={
        "first_name": "雪", "last_name": "冯", "username": "EMP9", "active": "y",
        "email": "emp8@demo.jixiao.local", "roles": str(role), "csrf_token": token})
    assert r.status_code == 200
    assert form_errors(r.get_data(as_text=True)) == "用户名“EMP9”已被占用（不区分大小写）。"
    assert user_id(app, "emp8") == pk


def test_the_migration_refuses_a_database_whose_names_clash(database_url):
    from alembic import command

    from tests.conftest import make_app

    app = make_app(database_url)
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        command.downgrade(config, "2990ce7fbbf6")
        for i, name in enumerate(["weakuser", "WEAKUSER", "Emp9"]):
            db.session.execute(text(
                "INSERT INTO ab_user (first_name, last_name, username, email, active) "
                "VALUES ('a', 'b', :name, :email, :active)"),
                {"name": name, "email": f"{i}@example.invalid", "active": True})
        db.session.commit()
        with pytest.raises(RuntimeError, match=r"emp9 \(2 accounts\), weakuser \(2 accounts\)"):
            command.upgrade(config, "head")
        db.session.remove()
        db.engine.dispose()


# --- the password policy ---


@pytest.mark.parametrize("username,password,message", [
    ("newcomer", "1", "至少需要 10 个字符"),
    ("newcomer", "short12", "至少需要 10 个字符"),
    ("longusername", "LongUserName", "不能与用户名相同"),
    ("newcomer", "Password123", "最常见"),
    ("newcomer", "woaini1314", "最常见"),
])
def test_adding_a_user_refuses_a_weak_password(login_as, app, username, password, message):
    r = _add_user_form(login_as("admin"), username, password)
    assert r.status_code == 200 and message in form_errors(r.get_data(as_text=True))
    assert count_users(app, username) == 0


def test_the_same_user_is_added_with_a_good_password(login_as, app):
    admin = login_as("admin")
    assert _add_user_form(admin, "newcomer", "Newcomer").status_code == 200
    assert _add_user_form(admin, "newcomer", GOOD).status_code == 302
    assert api_login(app.test_client(), "newcomer", GOOD).status_code == 200


def _reset_password(client, pk, password):
    url = f"/resetpassword/form?pk={pk}"
    return client.post(url, data={"password": password, "conf_password": password,
                                  "csrf_token": csrf_token(client, url)})


def test_an_admin_reset_follows_the_policy(login_as, app):
    admin, pk = login_as("admin"), user_id(app, "emp2")
    r = _reset_password(admin, pk, "emp2")
    assert r.status_code == 200 and "至少需要 10 个字符" in form_errors(r.get_data(as_text=True))
    assert api_login(app.test_client(), "emp2", PASSWORD).status_code == 200
    assert _reset_password(admin, pk, GOOD).status_code == 302
    assert api_login(app.test_client(), "emp2", GOOD).status_code == 200


def test_an_admin_reset_of_nobody_is_not_found(login_as):
    admin = login_as("admin")
    assert admin.get("/resetpassword/form?pk=99999").status_code == 404
    assert _reset_password(admin, 99999, GOOD).status_code == 404


def _change_mine(client, current, password, confirm=None):
    url = "/resetmypassword/form"
    data = {"password": password, "conf_password": confirm or password, "csrf_token": csrf_token(client, url)}
    if current is not None:
        data["current_password"] = current
    return client.post(url, data=data)


@pytest.mark.parametrize("current,new,message", [
    (None, GOOD, ""),
    ("wrong-password", GOOD, "当前密码不正确"),
    (PASSWORD, "a", "至少需要 10 个字符"),
    (PASSWORD, "EMP1", "至少需要 10 个字符"),
    (PASSWORD, "qwertyuiop", "最常见"),
])
def test_changing_my_password_needs_the_current_one_and_a_good_new_one(login_as, app, current, new, message):
    r = _change_mine(login_as("emp1"), current, new)
    assert r.status_code == 200
    errors = form_errors(r.get_data(as_text=True))
    assert errors and message in errors
    assert api_login(app.test_client(), "emp1", PASSWORD).status_code == 200


def test_my_profile_leads_to_the_form_asking_for_the_current_password(login_as):
    me = login_as("emp1")
    profile = me.get("/users/userinfo/").get_data(as_text=True)
    (action,) = set(re.findall(r'action="(/users/action/resetmypassword/\d+)" method="POST"', profile))
    form = me.post(action, data={"csrf_token": csrf_token(me, "/users/userinfo/")}, follow_redirects=True)
    assert form.status_code == 200 and 'name="current_password"' in form.get_data(as_text=True)
    assert "修改我的密码" in form.get_data(as_text=True)


def test_wrong_current_passwords_count_as_failed_logins(login_as, app):
    me = login_as("emp6")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _change_mine(me, "wrong-password", GOOD)
    r = _change_mine(me, PASSWORD, GOOD)
    assert r.status_code == 200 and "登录失败次数过多" in form_errors(r.get_data(as_text=True))
    assert api_login(app.test_client(), "emp6", PASSWORD).status_code == 429


def test_changing_my_password_keeps_me_and_ends_my_other_sessions(login_as, app):
    here, elsewhere = login_as("emp1"), login_as("emp1")
    token = jwt_token(app.test_client(), "emp1")
    assert _change_mine(here, PASSWORD, GOOD).status_code == 302
    assert here.get("/appraisal/inbox/").status_code == 200
    assert elsewhere.get("/appraisal/inbox/").status_code == 302
    r = app.test_client().get("/api/v1/appraisal/", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json["message"]
    assert api_login(app.test_client(), "emp1", GOOD).status_code == 200


# --- sessions and tokens end ---


def _replay(app, cookie):
    c = app.test_client()
    c.set_cookie("session", cookie)
    return c


def test_a_session_cookie_replayed_after_logout_is_signed_out(login_as, app):
    browser = login_as("sup1")
    token = csrf_token(browser, "/")
    cookie = browser.get_cookie("session").value
    appraisal = browser.get("/api/v1/appraisal/").json["result"][0]["id"]
    assert _replay(app, cookie).get("/appraisal/inbox/").status_code == 200
    browser.get("/logout/")
    replayed = _replay(app, cookie)
    assert replayed.get("/appraisal/inbox/").status_code == 302
    r = replayed.post(f"/api/v1/appraisal/{appraisal}/transition", json={"action": "approve", "comment": "x"},
                      headers={"X-CSRFToken": token})
    assert r.status_code == 401 and set(r.json) == {"message"}


def test_logout_ends_the_accounts_tokens_too(login_as, app):
    token = jwt_token(app.test_client(), "sup2")
    login_as("sup2").get("/logout/")
    r = app.test_client().get("/api/v1/appraisal/", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and set(r.json) == {"message"}


def test_an_admin_reset_ends_the_old_cookie_token_and_refresh_token(login_as, app):
    victim = login_as("emp7")
    tokens = api_login(app.test_client(), "emp7", PASSWORD).json
    assert victim.get("/appraisal/inbox/").status_code == 200
    assert _reset_password(login_as("admin"), user_id(app, "emp7"), GOOD).status_code == 302
    assert victim.get("/appraisal/inbox/").status_code == 302
    c = app.test_client()
    r = c.get("/api/v1/appraisal/", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401 and set(r.json) == {"message"}


def test_a_refresh_token_ends_with_the_password(login_as, app):
    tokens = app.test_client().post("/api/v1/security/login", json={
        "username": "emp10", "password": PASSWORD, "provider": "db", "refresh": True}).json
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    fresh = app.test_client().post("/api/v1/security/refresh", headers=refresh)
    assert fresh.status_code == 200
    assert app.test_client().get("/api/v1/appraisal/", headers={
        "Authorization": f"Bearer {fresh.json['access_token']}"}).status_code == 200
    _reset_password(login_as("admin"), user_id(app, "emp10"), GOOD)
    r = app.test_client().post("/api/v1/security/refresh", headers=refresh)
    assert r.status_code == 401 and set(r.json) == {"message"}


def test_deactivation_ends_sessions_for_good(login_as, app):
    victim = login_as("emp4")
    admin = login_as("admin")
    pk = user_id(app, "emp4")
    with app.app_context():
        role = db.session.scalar(text("SELECT id FROM ab_role WHERE name = 'Employee'"))

    def edit(active):
        data = {"first_name": "丽", "last_name": "孙", "username": "emp4", "email": "emp4@demo.jixiao.local",
                "roles": str(role), "csrf_token": csrf_token(admin, f"/users/edit/{pk}")}
        if active:
            data["active"] = "y"
        assert admin.post(f"/users/edit/{pk}", data=data).status_code == 302

    edit(active=False)
    edit(active=True)
    assert victim.get("/appraisal/inbox/").status_code == 302
    assert login_as("emp4").get("/appraisal/inbox/").status_code == 200


# --- JWT errors answer {"message"} ---


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Bearer a.b.c", "Basic abc"])
def test_jwt_errors_answer_message(client, header):
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/v1/appraisal/", headers=headers)
    assert r.status_code == 401 and set(r.json) == {"message"} and r.json["message"]
