"""REST API of cycles: list, show, create, compute (a background job, answered at once with its id;
its progress for the screens), and publish the results (HR)."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import clock
from .. import permissions as p
from ..extensions import db
from ..jobs import JobRunning
from ..jobs.compute import compute_progress, start_compute
from ..locales import current_locale
from ..models import Cycle
from ..scoping import current_scope
from ..services import publication
from ..services.compute import CycleError
from ..services.cycles import create_cycle, state_counts, submit_drafts
from ..services.errors import ServiceError
from ..web.context import MAX_COMMENT, current_caller, row_or_none
from ..web.datamodel import interface
from ..web.periods import parse_date
from ..workflow import Refusal
from .appraisal import bulk_results
from .base import JixiaoModelRestApi, error_body, service_error

CYCLE_LABELS = {
    "name": _l("Cycle"),
    "start": _l("Start"),
    "end": _l("End"),
    "stations": _l("Stations"),
    "status": _l("Status"),
    "rule_set_version": _l("Rule-set version"),
    "computed_at": _l("Computed at"),
    "created_at": _l("Created at"),
    "published_at": _l("Published at"),
    "id": _l("ID"),
    "rule_set_version_id": _l("Rule-set version"),
    "stations.code": _l("Station codes"),
}


class CycleApi(JixiaoModelRestApi):
    resource_name = "cycle"
    class_permission_name = p.CYCLE
    datamodel = interface(Cycle)
    base_filters = []  # cycles are not personal: everyone sees which exist
    method_permission_name = {
        **p.METHOD_PERMISSIONS, "compute": p.WRITE, "progress": p.READ, "submit": p.WRITE, "publish": p.WRITE,
    }
    include_route_methods = {"get", "get_list", "info", "post", "compute", "progress", "submit", "publish"}
    label_columns = CYCLE_LABELS
    list_columns = show_columns = [
        "id", "name", "start", "end", "status", "rule_set_version_id", "computed_at", "created_at",
        "published_at", "stations.code",
    ]
    search_columns = ["name", "start", "end", "status"]
    order_columns = ["id", "name", "start", "end"]
    base_order = ("id", "desc")

    def response_404(self):
        return self.response(404, message=_("Not found."))

    def pre_get_list(self, data: dict) -> None:
        for item in data.get("result", []):
            self._flatten(item)

    def pre_get(self, data: dict) -> None:
        item = self._flatten(data.get("result", {}))
        if data.get("id") is not None:
            item["appraisals"] = state_counts(db.session, data["id"], current_scope())
            cycle = db.session.get(Cycle, data["id"])
            if cycle is not None and current_scope().everything and cycle.published_at is not None:
                # who published and why over the policy: HR's (and auditors') to read
                item["published_by"] = cycle.published_by
                item["publish_override_reason"] = cycle.publish_override_reason
                item["publication"] = cycle.publication

    @staticmethod
    def _flatten(item: dict) -> dict:
        if isinstance(item.get("stations"), list):
            item["stations"] = [s.get("code") for s in item["stations"] if isinstance(s, dict)]
        if item.get("published_at"):  # ISO 8601 with the configured time zone's offset
            item["published_at"] = clock.local_iso(item["published_at"])
        return item

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """Create a cycle: {"name", "start", "end", "stations": [codes], "compute": bool}.

        With ``"compute": true`` the new cycle's compute is started at once, as ``POST /cycle/<id>/compute``
        starts it; the answer's ``compute`` holds what that call answers: ``{"job_id"}`` (follow it at
        ``GET /api/v1/job/<id>``), or ``{"message"}`` when it could not be started.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    name:
                      type: string
                    start:
                      type: string
                      format: date
                    end:
                      type: string
                      format: date
                    stations:
                      type: array
                      items:
                        type: string
                    compute:
                      type: boolean
          responses:
            201:
              description: 'the new cycle (id, name) and, when asked to compute, the answer of the compute
                under compute: {"job_id"}'

            400:
              $ref: '#/components/responses/400'
            422:
              $ref: '#/components/responses/422'
        """
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return self.response_400(message=_("Send a JSON object."))
        try:
            start, end = parse_date(data.get("start")), parse_date(data.get("end"))
        except ValueError:
            return self.response_422(message=_("Dates are written YYYY-MM-DD."))
        stations = data.get("stations") or []
        name = data.get("name")
        if not isinstance(name, str) or not isinstance(stations, list) or not all(
                isinstance(s, str) and len(s) <= 32 for s in stations) or len(stations) > 1000:
            return self.response_422(message=_("Give a name and a list of station codes."))
        compute = data.get("compute", False)
        if not isinstance(compute, bool):
            return self.response_422(message=_("“compute” is true or false."))
        try:
            cycle = create_cycle(db.session, name, start, end, stations)
        except CycleError as exc:
            return self.response_422(message=exc.message)
        created = {"id": cycle.id, "name": cycle.name}
        if compute:
            created["compute"] = self._compute(cycle, data)[1]
        return self.response(201, **created)

    @expose("/<int:pk>/compute", methods=["POST"])
    @protect()
    @safe
    @permission_name("compute")
    def compute(self, pk: int):
        """Compute (or recompute) a cycle: a background job, started now; answers 202 {"job_id"} at once.
        Follow the job at ``GET /api/v1/job/<id>`` (or the cycle's ``progress``). ``{"rebind": true}``
        moves a computed cycle to the rule set published now.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    rebind:
                      type: boolean
          responses:
            202:
              description: '{"job_id"}: the compute was started; its result (what was created, changed,
                locked) is the result of that job'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: '{"message", "job_id"}: a compute of this cycle is unfinished (that job)'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        data = request.get_json(silent=True) if request.data else {}
        status, body = self._compute(cycle, data if isinstance(data, dict) else {})
        return self.response(status, **body)

    @staticmethod
    def _compute(cycle: Cycle, data: dict) -> tuple[int, dict]:
        """Start computing ``cycle`` in the signed-in person's name (``rebind`` as the request asks):
        (202, the job) or (409, the unfinished compute's job)."""
        try:
            job = start_compute(db.session, cycle, current_caller(), rebind=data.get("rebind") is True)
        except JobRunning as exc:
            return 409, error_body(exc, current_locale())  # its message and job_id
        return 202, {"job_id": job.id}

    @expose("/<int:pk>/progress", methods=["GET"])
    @protect()
    @safe
    @permission_name("progress")
    def progress(self, pk: int):
        """The cycle's compute, from its latest compute job: ``running`` (queued, running or retrying),
        ``state``, ``stage``, ``done``, ``total``, ``error`` (a failed compute's sentence), ``interrupted``
        (its worker vanished: it is tried again), ``job_id``, ``job`` (the job as ``GET /api/v1/job/<id>``
        shows it, to its owner and HR), ``status``, ``computed_at`` and the counts of the caller's
        appraisals by state.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: running, state, stage, done, total, error, interrupted, job_id, job, status,
                computed_at, appraisals
            404:
              $ref: '#/components/responses/404'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        shown = compute_progress(db.session, cycle, current_caller(), current_locale())  # the job first
        counts = state_counts(db.session, cycle.id, current_scope())
        return self.response(200, **shown, appraisals=counts)

    @expose("/<int:pk>/submit", methods=["POST"])
    @protect()
    @safe
    @permission_name("submit")
    def submit(self, pk: int):
        """Submit the cycle's drafts for review (HR), each through every check of the workflow.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    comment:
                      type: string
          responses:
            200:
              description: per appraisal id, the status and the new state or the reason; the counts; how
                many drafts remain (at most 1,000 are submitted per call)
            400:
              $ref: '#/components/responses/400'
            404:
              $ref: '#/components/responses/404'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        data = request.get_json(silent=True) if request.data else {}
        comment = data.get("comment") if isinstance(data, dict) else None
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
            return self.response_400(message=_("The comment must be text of at most 4,000 characters."))
        person = current_caller()
        outcomes, remaining = submit_drafts(db.session, cycle.id, person, comment)
        return self.response(200, **bulk_results(outcomes), remaining=remaining)

    @expose("/<int:pk>/publish", methods=["POST"])
    @protect()
    @safe
    @permission_name("publish")
    def publish(self, pk: int):
        """Publish the cycle's results (HR): employees see their approved results from now on, and may
        dispute them within the workflow's window. A distribution that breaks the rule set's policy is
        refused (409, each breach named under ``breaches``) unless ``override_reason`` says why.
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    override_reason:
                      type: string
                      description: why the results are published although the policy is breached
          responses:
            200:
              description: '{"published_at"}: ISO 8601 with the offset of the configured time zone'
            400:
              $ref: '#/components/responses/400'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: 'published already, or {"code": "POLICY_BREACHED", "message", "breaches":
                [{"scope", "grade", "kind", "limit", "count", "headcount", "share", "allowed", "message"}]}'
            422:
              $ref: '#/components/responses/422'
        """
        cycle = row_or_none(Cycle, pk)
        if cycle is None:
            return self.response_404()
        data = request.get_json(silent=True) if request.data else {}
        reason = data.get("override_reason") if isinstance(data, dict) else None
        if not isinstance(data, dict) or (reason is not None and (
                not isinstance(reason, str) or len(reason) > MAX_COMMENT)):
            return self.response_400(message=_("Send a JSON object; “override_reason” is text of at most "
                                               "4,000 characters."))
        try:
            published = publication.publish(db.session, cycle.id, current_caller(), reason)
        except (ServiceError, Refusal) as exc:
            return service_error(self, exc)
        return self.response(200, published_at=clock.local_iso(published.published_at))
