"""REST API of appraisals: list and show (scoped), the actions open to the caller, transitions,
review edits, bulk approval, amendment and the inbox. Each endpoint parses, calls a service and maps
errors by their kind (``app.api.base.service_error``): not found 404, refused 403 (the reason in the caller's
language and its code), conflict 409, invalid input 422.

``GET /api/v1/appraisal/<id>`` carries the ``trail``, oldest first: each step's ``when``, ``who``,
``action``, ``from``, ``to`` (labels in the reader's language) and ``comment``, and beside them the
workflow table's codes ``action_code``, ``from_code`` (null for the compute that created it) and
``to_code``; reviewers and HR also read each comment's ``visibility``.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..locales import current_locale
from ..models import Appraisal
from ..services import appraisals, workflows
from ..services import transitions as tr
from ..services.bilingual import in_language
from ..services.document import trail, trail_rows
from ..services.errors import ServiceError, kind_of
from ..services.inbox import inbox as inbox_items
from ..services.inbox import parse_filters
from ..services.review import review as review_appraisal
from ..web.context import MAX_COMMENT, current_caller
from ..web.datamodel import interface
from ..web.labels import APPRAISAL_LABELS
from ..workflow import CALIBRATE, Refusal
from .appraisal_list import AppraisalList
from .base import STATUS, JixiaoModelRestApi, service_error

MAX_BULK = 500


def transition_dict(table, t) -> dict:
    loc = current_locale()
    return {"action": t.action, "label": table.action_label(t.action, loc), "to": t.target,
            "to_label": table.state_label(t.target, loc), "comment_required": t.comment_required,
            "comment_visibility": t.comment_visibility,
            # calibrate is taken through the calibration API (a new version), not /transition
            "via": "calibration" if t.action == CALIBRATE else "transition"}


def bulk_results(outcomes: list[tr.BulkOutcome]) -> dict:
    """A bulk action's answer: per id its status and new state or the reason, and the two counts."""
    results = []
    for outcome in outcomes:
        entry = {"id": outcome.id, "status": 200 if outcome.ok else STATUS[kind_of(outcome.error)],
                 "ok": outcome.ok}
        if outcome.state:
            entry["state"] = outcome.state
        reason = outcome.reason(current_locale())
        if reason is not None:
            entry["message"] = reason
        if outcome.refusal is not None:
            entry["code"] = outcome.refusal.code
        results.append(entry)
    return {"results": results, "succeeded": sum(r["ok"] for r in results),
            "failed": sum(not r["ok"] for r in results)}


