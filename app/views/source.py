"""Screens for source data: work orders, surveys and labour costs (read-only lists, scoped), the
HR upload screen (a large file is imported by a background job, whose progress the screen follows), and
the metrics of an employee with the drill-down to the orders behind each.

Thin: parse the request, call ``app.importing`` or ``app.metrics``, render.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import permissions as p
from ..extensions import db
from ..importing import KINDS, ImportRejected, import_file
from ..importing.labels import column_label, kind_columns
from ..jobs import JobKind, JobState, job_dict
from ..jobs import imports as background
from ..locales import current_locale
from ..metrics import CODES, compute_metrics, metric_orders
from ..models import Employee, LaborCost, Survey, WorkOrder
from ..scoping import get_or_404, scope_clause
from ..web.context import current_caller
from ..web.datamodel import interface
from ..web.drilldown import left_out, order_counts
from ..web.job_rows import visible_job
from ..web.labels import (
    CUSTOMER_TYPE_LABELS,
    LABOR_COST_LABELS,
    SURVEY_LABELS,
    WORK_ORDER_LABELS,
    hours,
    kind_labels,
    metric_names,
    yes_no,
)
from ..web.periods import parse_period
from .base import JixiaoModelView

_READ_ONLY_ROUTES = {"list", "show"}


class WorkOrderView(JixiaoModelView):
    datamodel = interface(WorkOrder)
    class_permission_name = p.WORK_ORDER
    include_route_methods = _READ_ONLY_ROUTES
    list_title = _l("Work orders")
    show_title = _l("Work order")
    label_columns = WORK_ORDER_LABELS
    list_columns = ["order_no", "station_code", "technician_no", "technician", "customer_type", "reported_at",
                    "completed_at", "first_time_fixed", "rework_of", "tags"]
    show_columns = ["order_no", "station_code", "station", "technician_no", "technician", "customer_type",
                    "reported_at", "responded_at", "arrived_at", "completed_at", "first_time_fixed",
                    "rework_of", "parts_cost", "labor_hours", "service_fee", "sla_response_hours",
                    "parts_delay", "tags", "response_hours", "repair_hours"]
    # Codes rather than relationships: a relationship filter would list every employee's name.
    search_columns = ["order_no", "station_code", "technician_no", "customer_type", "reported_at",
                      "completed_at", "first_time_fixed", "rework_of", "parts_delay", "tags"]
    order_columns = ["order_no", "station_code", "technician_no", "reported_at", "completed_at"]
    base_order = ("id", "desc")  # the latest imported first; cheap on a million rows
    formatters_columns = {
        "customer_type": lambda v: str(CUSTOMER_TYPE_LABELS.get(v, v)),
        "first_time_fixed": yes_no,
        "parts_delay": yes_no,
        "response_hours": hours,
        "repair_hours": hours,
    }


class SurveyView(JixiaoModelView):
    datamodel = interface(Survey)
    class_permission_name = p.SURVEY
    include_route_methods = _READ_ONLY_ROUTES
    list_title = _l("Surveys")
    show_title = _l("Survey")
    label_columns = SURVEY_LABELS
    list_columns = ["order_no", "technician", "station", "surveyed_at", "attitude", "quality", "speed",
                    "comment"]
    show_columns = ["order_no", "order", "technician", "station", "surveyed_at", "attitude", "quality",
                    "speed", "comment"]
    search_columns = ["order_no", "surveyed_at", "attitude", "quality", "speed", "comment"]
    order_columns = ["order_no", "surveyed_at", "attitude", "quality", "speed"]
    base_order = ("surveyed_at", "desc")


class LaborCostView(JixiaoModelView):
    datamodel = interface(LaborCost)
    class_permission_name = p.LABOR_COST
    include_route_methods = _READ_ONLY_ROUTES
    list_title = _l("Labour costs")
    show_title = _l("Labour cost")
    label_columns = LABOR_COST_LABELS
    list_columns = ["employee_no", "employee", "station", "month", "salary", "training_cost",
                    "other_labor_cost"]
    show_columns = list_columns
    search_columns = ["employee_no", "month", "salary"]
    order_columns = ["employee_no", "month", "salary"]
    base_order = ("month", "desc")
    formatters_columns = {"month": lambda v: v.strftime("%Y-%m") if v else ""}


class ImportView(BaseView):
    """HR's upload screen: choose the kind, upload CSV or .xlsx, see every problem as a table. A file above
    ``JIXIAO_IMPORT_BACKGROUND_MB`` is imported by a job: the screen follows it, then shows its outcome."""

    route_base = "/import"
    default_view = "form"
    class_permission_name = p.IMPORT
    method_permission_name = {"form": p.READ, "upload": p.WRITE, "job": p.READ}

    def _page(self, status: int = 200, **values):
        context = {"kinds": kind_labels(), "kind": "work-orders", "update": False, "result": None,
                   "errors": None, "filename": "", "job": None, "error_count": None,
                   "columns": kind_columns(), "column_label": column_label,
                   "background_mb": background.threshold_mb(), **values}
        return self.render_template("source/import.html", **context), status

    @expose("/")
    @has_access
    def form(self):
        return self._page()

    @expose("/", methods=["POST"])
    @has_access
    def upload(self):
        kind = request.form.get("kind", "")
        update = request.form.get("update") == "1"
        upload = request.files.get("file")
        if kind not in KINDS:
            abort(400)
        result = errors = None
        if upload is None or not upload.filename:
            errors = [{"row": None, "column": None, "message": _("Choose a file to upload.")}]
        elif background.in_background(kind, background.upload_size(upload.stream, request.content_length)):
            path = background.save_upload(upload.stream, upload.filename)
            job = background.start_import(db.session, kind, path, update, current_caller(), upload.filename)
            return redirect(url_for(".job", job_id=job.id), code=303)
        else:
            try:
                result = import_file(db.session, kind, upload.stream, update=update)
            except ImportRejected as exc:
                errors = exc.errors
        return self._page(200 if errors is None else 422, kind=kind, update=update, result=result,
                          errors=errors, filename=upload.filename if upload else "")

    @expose("/job/<int:job_id>/")
    @has_access
    def job(self, job_id: int):
        """A background import: its progress while it runs, then its counts or its problems."""
        row = visible_job(db.session, current_caller(), job_id)
        if row is None or row.kind != JobKind.IMPORT:
            abort(404)
        params, outcome = row.params or {}, row.result or {}
        result = errors = count = None
        if row.state == JobState.DONE:
            result = {"inserted": outcome.get("inserted", 0), "updated": outcome.get("updated", 0)}
        elif row.state == JobState.FAILED and "errors" in outcome:
            errors, count = outcome["errors"], outcome.get("error_count")
        kind = params.get("kind") if params.get("kind") in KINDS else "work-orders"
        return self._page(kind=kind, update=bool(params.get("update")), result=result, errors=errors,
                          error_count=count, filename=params.get("name") or "",
                          job=job_dict(row, current_locale()))


class MetricsView(BaseView):
    """An employee's metrics for a period, and the orders behind each one."""

    route_base = "/metrics"
    default_view = "employee"
    class_permission_name = p.METRICS
    method_permission_name = {"employee": p.READ, "orders": p.READ}

    def _period_or_error(self):
        try:
            return parse_period(request.args), None
        except ValueError as exc:
            today = dt.date.today()
            return (today.replace(day=1), today), str(exc)

    @expose("/")
    @has_access
    def employee(self):
        people = db.session.scalars(
            select(Employee).where(scope_clause(Employee)).order_by(Employee.employee_no).limit(2000)).all()
        (start, end), problem = self._period_or_error()
        chosen = None
        metrics = station = None
        if request.args.get("employee"):
            chosen = get_or_404(Employee, request.args["employee"])
        elif len(people) == 1:
            chosen = people[0]
        if chosen is not None and problem is None:
            result = compute_metrics(db.session, start, end, employee_ids=[chosen.id])
            metrics = result.employees[chosen.id]
            station = result.stations.get(chosen.station_id)
        return self.render_template(
            "source/metrics.html", people=people, chosen=chosen, start=start, end=end, problem=problem,
            metrics=metrics, station=station, codes=CODES, names=metric_names())

    @expose("/<int:employee_id>/<code>/")
    @has_access
    def orders(self, employee_id: int, code: str):
        employee = get_or_404(Employee, employee_id)
        if code not in CODES:
            abort(404)
        (start, end), problem = self._period_or_error()
        if problem:
            abort(400)
        metrics = compute_metrics(db.session, start, end, employee_ids=[employee.id]).employees[employee.id]
        lines = [(line, *order_counts(line, code))
                 for line in metric_orders(db.session, employee.id, start, end, code, limit=5000)]
        return self.render_template(
            "source/orders.html", employee=employee, code=code, name=metric_names()[code], start=start,
            end=end, value=metrics[code], customer_types=CUSTOMER_TYPE_LABELS, lines=lines,
            counted=sum(1 for _line, counts, _why in lines if counts),
            left_out=left_out(code, int(metrics["orders"] or 0) - len(lines)))
