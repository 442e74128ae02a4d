"""A cycle's due dates over REST: ``GET /api/v1/deadline/<cycle_id>`` for everyone who reads cycles,
``PUT`` for HR with ``{"pending_review": "2026-12-10", "approved": null, …}`` (the steps named are set,
null removes one, the others keep theirs)."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..models import Cycle
from ..services import deadlines
from ..services.errors import ServiceError
from ..web.context import current_caller, row_or_none
from .base import service_error


class DeadlineApi(BaseApi):
    resource_name = "deadline"
    class_permission_name = p.CYCLE
    method_permission_name = {"get": p.READ, "put": p.WRITE}
    allow_browser_login = True
    openapi_spec_tag = "Deadline"

    def response_404(self):
        return self.response(404, message=_("Not found."))

    @expose("/<int:cycle_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def get(self, cycle_id: int):
        """The cycle's due dates.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: cycle_id
          responses:
            200:
              description: '{"cycle_id", "deadlines": {step: {"date": "YYYY-MM-DD" (the local day),
                "due_at" (its end, ISO 8601 with the offset of JIXIAO_TIMEZONE), "status": "soon",
                "overdue" or null}}}; a step without a due date is left out'
            404:
              $ref: '#/components/responses/404'
        """
        cycle = row_or_none(Cycle, cycle_id)
        if cycle is None:
            return self.response_404()
        return self.response(200, **_body(cycle.id, deadlines.due_map(db.session, [cycle.id])))

    @expose("/<int:cycle_id>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, cycle_id: int):
        """Set or remove due dates (HR): the steps named are set, ``null`` removes one, the others keep
        theirs. Steps: draft, pending_review, pending_second_review, approved, disputed.
        ---
        put:
          parameters:
          - in: path
            schema:
              type: integer
            name: cycle_id
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties:
                    type: string
                    format: date
                    nullable: true
          responses:
            200:
              description: the cycle's due dates afterwards, as GET answers them
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        cycle = row_or_none(Cycle, cycle_id)
        if cycle is None:
            return self.response_404()
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        try:
            due = deadlines.set_deadlines(db.session, cycle.id, current_caller(), deadlines.parse(data))
        except ServiceError as exc:
            return service_error(self, exc)
        return self.response(200, **_body(cycle.id, due))


def _body(cycle_id: int, due: dict) -> dict:
    at = clock.now()
    return {"cycle_id": cycle_id, "deadlines": {
        state: {"date": clock.local_date_text(due_at), "due_at": clock.local_iso(due_at),
                "status": deadlines.due_status(due_at, at)}
        for (_, state), due_at in sorted(due.items(), key=lambda item: deadlines.STATES.index(item[0][1]))
    }}
