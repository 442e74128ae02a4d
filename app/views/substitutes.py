"""Substitutes (/substitutes/): who stands in for me, and for whom I stand in; HR sees them all and names
one for anybody. Thin: parse the form, call the service, flash the outcome."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..models import Employee
from ..services import substitutes
from ..services.errors import ServiceError
from ..web.context import current_caller
from ..workflow import MAX_COMMENT, Refusal
from .base import flash_error


def _people(hr: bool, me: int | None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The choices of the form: (principals, substitutes) as (user id, "username name"); principals are
    HR's to choose (supervisors and station managers), everyone else names their own."""
    rows = db.session.execute(
        select(User, Employee.name).outerjoin(Employee, Employee.user_id == User.id)
        .where(User.active.is_(True)).order_by(User.username)).all()

    def label(user, name):
        return f"{user.username} {name or ''}".strip()

    principals = [(u.id, label(u, n)) for u, n in rows
                  if hr and {r.name for r in u.roles} & {p.SUPERVISOR, p.STATION_MANAGER}]
    return principals, [(u.id, label(u, n)) for u, n in rows if u.id != me]


class SubstituteView(BaseView):
    route_base = "/substitutes"
    class_permission_name = p.DELEGATION
    method_permission_name = {"index": p.READ, "create": p.WRITE, "revoke": p.WRITE}
    default_view = "index"
    # True once the screen is ready for the menu (app/views/__init__.py adds its entries then).
    show_in_menu = True

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        return self._page()

    def _page(self, typed: dict | None = None, status: int = 200):
        """The screen; after a refused form, that form as typed (``typed``), answered with ``status``."""
        person = current_caller()
        me = person.actor.user_id
        hr = p.HR in person.actor.roles
        items = substitutes.list_for(db.session, person)
        principals, candidates = _people(hr, me)
        return self.render_template(
            "delegation/substitutes.html", hr=hr, me=me, principals=principals, candidates=candidates,
            mine=[i for i in items if i.principal_user_id == me],
            for_others=[i for i in items if i.substitute_user_id == me and i.principal_user_id != me],
            others=[i for i in items if me not in (i.principal_user_id, i.substitute_user_id)],
            today=clock.local_today(), max_days=substitutes.MAX_DAYS, max_comment=MAX_COMMENT,
            typed=typed or {}), status

    @expose("/create", methods=["POST"])
    @has_access
    def create(self):
        form = request.form
        try:
            item = substitutes.create(
                db.session, current_caller(), form.get("principal_user_id") or None,
                form.get("substitute_user_id"), form.get("starts_on", ""), form.get("ends_on", ""),
                form.get("reason", ""))
        except (ServiceError, Refusal) as exc:
            db.session.rollback()
            return self._page(typed=form, status=flash_error(exc))
        flash(_("%(substitute)s stands in for %(principal)s from %(first)s to %(last)s.",
                substitute=item.substitute, principal=item.principal, first=item.starts_on.isoformat(),
                last=item.ends_on.isoformat()), "success")
        return redirect(url_for("SubstituteView.index"))

    @expose("/<int:pk>/revoke", methods=["POST"])
    @has_access
    def revoke(self, pk: int):
        try:
            item = substitutes.revoke(db.session, current_caller(), pk)
        except (ServiceError, Refusal) as exc:
            flash_error(exc)
        else:
            flash(_("%(substitute)s no longer stands in for %(principal)s.", substitute=item.substitute,
                    principal=item.principal), "success")
        return redirect(url_for("SubstituteView.index"))
