"""Notifications over REST: the caller's list and unread count, marking read, and the preferences
(/api/v1/notification/).

* ``GET /api/v1/notification/?unread=1&page=0``: the caller's notifications, newest first, 50 a page,
  each rendered in the caller's language (``count``, ``result``).
* ``GET /api/v1/notification/unread``: ``{"unread": n}``.
* ``POST /api/v1/notification/read`` with ``{"ids": [...]}`` or ``{"all": true}``: ``{"marked": n}``;
  another person's ids change nothing.
* ``GET/PUT /api/v1/notification/preferences``: ``{"email", "digest", "locale"}``.

Everyone has it and sees only their own. JWT or the browser's session, like the other APIs.
"""

from __future__ import annotations

from flask import g, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _

from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..notify import record, unread_count

MAX_PAGE = 10**6
MAX_IDS = 1000


def _bad(api, message: str):
    return api.response(422, message=message)


class NotificationApi(BaseApi):
    resource_name = "notification"
    class_permission_name = p.NOTIFICATION
    method_permission_name = {"get_list": p.READ, "unread": p.READ, "read": p.WRITE,
                              "get_preferences": p.READ, "put_preferences": p.WRITE}
    allow_browser_login = True
    openapi_spec_tag = "Notification"

    @expose("/", methods=["GET"])
    @protect()
    @permission_name("get_list")
    def get_list(self):
        """The caller's notifications, newest first.
        ---
        get:
          parameters:
          - {in: query, name: unread, schema: {type: integer, enum: [0, 1]}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          responses:
            200: {description: "count and result: id, kind, title, text, link, created_at, read_at, unread"}
            422: {description: a page that is not a whole number}
        """
        raw = request.args.get("page", "0") or "0"
        if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_PAGE:
            return _bad(self, _("The page is a whole number from 0."))
        unread = request.args.get("unread") in ("1", "true")
        notes, count = record.page_of(db.session, g.user.id, unread=unread, page=int(raw))
        locale = current_locale()
        return self.response(200, count=count, page=int(raw), page_size=record.PAGE_SIZE,
                             result=[record.shown(note, locale) for note in notes])

    @expose("/unread", methods=["GET"])
    @protect()
    @permission_name("unread")
    def unread(self):
        """How many of the caller's notifications are unread.
        ---
        get:
          responses:
            200: {description: "unread: a count"}
        """
        return self.response(200, unread=unread_count(db.session, g.user.id))

    @expose("/read", methods=["POST"])
    @protect()
    @permission_name("read")
    def read(self):
        """Mark notifications read: ``{"ids": [1, 2]}`` or ``{"all": true}``.
        ---
        post:
          responses:
            200: {description: "marked: how many changed"}
            422: {description: neither a list of ids nor all}
        """
        body = request.get_json(silent=True)
        if (not isinstance(body, dict) or set(body) not in ({"ids"}, {"all"})
                or body.get("all", True) is not True):
            return _bad(self, _("Send {\"ids\": [...]} or {\"all\": true}."))
        if "all" in body:
            return self.response(200, marked=record.mark_read(db.session, g.user.id))
        ids = body.get("ids")
        if (not isinstance(ids, list) or not ids or len(ids) > MAX_IDS
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids)):
            return _bad(self, _("Send {\"ids\": [...]} or {\"all\": true}."))
        return self.response(200, marked=record.mark_read(db.session, g.user.id, ids))

    @expose("/preferences", methods=["GET"])
    @protect()
    @permission_name("get_preferences")
    def get_preferences(self):
        """The caller's notification preferences.
        ---
        get:
          responses:
            200: {description: "email, digest, locale (null: the system's language)"}
        """
        return self.response(200, **record.preferences(db.session, g.user.id))

    @expose("/preferences", methods=["PUT"])
    @protect()
    @permission_name("put_preferences")
    def put_preferences(self):
        """Change the caller's preferences; the keys left out keep their values.
        ---
        put:
          responses:
            200: {description: the preferences now}
            422: {description: a value of the wrong kind or a language not offered}
        """
        body = request.get_json(silent=True)
        current = record.preferences(db.session, g.user.id)
        if not isinstance(body, dict) or set(body) - {"email", "digest", "locale"}:
            return _bad(self, _("Send email, digest (true or false) and locale."))
        for flag in ("email", "digest"):
            if flag in body and not isinstance(body[flag], bool):
                return _bad(self, _("Send email, digest (true or false) and locale."))
        locale = body.get("locale", current["locale"])
        if locale not in (None, *record.LOCALES):
            return _bad(self, _("Choose one of the languages offered."))
        return self.response(200, **record.set_preferences(
            db.session, g.user.id, email=body.get("email", current["email"]),
            digest=body.get("digest", current["digest"]), locale=locale))