def _text(value, limit: int = MAX_COMMENT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError
    return value


class AppraisalApi(AppraisalList, JixiaoModelRestApi):
    resource_name = "appraisal"
    class_permission_name = p.APPRAISAL
    datamodel = interface(Appraisal)
    method_permission_name = {
        **p.METHOD_PERMISSIONS,
        "actions": p.READ, "inbox": p.READ,
        "transition": p.WRITE, "review": p.WRITE, "bulk_transition": p.WRITE, "amend": p.WRITE,
    }
    exclude_route_methods = {"post"}  # appraisals are computed, never posted
    label_columns = {
        **APPRAISAL_LABELS, "id": _l("ID"), "cycle.name": _l("Cycle"),
        "employee.employee_no": _l("Employee number"), "employee.name": _l("Employee name"),
        "station.code": _l("Station code"), "snapshot": _l("Snapshot"),
        "manual": _l("Values entered by hand"), "snapshot_hash": _l("Snapshot hash"),
    }
    list_columns = [
        "id", "cycle.name", "employee.employee_no", "employee.name", "station.code", "state", "total",
        "subtotal", "adjustment", "grade", "version", "is_current", "snapshot",
    ]
    show_columns = list_columns + ["adjustment_reason", "manual", "snapshot_hash", "computed_at"]
    search_columns = ["cycle", "employee", "station", "state", "grade", "is_current", "total"]
    order_columns = ["id", "state", "total", "grade", "version"]
    base_order = ("id", "asc")

    def response_404(self):
        return self.response(404, message=_("Not found."))

    def pre_get(self, data: dict) -> None:
        appraisal = db.session.get(Appraisal, data.get("id"))
        item = data.get("result", {})
        if appraisal is not None and isinstance(item.get("snapshot"), dict):
            item["snapshot"] = in_language(db.session, appraisal, item["snapshot"], current_locale())
        data["result"] = self._reshape(item)
        if appraisal is not None:
            table = workflows.workflow_table(db.session, appraisal.rule_set_version_id)
            data["result"]["state_label"] = table.state_label(appraisal.state.value, current_locale())
            # The appraised employee reads the shared comments only; reviewers and HR both, marked.
            internal = appraisals.sees_internal(current_caller(), appraisal)
            events = trail(db.session, appraisal, table, current_locale(), internal=internal)
            data["result"]["trail"] = trail_rows(events, internal)

    def _refuse_change(self, pk):
        try:
            appraisals.load(db.session, pk, current_caller())
        except ServiceError as exc:
            return service_error(self, exc)
        return self.response(403, message=_("Appraisals change only through the workflow."))

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Appraisals are not edited directly.
        ---
        put:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        return self._refuse_change(pk)

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Appraisals are never deleted.
        ---
        delete:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        return self._refuse_change(pk)

    @expose("/<int:pk>/actions", methods=["GET"])
    @protect()
    @safe
    @permission_name("actions")
    def actions(self, pk: int):
        """The actions the caller may take now.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: state, actions, who may act next (waiting_for) and the seats of a
                countersigned step (countersign, {"done", "needed"}, or null)
            404:
              $ref: '#/components/responses/404'
        """
        try:
            person = current_caller()
            appraisal, table, allowed, waiting = appraisals.actions_for(db.session, pk, person)
            seats = appraisals.countersign_status(table, appraisals.load(db.session, pk, person)[1])
        except ServiceError as exc:
            return service_error(self, exc)
        return self.response(200, state=appraisal.state.value,
                             state_label=table.state_label(appraisal.state.value, current_locale()),
                             actions=[transition_dict(table, t) for t in allowed], waiting_for=waiting,
                             countersign={"done": seats[0], "needed": seats[1]} if seats else None)

    @expose("/<int:pk>/transition", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int):
        """Take an action: 200 {"state"}; 403 not allowed (with the reason); 404; 409; 422 comment missing
        or a visibility other than "shared" (the employee reads the comment) or "internal" (reviewers
        and HR only); without one the workflow table's default for the step applies.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    action:
                      type: string
                    comment:
                      type: string
                    visibility:
                      type: string
                      enum: [shared, internal]
                      description: who reads the comment; the workflow table's default when left out
                    state:
                      type: string
                      description: the state the caller saw; another state answers 409
          responses:
            200:
              description: the new state
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: changed meanwhile
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("action"), str):
            return self.response_400(message=_("Send a JSON object with an “action”."))
        try:
            comment = _text(data.get("comment"))
            expected = _text(data.get("state"), 64)
        except ValueError:
            return self.response_400(message=_("The comment must be text of at most 4,000 characters."))
        visibility = data.get("visibility")
        if visibility is not None and not isinstance(visibility, str):
            visibility = repr(visibility)  # the workflow refuses it by name (422)
        try:
            state = tr.transition(db.session, pk, current_caller(), data["action"][:64], comment,
                                  expected_state=expected, visibility=visibility)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, state=state)

    @expose("/<int:pk>/review", methods=["POST"])
    @protect()
    @safe
    @permission_name("review")
    def review(self, pk: int):
        """The supervisor's review: manual indicator values and an adjustment (±10, with a reason).
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    manual:
                      type: object
                      additionalProperties:
                        type: number
                        nullable: true
                    adjustment:
                      type: number
                    reason:
                      type: string
                    hash:
                      type: string
          responses:
            200:
              description: the recomputed total
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: changed meanwhile
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        manual = data.get("manual") or {}
        if not isinstance(manual, dict) or len(manual) > 100:
            return self.response_400(message=_("“manual” must map indicator codes to numbers."))
        try:
            reason = _text(data.get("reason"))
            expected = _text(data.get("hash"), 64)
        except ValueError:
            return self.response_400(message=_("The reason must be text of at most 4,000 characters."))
        try:
            appraisal = review_appraisal(db.session, pk, current_caller(), manual=manual,
                                  adjustment=data.get("adjustment"), reason=reason, expected_hash=expected)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, state=appraisal.state.value, subtotal=appraisal.subtotal,
                             adjustment=appraisal.adjustment, total=appraisal.total, grade=appraisal.grade,
                             hash=appraisal.snapshot_hash)

    @expose("/bulk-transition", methods=["POST"])
    @protect()
    @safe
    @permission_name("bulk_transition")
    def bulk_transition(self):
        """The same action on many appraisals (bulk approve); each one through every check.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    ids:
                      type: array
                      items:
                        type: integer
                    action:
                      type: string
                    comment:
                      type: string
                    visibility:
                      type: string
                      enum: [shared, internal]
          responses:
            200:
              description: per id, the status and the new state or the reason
            400:
              $ref: '#/components/responses/400'
        """
        data = request.get_json(silent=True)
        ids = data.get("ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            return self.response_400(message=_("Send “ids”, a list of at most 500 appraisal ids."))
        action = data.get("action", "approve")
        try:
            comment = _text(data.get("comment"))
            if not isinstance(action, str):
                raise ValueError
        except ValueError:
            return self.response_400(message=_("The comment must be text of at most 4,000 characters."))
        ids = list(dict.fromkeys(ids))
        visibility = data.get("visibility")
        if visibility is not None and not isinstance(visibility, str):
            visibility = repr(visibility)
        outcomes = tr.bulk_transition(db.session, ids, current_caller(), action[:64], comment, visibility)
        return self.response(200, **bulk_results(outcomes))

    @expose("/<int:pk>/amend", methods=["POST"])
    @protect()
    @safe
    @permission_name("amend")
    def amend(self, pk: int):
        """HR's amendment of an approved or signed appraisal: a new version, back to review.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reason:
                      type: string
          responses:
            201:
              description: the new version
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: changed meanwhile
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        try:
            reason = _text(data.get("reason"))
        except ValueError:
            return self.response_400(message=_("The reason must be text of at most 4,000 characters."))
        try:
            new = tr.amend_appraisal(db.session, pk, current_caller(), reason or "")
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(201, id=new.id, version=new.version, state=new.state.value, total=new.total)

    @expose("/inbox", methods=["GET"])
    @protect()
    @safe
    @permission_name("inbox")
    def inbox(self):
        """The caller's inbox: current appraisals waiting for an action of theirs, searched, filtered
        and sorted as the inbox screen does.
        ---
        get:
          parameters:
          - {in: query, name: q, schema: {type: string}, description: a part of an employee number or name}
          - {in: query, name: cycle, schema: {type: integer}}
          - {in: query, name: station, schema: {type: integer}}
          - {in: query, name: state, schema: {type: string}}
          - {in: query, name: due, schema: {type: string, enum: [overdue, soon]}}
          - {in: query, name: sort, schema: {type: string, enum: [due, employee, cycle, total, state, -due,
              -employee, -cycle, -total, -state]}}
          responses:
            200:
              description: count and result
            422:
              $ref: '#/components/responses/422'
        """
        try:
            items = inbox_items(db.session, current_caller(), **parse_filters(request.args))
        except ServiceError as exc:
            return service_error(self, exc)
        result = [{
            "id": i.id, "cycle": i.cycle, "cycle_id": i.cycle_id, "employee_no": i.employee_no,
            "employee_name": i.employee_name, "station": i.station, "state": i.state, "total": i.total,
            "grade": i.grade, "actions": [t.action for t in i.actions], "waiting_for": i.waiting,
            "due_at": clock.local_iso(i.due_at), "due_status": i.due_status,
            "acting_for": i.acting_for,
            "countersign": {"done": i.countersign[0], "needed": i.countersign[1]} if i.countersign else None,
        } for i in items]
        return self.response(200, count=len(result), result=result)
