"""Jixiao (绩效): performance appraisal for after-sales service networks.

``create_app(overrides=None)`` is the only way to build the application; imports of views and
services happen inside it so that importing ``app`` stays cheap and free of side effects.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask.globals import _cv_request

ROOT = Path(__file__).resolve().parent.parent


class JixiaoFlask(Flask):
    """Flask, with the URL of a static file built once per file: every page links some twenty (FAB's
    styles and scripts, ours), each otherwise a lookup in the URL map. Only plain static URLs in a
    request are kept (by endpoint, file and the request's script root); a full store starts again."""

    STATIC_URLS = 512

    def url_for(self, /, endpoint: str, **values) -> str:
        request_context = _cv_request.get(None)
        if (request_context is None or len(values) != 1 or "filename" not in values
                or endpoint[:1] == "." or endpoint.rpartition(".")[2] != "static"):
            return super().url_for(endpoint, **values)
        store = self.extensions.setdefault("jixiao_static_urls", {})
        key = (endpoint, values["filename"], request_context.request.script_root)
        url = store.get(key)
        if url is None:
            if len(store) >= self.STATIC_URLS:
                store.clear()
            url = store[key] = super().url_for(endpoint, **values)
        return url


def create_app(overrides: dict | None = None) -> Flask:
    import config

    from . import clock, hardening, locales
    from .extensions import db, migrate

    app = JixiaoFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        instance_path=str(config.INSTANCE_DIR),
    )
    app.config.update(config.load())
    app.config.update(overrides or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A writer waits up to 30 s for another's transaction (e.g. a sign-off storing its PDF) instead of
        # the driver's 5 s, after which it would fail with "database is locked".
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    compile_catalogs(app)
    # FAB warns about every relation column it cannot offer a search filter for; that is expected.
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)

    from . import models  # noqa: F401 - registers the tables

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    hardening.init_app(app)
    clock.register_filters(app)

    with app.app_context():
        # The screens and APIs load with the app, not with ``import app``.
        from flask_appbuilder import AppBuilder

        from .api import register_apis
        from .views import register_views

        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        locales.init_app(app)  # after FAB's Flask-Babel
        register_views(appbuilder)
        register_apis(appbuilder)
        if app.config.get("JIXIAO_SYNC_PERMISSIONS_ON_START", False):
            sync_permissions(app)

    from .cli import register_cli
    from .jobs import init_app as init_jobs
    from .notify import init_app as init_notify
    from .services.signoff import register_effects

    register_effects()
    init_notify(app)
    register_cli(app)
    init_jobs(app)
    return app


def sync_permissions(app: Flask) -> None:
    """Create FAB's permissions for every view and grant the roles of app.permissions.

    Idempotent, and additive: grants an Admin added by hand on the role screens stay.
    """
    from flask_appbuilder.security.manager import BaseSecurityManager

    from .permissions import role_grants

    appbuilder = app.appbuilder
    sm = appbuilder.sm
    # FAB's base create_db() adds the Admin and Public roles (FAB_CREATE_DB=False skips tables only).
    BaseSecurityManager.create_db(sm)
    appbuilder.add_permissions(update_perms=True)
    for role_name, grants in role_grants().items():
        role = sm.add_role(role_name)
        held = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        for perm, view_menu in sorted(grants - held):
            sm.add_permission_role(role, sm.add_permission_view_menu(perm, view_menu))


def compile_catalogs(app: Flask) -> None:
    """Compile the message catalogs that are missing or stale (app/catalogs.py)."""
    from .catalogs import ensure_compiled  # late: importing app stays free of Babel

    configured = app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    folders = ensure_compiled(Path(configured[0]), Path(app.instance_path) / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        [str(folder) for folder in folders] + configured[1:])

