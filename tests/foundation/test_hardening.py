"""Each hardening point (login limits, CSRF, cookies, headers, redirects, error pages, ids, bodies, the secret
key) has a test that fails without it."""

import os
import stat
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import PASSWORD, csrf_token


def form_login(client, username, password, next_url=None):
    token = csrf_token(client)
    url = "/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})


def api_login(client, username, password):
    return client.post("/api/v1/security/login",
                       json={"username": username, "password": password, "provider": "db"})


def test_form_login_locks_after_failures_even_for_right_password(app):
    c = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert form_login(c, "emp1", "wrong").status_code == 302
    r = form_login(c, "emp1", PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.get_data(as_text=True)
    # another user from the same address is not locked by one user's failures
    assert form_login(app.test_client(), "emp2", PASSWORD).headers["Location"] == "/"


def test_api_login_locks_after_failures_even_for_right_password(app):
    c = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert api_login(c, "emp3", "wrong").status_code == 401
    r = api_login(c, "emp3", PASSWORD)
    assert r.status_code == 429 and r.json["message"]


def test_lock_is_shared_between_form_and_api(app):
    c = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        api_login(c, "emp4", "wrong")
    assert form_login(c, "emp4", PASSWORD).status_code == 429


def test_one_address_spraying_many_users_is_locked(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, LOGIN_MAX_FAILURES_PER_IP=6)
    c = app.test_client()
    for i in range(6):
        api_login(c, f"nobody{i}", "x")
    assert api_login(c, "emp5", PASSWORD).status_code == 429


def test_unknown_user_and_wrong_password_get_the_same_answer(app):
    c = app.test_client()
    unknown, wrong = api_login(c, "ghost", "x"), api_login(c, "emp1", "x")
    assert (unknown.status_code, unknown.json) == (wrong.status_code, wrong.json)
    a, b = form_login(c, "ghost", "x"), form_login(c, "emp1", "x")
    assert (a.status_code, a.headers["Location"]) == (b.status_code, b.headers["Location"])


def test_form_post_without_csrf_token_is_refused(app):
    c = app.test_client()
    r = c.post("/login/", data={"username": "emp1", "password": PASSWORD})
    assert r.status_code == 400


def test_cookie_authenticated_api_write_needs_csrf_header(login_as):
    c = login_as("hr")
    body = {"code": "S09", "name": "测试站", "segment": "mixed"}
    refused = c.post("/api/v1/station/", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.json["message"]
    token = csrf_token(c, "/")
    assert c.post("/api/v1/station/", json=body, headers={"X-CSRFToken": token}).status_code == 201


def test_a_bogus_bearer_header_does_not_skip_csrf(login_as, api_as):
    browser = login_as("hr")
    body = {"code": "S07", "name": "伪造站", "segment": "mixed"}
    for header in ["Bearer x", "Bearer " + "e30.e30.e30", "bearer "]:
        r = browser.post("/api/v1/station/", json=body, headers={"Authorization": header})
        assert r.status_code == 400 and "CSRF" in r.json["message"], header
    # a token that authenticates does: it is a token client, whatever cookie comes along
    token = api_as("hr").headers["Authorization"]
    assert browser.post("/api/v1/station/", json=body, headers={"Authorization": token}).status_code == 201


def test_signed_in_form_post_without_or_with_stale_csrf_token_is_a_translated_400(login_as, app):
    browser = login_as("hr")
    stale = csrf_token(app.test_client())  # another session's token
    for data in [{}, {"csrf_token": stale}, {"csrf_token": "nonsense"}]:
        r = browser.post("/stationview/add", data={"code": "S66", "name": "x", "segment": "mixed", **data})
        assert r.status_code == 400, data
        page = r.get_data(as_text=True)
        assert "安全令牌（CSRF）缺失或无效" in page and 'class="navbar' in page


def test_signed_in_form_post_over_the_limit_is_a_translated_413(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, MAX_CONTENT_LENGTH=4096)
    browser = app.test_client()
    assert form_login(browser, "hr", PASSWORD).status_code == 302
    token = csrf_token(browser, "/stationview/add")
    r = browser.post("/stationview/add", data={"csrf_token": token, "code": "S66", "name": "x" * 10000})
    assert r.status_code == 413 and "上传文件过大" in r.get_data(as_text=True)


def test_an_error_that_breaks_the_session_still_gets_the_full_error_page(database_url):
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db
    from app.models import Station
    from tests.conftest import make_app

    app = make_app(database_url)

    def duplicate():
        db.session.add(Station(code="S01", name="重复", segment="mixed"))
        db.session.flush()  # fails; the session refuses all work until it is rolled back

    app.add_url_rule("/duplicate", "duplicate", duplicate)
    browser = app.test_client()
    form_login(browser, "hr", PASSWORD)
    page = browser.get("/duplicate")
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "服务器出错" in html and 'class="navbar' in html  # the page with the menu, read after the rollback
    assert IntegrityError.__name__ not in html


def test_token_authenticated_api_write_needs_no_csrf(api_as):
    r = api_as("hr").post("/api/v1/station/", json={"code": "S08", "name": "新站", "segment": "consumer"})
    assert r.status_code == 201


def test_session_cookie_flags(app):
    c = app.test_client()
    r = form_login(c, "emp1", PASSWORD)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_secure_when_configured(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, SESSION_COOKIE_SECURE=True)
    r = form_login(app.test_client(), "emp1", PASSWORD)
    assert "Secure" in r.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/login/", "/", "/api/v1/employee/"])
def test_no_store_on_pages_and_api(api_as, app, path):
    r = api_as("emp1").get(path)
    assert r.headers["Cache-Control"] == "no-store"


def test_security_headers(app):
    r = app.test_client().get("/login/")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"


def test_only_scripts_carrying_this_responses_nonce_run(login_as):
    import re

    browser = login_as("hr")
    pages = [browser.get("/employeeview/list/"), browser.get("/employeeview/list/")]
    nonces = []
    for r in pages:
        policy = r.headers["Content-Security-Policy"]
        script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        (nonce,) = re.findall(r"'nonce-([A-Za-z0-9_-]{20,})'", script_src)
        html = r.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, "FAB's list screen has inline scripts"
        assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize("target", ["http://evil.example/x", "//evil.example", "https:evil", "\\\\evil"])
def test_login_redirects_only_to_this_site(app, target):
    r = form_login(app.test_client(), "emp1", PASSWORD, next_url=target)
    assert r.status_code == 302
    resolved = urlsplit(urljoin("http://localhost/login/", r.headers["Location"]))
    assert resolved.netloc == "localhost"


def test_no_stack_trace_reaches_a_client(database_url):
    from tests.conftest import make_app

    app = make_app(database_url)

    def boom():
        raise RuntimeError("SELECT secret FROM table")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    page = app.test_client().get("/boom")
    assert page.status_code == 500 and "服务器出错" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True) and "SELECT" not in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/boom")
    assert api.status_code == 500 and set(api.json) == {"message"} and "SELECT" not in api.json["message"]


def test_duplicate_unique_value_is_422_naming_the_field(api_as):
    r = api_as("hr").post("/api/v1/station/", json={"code": "S01", "name": "重复", "segment": "mixed"})
    assert r.status_code == 422
    assert "站点编码" in str(r.json["message"]) and "S01" in str(r.json["message"])


@pytest.mark.parametrize("pk", ["99999999999999999999999", "-1", "0", "abc"])
def test_ids_out_of_range_are_404(api_as, pk):
    assert api_as("hr").get(f"/api/v1/station/{pk}").status_code == 404


@pytest.mark.parametrize("q", ["(((", "!(x", "(page:-5)", "(page_size:-1)", "(order_column:nope)",
                               "(filters:!((col:nope,opr:eq,value:1)))", "(columns:!(nope))",
                               "(filters:!((col:code,opr:nope,value:1)))", "%FF%FE"])
def test_unreadable_or_unknown_q_is_a_4xx(api_as, q):
    r = api_as("hr").get(f"/api/v1/station/?q={q}")
    assert 400 <= r.status_code < 500 or r.status_code == 200, r.get_data(as_text=True)
    assert r.status_code != 500


def test_oversized_body_is_413(database_url):
    from tests.conftest import jwt_token, make_app

    app = make_app(database_url, MAX_CONTENT_LENGTH=1024)
    c = app.test_client()
    token = jwt_token(c, "hr")
    r = c.post("/api/v1/station/", data="x" * 5000, content_type="application/json",
               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413 and r.json["message"]


def test_secret_key_generated_once_owner_only(tmp_path, monkeypatch):
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config._secret_key()
    assert first == config._secret_key() and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_secret_key_from_environment_wins(monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert config._secret_key() == "from-env"
    assert not (tmp_path / "secret_key").exists()
