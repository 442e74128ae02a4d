"""A cycle's due dates on the cycle page: every reader sees them with whether each is near or past; HR
sets them (POST /cycles/<id>/deadlines; an empty field removes a date). The partial
``templates/appraisal/_deadlines.html`` asks ``cycle_deadlines(cycle_id)`` for what to show."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..models import Cycle
from ..services import deadlines
from ..services.errors import ServiceError
from ..web.context import current_caller, row_or_none
from .appraisal import CycleView
from .base import flash_error


class DeadlineView(BaseView):
    route_base = "/cycles"
    class_permission_name = p.CYCLE
    method_permission_name = {"save": p.WRITE}
    # The due dates live on the cycle page: no menu entry of their own.
    show_in_menu = False

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        blueprint.add_app_template_global(cycle_deadlines, "cycle_deadlines")
        return blueprint

    @expose("/<int:pk>/deadlines", methods=["POST"])
    @has_access
    def save(self, pk: int):
        """HR sets the cycle's due dates from the form: one field per step, YYYY-MM-DD or empty."""
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            abort(404)
        try:
            dates = deadlines.parse({s: request.form[s] for s in deadlines.STATES if s in request.form})
            deadlines.set_deadlines(db.session, cycle.id, current_caller(), dates)
        except ServiceError as exc:
            # the cycle page again, the dates as typed
            db.session.rollback()
            status = flash_error(exc)
            cycles = next(v for v in self.appbuilder.baseviews if isinstance(v, CycleView))
            return cycles.page(cycle, "deadlines", status)
        flash(_("Due dates saved."), "success")
        return redirect(url_for("CycleView.show", pk=cycle.id) + "#jx-deadlines")


def cycle_deadlines(cycle_id: int) -> list[dict]:
    """Each step that may have a due date: its label, the local day (None: no date), the moment it ends
    and whether it is near (``soon``) or past (``overdue``)."""
    due = deadlines.due_map(db.session, [cycle_id])
    at = clock.now()
    out = []
    for state in deadlines.STATES:
        due_at = due.get((cycle_id, state))
        out.append({"state": state, "label": str(deadlines.LABELS[state]),
                    "day": clock.to_local(due_at).date() if due_at else None, "due_at": due_at,
                    "status": deadlines.due_status(due_at, at)})
    return out
