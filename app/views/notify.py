"""The notification list (/notifications/) and each person's notification settings.

Everyone has it, and sees only their own notifications: newest first, 50 a page, with an unread filter.
Opening one marks it read and goes to its link (only paths inside the application are followed).
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from .. import permissions as p
from ..clock import local_text
from ..extensions import db
from ..locales import current_locale
from ..notify import record

MAX_PAGE = 10**6


def _page_argument() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_PAGE else 0


class NotificationView(BaseView):
    route_base = "/notifications"
    class_permission_name = p.NOTIFICATION
    method_permission_name = {"index": p.READ, "open": p.WRITE, "read_all": p.WRITE, "settings": p.READ,
                              "save_settings": p.WRITE}
    default_view = "index"
    show_in_menu = True

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        unread, page = request.args.get("unread") == "1", _page_argument()
        notes, count = record.page_of(db.session, g.user.id, unread=unread, page=page)
        locale = current_locale()
        rows = [{**record.shown(note, locale), "when": local_text(note.created_at)} for note in notes]
        return self.render_template("notify/list.html", rows=rows, unread=unread, page=page, count=count,
                                    pages=max(1, -(-count // record.PAGE_SIZE)))

    @expose("/<int:pk>/open", methods=["POST"])
    @has_access
    def open(self, pk: int):
        link = record.open_one(db.session, g.user.id, pk)
        if link is None:
            abort(404)
        return redirect(link)

    @expose("/read-all", methods=["POST"])
    @has_access
    def read_all(self):
        changed = record.mark_read(db.session, g.user.id)
        flash(_("%(n)s notifications marked read.", n=changed), "info")
        return redirect("/notifications/")

    @expose("/settings", methods=["GET"])
    @has_access
    def settings(self):
        return self.render_template("notify/settings.html", prefs=record.preferences(db.session, g.user.id),
                                    languages=self.appbuilder.languages)

    @expose("/settings", methods=["POST"])
    @has_access
    def save_settings(self):
        locale = request.form.get("locale") or None
        if locale not in (None, *record.LOCALES):
            flash(_("Choose one of the languages offered."), "danger")
            return self.render_template("notify/settings.html", languages=self.appbuilder.languages,
                                        prefs=record.preferences(db.session, g.user.id)), 422
        record.set_preferences(db.session, g.user.id, email=request.form.get("email") == "1",
                               digest=request.form.get("digest") == "1", locale=locale)
        flash(_("Your notification settings are saved."), "success")
        return redirect("/notifications/settings")
