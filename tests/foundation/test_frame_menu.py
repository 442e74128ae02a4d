"""The frame every screen pays: the menu bar's entries are rendered once per language and set of permissions
and are the entries FAB's own template renders; translations are found once per request and follow the
reader's language at once (the switch, ``force_locale``, ``refresh``); static files' URLs are built once."""

from __future__ import annotations

import re
from pathlib import Path

import flask_appbuilder
import flask_babel
import pytest
from flask import Flask, g, session, template_rendered, url_for
from flask_babel import force_locale, gettext, lazy_gettext, refresh
from flask_login import login_user

from app import locales
from app.extensions import db
from app.views import menu_html

FAB_MENU = Path(flask_appbuilder.__file__).parent / "templates" / "appbuilder" / "navbar_menu.html"
SCREEN = "/stationview/list/"


def fab_menu(app) -> str:
    """The menu as FAB's own template renders it for the request's reader."""
    return app.jinja_env.from_string(FAB_MENU.read_text()).render(menu=app.appbuilder.menu)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("username", ["admin", "hr", "sup1", "emp1", None])
def test_the_menu_is_the_one_fab_renders(app, username, lang):
    sm = app.appbuilder.sm
    with app.test_request_context("/"):
        if username is not None:
            user = sm.find_user(username=username)
            login_user(user)
            g.user = user
        session["locale"] = lang
        expected = fab_menu(app)
        assert str(menu_html()) == expected
        assert str(menu_html()) == expected  # kept, the same
        db.session.remove()


def rendered_templates(app, client, path: str) -> list[str]:
    names = []

    def record(_sender, template, context, **_extra):
        names.append(template.name)

    with template_rendered.connected_to(record, app):
        assert client.get(path).status_code == 200
    return names


def test_the_menu_is_rendered_once_per_language_and_permissions(app, login_as):
    hr = login_as("hr")
    rendered_templates(app, hr, SCREEN)
    assert "appbuilder/menu_entries.html" not in rendered_templates(app, hr, SCREEN)
    assert "appbuilder/menu_entries.html" not in rendered_templates(app, login_as("hr"), "/verify/")
    hr.get("/lang/en")
    assert "appbuilder/menu_entries.html" in rendered_templates(app, hr, SCREEN)
    assert "appbuilder/menu_entries.html" in rendered_templates(app, login_as("emp1"), SCREEN)


def test_the_language_switch_changes_the_menu_and_the_frame_at_once(login_as):
    emp = login_as("emp1")
    chinese = emp.get(SCREEN).get_data(as_text=True)
    assert "站点" in chinese and "个人资料" in chinese and ">Profile<" not in chinese
    emp.get("/lang/en")
    english = emp.get(SCREEN).get_data(as_text=True)
    assert "Stations" in english and "Profile" in english and "个人资料" not in english
    emp.get("/lang/zh_CN")
    assert without_token(emp.get(SCREEN).get_data(as_text=True)) == without_token(chinese)


def without_token(page: str) -> str:
    """The page without what changes with every response (the CSRF token, the scripts' nonce)."""
    return re.sub(r'(content|nonce|value)="[\w.-]{20,}"', "", page)


def test_translations_follow_force_locale_and_refresh(app):
    with app.test_request_context("/"):
        session["locale"] = "zh_CN"
        later = lazy_gettext("Profile")
        template = app.jinja_env.from_string(
            "{{ _('Profile') }} {{ _(later) }} {{ _('%(n)s unread notifications', n=2) }}")
        assert gettext("Profile") == "个人资料" == str(later)
        chinese = template.render(later=later)
        assert chinese.startswith("个人资料 个人资料 ")
        with force_locale("en"):
            assert gettext("Profile") == "Profile" == str(later)
            assert template.render(later=later) == "Profile Profile 2 unread notifications"
        assert gettext("Profile") == "个人资料"
        assert template.render(later=later) == chinese
        session["locale"] = "en"
        refresh()
        assert gettext("Profile") == "Profile"
        assert locales.current_locale() == "en"


def test_the_request_state_is_flask_babels(app):
    """The translations are kept in Flask-Babel's own per-request namespace (a newer Flask-Babel that moved
    it would make every lookup slow again, not wrong: this says so)."""
    with app.test_request_context("/"):
        assert locales._babel_state() is None
        gettext("Profile")
        assert locales._babel_state() is vars(flask_babel._get_current_context())
        assert locales._babel_state()[locales.FOUND][2] is flask_babel.get_translations()


def test_static_urls_are_flasks(app):
    """Static files' URLs are kept once built, and are what Flask builds, under any script root."""
    for base in ("http://localhost/", "http://localhost/jixiao/"):
        root = base.removeprefix("http://localhost")
        with app.test_request_context("/", base_url=base):
            for endpoint, filename in [("static", "css/jixiao.css"), ("appbuilder.static", "js/ab.js")]:
                built = Flask.url_for(app, endpoint, filename=filename)
                assert url_for(endpoint, filename=filename) == built == url_for(endpoint, filename=filename)
                assert built.startswith(root + "static/")
            external = url_for("static", filename="css/jixiao.css", _external=True)
            assert external == base + "static/css/jixiao.css"
            assert url_for("static", filename="a b.css") == root + "static/a%20b.css"
