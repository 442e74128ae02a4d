"""REST APIs for source data: imports, the work order / survey / cost lists, metrics.

    POST /api/v1/import/<kind>          multipart ``file``; ``?update=1`` replaces existing keys; a file
                                        above JIXIAO_IMPORT_BACKGROUND_MB: 202 {"job_id"}, a job imports it
    GET  /api/v1/workorder/ (survey/, laborcost/)   FAB lists, scoped, with FAB filters
    GET  /api/v1/metrics/<employee_no>?start=YYYY-MM-DD&end=YYYY-MM-DD[&tags=新技术,增值服务]
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext as _
from sqlalchemy import select

from .. import permissions as p
from ..extensions import db
from ..hardening import error_response
from ..importing import KINDS, ImportRejected, import_file
from ..jobs import imports
from ..metrics import compute_metrics
from ..models import Employee, LaborCost, Survey, WorkOrder
from ..scoping import scope_clause
from ..web.context import current_caller
from ..web.datamodel import interface
from ..web.labels import LABOR_COST_LABELS, SURVEY_LABELS, WORK_ORDER_LABELS
from ..web.periods import parse_period
from .base import DirectListApi


class _ReadOnlyApi(DirectListApi):
    """Imported data changes through imports only; writes answer 403 (after FAB's own permission
    check, so a role without write permission sees FAB's usual answer)."""

    def _refuse(self):
        return self.response_403(message=_("Source data changes through imports only."))

    def post_headless(self):
        return self._refuse()

    def put_headless(self, pk):
        return self._refuse()

    def delete_headless(self, pk):
        return self._refuse()

    def response_403(self, message=None):
        return self.response(403, message=message or _("You are not allowed to do this."))


class WorkOrderApi(_ReadOnlyApi):
    resource_name = "workorder"
    class_permission_name = p.WORK_ORDER
    datamodel = interface(WorkOrder)
    label_columns = WORK_ORDER_LABELS
    list_columns = show_columns = [
        "id", "order_no", "station_code", "station_id", "technician_no", "technician_id", "customer_type",
        "reported_at", "responded_at", "arrived_at", "completed_at", "first_time_fixed", "rework_of",
        "parts_cost", "labor_hours", "service_fee", "sla_response_hours", "parts_delay", "tags",
        "response_hours", "repair_hours",
    ]
    add_columns = edit_columns = ["order_no"]
    search_columns = [
        "order_no", "station_code", "station_id", "technician_no", "technician_id", "customer_type",
        "reported_at", "completed_at", "first_time_fixed", "rework_of", "parts_delay", "tags",
    ]
    order_columns = ["id", "order_no", "station_code", "technician_no", "reported_at", "completed_at"]


class SurveyApi(_ReadOnlyApi):
    resource_name = "survey"
    class_permission_name = p.SURVEY
    datamodel = interface(Survey)
    label_columns = SURVEY_LABELS
    list_columns = show_columns = [
        "id", "order_no", "order_id", "technician_id", "station_id", "surveyed_at", "attitude", "quality",
        "speed", "comment",
    ]
    add_columns = edit_columns = ["order_no"]
    search_columns = [
        "order_no", "technician_id", "station_id", "surveyed_at", "attitude", "quality", "speed",
    ]
    order_columns = ["id", "order_no", "surveyed_at"]


class LaborCostApi(_ReadOnlyApi):
    resource_name = "laborcost"
    class_permission_name = p.LABOR_COST
    datamodel = interface(LaborCost)
    label_columns = LABOR_COST_LABELS
    list_columns = show_columns = [
        "id", "employee_no", "employee_id", "station_id", "month", "salary", "training_cost",
        "other_labor_cost",
    ]
    add_columns = edit_columns = ["employee_no"]
    search_columns = ["employee_no", "employee_id", "station_id", "month"]
    order_columns = ["id", "employee_no", "month"]


class ImportApi(BaseApi):
    resource_name = "import"
    class_permission_name = p.IMPORT
    method_permission_name = {"post_file": p.WRITE}
    openapi_spec_tag = "Import"

    @expose("/<kind>", methods=["POST"])
    @protect()
    @safe
    def post_file(self, kind: str):
        """Import a file of source data, whole or not at all.
        ---
        post:
          summary: Import work orders, surveys, labour costs or employees (CSV UTF-8/GBK or .xlsx)
          description: >
            A file up to JIXIAO_IMPORT_BACKGROUND_MB (default 10 MB) is imported in the request: 200 with
            the counts, or 422 with every problem. A larger file (work orders, surveys, costs; employees
            always in the request) is saved and imported by a background job: 202 with the job's id;
            `GET /api/v1/job/{job_id}` follows it, and its `result` holds `inserted` and `updated`, or
            `errors` and `error_count` (the job failed, nothing was imported; `result_url` is the CSV
            report of the problems).
          parameters:
          - in: path
            name: kind
            required: true
            schema:
              type: string
              enum: [work-orders, surveys, costs, employees]
          - in: query
            name: update
            schema:
              type: string
              enum: ["0", "1"]
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    file:
                      type: string
                      format: binary
          responses:
            200:
              description: Imported
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      inserted: {type: integer}
                      updated: {type: integer}
            202:
              description: A large file; a background job imports it
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      job_id: {type: integer}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            422:
              description: Refused; nothing changed
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      errors:
                        type: array
                        items:
                          type: object
                          properties:
                            row: {type: integer, nullable: true}
                            column: {type: string, nullable: true}
                            message: {type: string}
        """
        if kind not in KINDS:
            return error_response(404)
        upload = request.files.get("file")
        if upload is None:
            return error_response(400, _("Send the file as the multipart field “file”."))
        update = request.args.get("update") == "1"
        if imports.in_background(kind, imports.upload_size(upload.stream, request.content_length)):
            path = imports.save_upload(upload.stream, upload.filename)
            job = imports.start_import(db.session, kind, path, update, current_caller(), upload.filename)
            return self.response(202, job_id=job.id)
        try:
            result = import_file(db.session, kind, upload.stream, update=update)
        except ImportRejected as exc:
            return self.response(422, errors=exc.errors)
        return self.response(200, **result.to_dict())


class MetricsApi(BaseApi):
    resource_name = "metrics"
    class_permission_name = p.METRICS
    method_permission_name = {"get_metrics": p.READ}
    openapi_spec_tag = "Metrics"

    @expose("/<employee_no>", methods=["GET"])
    @protect()
    @safe
    def get_metrics(self, employee_no: str):
        """The built-in metrics of one employee for a period.
        ---
        get:
          summary: Metrics of an employee for a period (dates inclusive)
          parameters:
          - in: path
            name: employee_no
            required: true
            schema: {type: string}
          - in: query
            name: start
            required: true
            schema: {type: string, format: date}
          - in: query
            name: end
            required: true
            schema: {type: string, format: date}
          - in: query
            name: tags
            description: comma-separated tag words to count (TAGGED)
            schema: {type: string}
          responses:
            200:
              description: The metrics; null where there is no data (N/A)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      employee_no: {type: string}
                      start: {type: string}
                      end: {type: string}
                      metrics:
                        type: object
                        additionalProperties: {type: number, nullable: true}
                      station_metrics:
                        type: object
                        additionalProperties: {type: number, nullable: true}
                      tags:
                        type: object
                        additionalProperties: {type: integer}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        employee = db.session.execute(
            select(Employee.id, Employee.station_id)
            .where(Employee.employee_no == employee_no, scope_clause(Employee))).first()
        if employee is None:
            return error_response(404)
        if not request.args.get("start") or not request.args.get("end"):
            return error_response(400, _("Give the period as start=YYYY-MM-DD and end=YYYY-MM-DD."))
        try:
            start, end = parse_period(request.args)
        except ValueError as exc:
            return error_response(400, str(exc))
        words = [w.strip() for w in request.args.get("tags", "").split(",") if w.strip()][:20]
        result = compute_metrics(db.session, start, end, employee_ids=[employee.id], tag_words=words)
        return self.response(
            200, employee_no=employee_no, start=start.isoformat(), end=end.isoformat(),
            metrics=result.employees[employee.id],
            station_metrics=result.stations.get(employee.station_id, {}),
            tags=result.tags[employee.id],
        )
